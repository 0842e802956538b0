"""The root resolvers: every ``Query`` and ``Mutation`` field of the schema, and who serves it.

Everything below the root is answered by the dict views of ``views.py``. The few root fields the
emulator does not act out answer a plain top-level error naming the field (never a silent null):
``moneyDepositTransactionCreate``, which Wave itself marks "Not available for public use".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from graphql import GraphQLResolveInfo

from ml_connector.plugins.wave.emulator import catalog_mutations as catalog
from ml_connector.plugins.wave.emulator import invoice_mutations as invoices
from ml_connector.plugins.wave.emulator import listing, views
from ml_connector.plugins.wave.emulator.context import RequestContext
from ml_connector.plugins.wave.emulator.errors import NotFoundFailure, WaveGraphQLFailure
from ml_connector.plugins.wave.emulator.money_mutations import (
    money_transaction_create,
    money_transactions_create,
)
from ml_connector.plugins.wave.emulator.mutation_support import mutation
from ml_connector.plugins.wave.emulator.reference_data import (
    ACCOUNT_SUBTYPES,
    ACCOUNT_TYPES,
    COUNTRIES,
    CURRENCIES,
)

Resolver = Callable[..., Any]


class ApplicationInfo:
    """The registered OAuth application, as ``oAuthApplication`` shows it (no secret)."""

    def __init__(self, application_id: str, name: str, client_id: str) -> None:
        self.view: dict[str, Any] = {
            "id": application_id,
            "name": name,
            "description": "Loopback application of the Wave emulator",
            "clientId": client_id,
            "logoUrl": None,
            "extraData": None,
        }


def _ctx(info: GraphQLResolveInfo) -> RequestContext:
    context: RequestContext = info.context
    return context


def query_resolvers(application: ApplicationInfo) -> dict[str, Resolver]:
    def businesses(
        _root: object,
        info: GraphQLResolveInfo,
        page: int,
        pageSize: int,  # noqa: N803 - GraphQL argument name
        isArchived: bool | None = None,  # noqa: N803
    ) -> dict[str, Any]:
        ctx = _ctx(info)
        rows = [
            b
            for b in ctx.state.businesses.values()
            if isArchived is None or b.is_archived == isArchived
        ]
        return listing.connection(rows, page, pageSize, lambda b: views.business_view(ctx, b))

    def business(_root: object, info: GraphQLResolveInfo, id: str | None = None) -> dict[str, Any]:  # noqa: A002
        ctx = _ctx(info)
        if id is None:
            # "omitted => the token's single/default business": the first non-personal one.
            chosen = next(b for b in ctx.state.businesses.values() if not b.is_personal)
        else:
            found = ctx.state.business(id)
            if found is None:
                raise NotFoundFailure("Business", id)
            chosen = found
        return views.business_view(ctx, chosen)

    def o_auth_application(_root: object, info: GraphQLResolveInfo) -> dict[str, Any]:
        now = _ctx(info).now()
        return {**application.view, "createdAt": now, "modifiedAt": now}

    return {
        "_": lambda _root, _info: None,
        "oAuthApplication": o_auth_application,
        "currencies": lambda _root, _info: [views.currency_view(c) for c in CURRENCIES],
        "currency": lambda _root, _info, code: views.currency_view(code),
        "countries": lambda _root, _info: [views.country_view(c) for c in COUNTRIES],
        "country": lambda _root, _info, code: views.country_view(code),
        "province": lambda _root, _info, code: views.province_view(code),
        "businesses": businesses,
        "business": business,
        "user": lambda _root, info: views.user_view(_ctx(info).state.user),
        "accountTypes": lambda _root, _info: [views.account_type_view(t) for t in ACCOUNT_TYPES],
        "accountSubtypes": lambda _root, _info: [
            views.account_subtype_view(s) for s in ACCOUNT_SUBTYPES
        ],
    }


def mutation_resolvers(*, invoice_number_unique: bool) -> dict[str, Resolver]:
    invoice = invoices.InvoiceMutations(invoice_number_unique=invoice_number_unique)

    def unavailable(_root: object, _info: GraphQLResolveInfo, **_args: object) -> None:
        # Wave's own deprecation reason for this mutation.
        raise WaveGraphQLFailure("Not available for public use at this time.")

    return {
        "_": lambda _root, _info: None,
        "customerCreate": mutation("customer", catalog.customer_create),
        "customerPatch": mutation("customer", catalog.customer_patch),
        "customerDelete": mutation(None, catalog.customer_delete),
        "accountCreate": mutation("account", catalog.account_create),
        "accountArchive": mutation(None, catalog.account_archive),
        "accountPatch": mutation("account", catalog.account_patch),
        "salesTaxCreate": mutation("salesTax", catalog.sales_tax_create),
        "salesTaxPatch": mutation("salesTax", catalog.sales_tax_patch),
        "salesTaxArchive": mutation("salesTax", catalog.sales_tax_archive),
        "productCreate": mutation("product", catalog.product_create),
        "productPatch": mutation("product", catalog.product_patch),
        "productArchive": mutation("product", catalog.product_archive),
        "invoiceCreate": mutation("invoice", invoice.create),
        "invoicePatch": mutation("invoice", invoice.patch),
        "invoiceClone": mutation("invoice", invoice.clone),
        "invoiceDelete": mutation(None, invoices.invoice_delete),
        "invoiceSend": mutation("invoice", invoices.invoice_send),
        "invoiceApprove": mutation("invoice", invoices.invoice_approve),
        "invoiceMarkSent": mutation("invoice", invoices.invoice_mark_sent),
        "invoicePaymentCreateManual": mutation(
            "invoicePayment", invoices.invoice_payment_create_manual
        ),
        "moneyTransactionCreate": mutation("transaction", money_transaction_create),
        "moneyTransactionsCreate": mutation("transactions", money_transactions_create),
        "moneyDepositTransactionCreate": unavailable,
    }


def all_resolvers(
    application: ApplicationInfo, *, invoice_number_unique: bool
) -> Mapping[str, Mapping[str, Resolver]]:
    return {
        "Query": query_resolvers(application),
        "Mutation": mutation_resolvers(invoice_number_unique=invoice_number_unique),
    }
