"""A realistic starting organisation for an Amazon seller, as a new Xero US org would hold it.

The chart has what a settlement needs (sales, shipping income, Amazon fee expenses, a reserve
asset, sales-tax liabilities), two BANK accounts (``Amazon Clearing`` that settlements run
through and the real ``Business Bank`` payouts land in), a receivable account that accepts
payments, and one ARCHIVED account (code 476, the code of Xero's own example of a removed
account) so clients meet the "has been removed" warning. The tracking category ``Marketplace``
has one option per marketplace the demo seller sells in.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ml_connector.plugins.xero.emulator.state import IdFactory, Tenant

# (code, name, type, tax type, status, extra fields)
CHART: tuple[tuple[str, str, str, str, str, dict[str, Any]], ...] = (
    ("090", "Business Bank", "BANK", "NONE", "ACTIVE", {"BankAccountNumber": "121000248-4410"}),
    ("091", "Amazon Clearing US", "BANK", "NONE", "ACTIVE", {"BankAccountNumber": "AMZN-CLEARING"}),
    # One clearing account per foreign marketplace, in its currency (a multi-currency org).
    ("092", "Amazon Clearing CA", "BANK", "NONE", "ACTIVE", {"CurrencyCode": "CAD"}),
    ("093", "Amazon Clearing UK", "BANK", "NONE", "ACTIVE", {"CurrencyCode": "GBP"}),
    ("094", "Amazon Clearing DE", "BANK", "NONE", "ACTIVE", {"CurrencyCode": "EUR"}),
    ("095", "Amazon Clearing JP", "BANK", "NONE", "ACTIVE", {"CurrencyCode": "JPY"}),
    ("096", "Amazon Transfers", "CURRENT", "NONE", "ACTIVE", {}),
    ("097", "Tax Withheld by Amazon", "CURRENT", "NONE", "ACTIVE", {}),
    ("120", "Accounts Receivable", "CURRENT", "NONE", "ACTIVE", {"SystemAccount": "DEBTORS"}),
    ("130", "Amazon Reserve", "CURRENT", "NONE", "ACTIVE", {}),
    (
        "150",
        "Amazon Payments Receivable",
        "CURRENT",
        "NONE",
        "ACTIVE",
        {"EnablePaymentsToAccount": True},
    ),
    ("140", "Inventory", "INVENTORY", "NONE", "ACTIVE", {}),
    ("200", "Sales", "REVENUE", "OUTPUT", "ACTIVE", {}),
    ("210", "Shipping Income", "REVENUE", "OUTPUT", "ACTIVE", {}),
    ("220", "Promotional Rebates", "REVENUE", "NONE", "ACTIVE", {}),
    ("230", "Amazon Refunds", "REVENUE", "OUTPUT", "ACTIVE", {}),
    ("231", "Amazon Reimbursements", "OTHERINCOME", "NONE", "ACTIVE", {}),
    ("232", "Amazon Adjustments", "OTHERINCOME", "NONE", "ACTIVE", {}),
    ("233", "Gift Wrap Income", "REVENUE", "OUTPUT", "ACTIVE", {}),
    ("234", "Amazon Liquidations", "OTHERINCOME", "NONE", "ACTIVE", {}),
    ("235", "Restocking Fees Income", "OTHERINCOME", "NONE", "ACTIVE", {}),
    ("310", "Cost of Goods Sold", "DIRECTCOSTS", "INPUT", "ACTIVE", {}),
    ("400", "Amazon Selling Fees", "EXPENSE", "NONE", "ACTIVE", {}),
    ("401", "Amazon FBA Fees", "EXPENSE", "NONE", "ACTIVE", {}),
    ("402", "Amazon Advertising", "EXPENSE", "NONE", "ACTIVE", {}),
    ("403", "Amazon Storage Fees", "EXPENSE", "NONE", "ACTIVE", {}),
    ("404", "Bank Fees", "EXPENSE", "NONE", "ACTIVE", {}),
    ("405", "Amazon Closing Fees", "EXPENSE", "NONE", "ACTIVE", {}),
    ("406", "Amazon FBA Inventory Fees", "EXPENSE", "NONE", "ACTIVE", {}),
    ("407", "Amazon Other Fees", "EXPENSE", "NONE", "ACTIVE", {}),
    ("408", "Amazon Refund Commission", "EXPENSE", "NONE", "ACTIVE", {}),
    ("409", "Amazon Shipping Labels", "EXPENSE", "NONE", "ACTIVE", {}),
    ("410", "Amazon Subscription", "EXPENSE", "NONE", "ACTIVE", {}),
    ("411", "Amazon Other", "EXPENSE", "NONE", "ACTIVE", {}),
    ("476", "Old Marketplace Fees", "EXPENSE", "NONE", "ARCHIVED", {}),
    ("800", "Accounts Payable", "CURRLIAB", "NONE", "ACTIVE", {"SystemAccount": "CREDITORS"}),
    ("820", "Sales Tax", "CURRLIAB", "NONE", "ACTIVE", {"SystemAccount": "GST"}),
    ("825", "Marketplace Facilitator Tax", "CURRLIAB", "NONE", "ACTIVE", {}),
    ("960", "Retained Earnings", "EQUITY", "NONE", "ACTIVE", {"SystemAccount": "RETAINEDEARNINGS"}),
)

# What the seller's bookkeeper mapped by hand where the suggestion from names is not sure: the
# demo org's answer to "map Amazon fee types to your chart of accounts".
BOOKKEEPER_MAPPING: dict[str, str] = {
    "Assets:Amazon:Transfers": "096",
    "Assets:Tax:WithheldByAmazon": "097",
    "Expenses:Amazon:Advertising": "402",
    "Expenses:Amazon:ClosingFees": "405",
    "Expenses:Amazon:FBAInventoryFees": "406",
    "Expenses:Amazon:Other": "411",
    "Expenses:Amazon:RefundCommission": "408",
    "Expenses:Amazon:ShippingLabels": "409",
    "Expenses:Amazon:Subscription": "410",
    "Income:Amazon:Adjustments": "232",
    "Income:Amazon:Liquidations": "234",
    "Income:Amazon:RestockingFees": "235",
}

_CLASS_OF_TYPE = {
    "BANK": "ASSET",
    "CURRENT": "ASSET",
    "INVENTORY": "ASSET",
    "FIXED": "ASSET",
    "REVENUE": "REVENUE",
    "SALES": "REVENUE",
    "OTHERINCOME": "REVENUE",
    "DIRECTCOSTS": "EXPENSE",
    "EXPENSE": "EXPENSE",
    "OVERHEADS": "EXPENSE",
    "CURRLIAB": "LIABILITY",
    "LIABILITY": "LIABILITY",
    "TERMLIAB": "LIABILITY",
    "EQUITY": "EQUITY",
}

# (tax type, name, rate in percent, applies to revenue, applies to expenses)
TAX_RATES: tuple[tuple[str, str, Decimal, bool, bool], ...] = (
    ("NONE", "No Tax", Decimal("0.0000"), True, True),
    ("OUTPUT", "Tax on Sales", Decimal("8.2500"), True, False),
    ("INPUT", "Tax on Purchases", Decimal("8.2500"), False, True),
    ("EXEMPTOUTPUT", "Tax Exempt Sales", Decimal("0.0000"), True, False),
)

MARKETPLACE_OPTIONS = ("US", "CA", "UK", "DE", "JP")

ITEMS: tuple[tuple[str, str, Decimal], ...] = (
    ("SKU-MUG-01", "Ceramic mug 12oz", Decimal("14.99")),
    ("SKU-TEE-BLK-M", "T-shirt black M", Decimal("19.50")),
    ("SKU-BOTTLE-750", "Steel bottle 750ml", Decimal("24.00")),
)

CONTACTS = (
    "Amazon.com Customers",
    "Amazon.ca Customers",
    "Amazon.co.uk Customers",
    "Amazon.de Customers",
    "Amazon.co.jp Customers",
    "Amazon Services LLC",
)


def seed_tenant(
    ids: IdFactory, *, name: str, created_at: float, base_currency: str = "USD"
) -> Tenant:
    """A new organisation named ``name`` with the seeded chart, rates, contacts and items."""
    tenant_id = ids.uuid()
    organisation = {
        "OrganisationID": ids.uuid(),
        "APIKey": "EMULATOR",
        "Name": name,
        "LegalName": f"{name} LLC",
        "PaysTax": True,
        "Version": "US",
        "OrganisationType": "COMPANY",
        "BaseCurrency": base_currency,
        "CountryCode": "US",
        "IsDemoCompany": False,
        "OrganisationStatus": "ACTIVE",
        "FinancialYearEndDay": 31,
        "FinancialYearEndMonth": 12,
        "SalesTaxBasis": "ACCRUAL",
        "SalesTaxPeriod": "QUARTERLY",
        "DefaultSalesTax": "Tax Exclusive",
        "DefaultPurchasesTax": "Tax Exclusive",
        "PeriodLockDate": None,
        "EndOfYearLockDate": None,
        "CreatedDateUTC": created_at,
        "ShortCode": "!" + tenant_id[:5],
        "Class": "PREMIUM",
        "Edition": "BUSINESS",
        "LineOfBusiness": "Online retail",
    }
    tenant = Tenant(tenant_id=tenant_id, name=name, organisation=organisation)
    for code, account_name, kind, tax_type, status, extra in CHART:
        account = {
            "AccountID": ids.uuid(),
            "Code": code,
            "Name": account_name,
            "Type": kind,
            "Status": status,
            "TaxType": tax_type,
            "Class": _CLASS_OF_TYPE[kind],
            "EnablePaymentsToAccount": False,
            "ShowInExpenseClaims": False,
            "HasAttachments": False,
            "UpdatedDateUTC": created_at,
            **extra,
        }
        if kind == "BANK":
            account.update(BankAccountType="BANK", CurrencyCode=base_currency)
        tenant.put("Account", account)
    for tax_type, tax_name, rate, revenue, expenses in TAX_RATES:
        tenant.put(
            "TaxRate",
            {
                "TaxType": tax_type,
                "Name": tax_name,
                "Status": "ACTIVE",
                "ReportTaxType": "OUTPUT" if revenue and not expenses else "INPUT",
                "CanApplyToAssets": expenses,
                "CanApplyToEquity": expenses,
                "CanApplyToExpenses": expenses,
                "CanApplyToLiabilities": expenses,
                "CanApplyToRevenue": revenue,
                "DisplayTaxRate": rate,
                "EffectiveRate": rate,
                "TaxComponents": [
                    {"Name": tax_name, "Rate": rate, "IsCompound": False, "IsNonRecoverable": False}
                ],
            },
        )
    category_id = ids.uuid()
    tenant.put(
        "TrackingCategory",
        {
            "TrackingCategoryID": category_id,
            "Name": "Marketplace",
            "Status": "ACTIVE",
            "Options": [
                {
                    "TrackingOptionID": ids.uuid(),
                    "Name": option,
                    "Status": "ACTIVE",
                    "TrackingCategoryID": category_id,
                }
                for option in MARKETPLACE_OPTIONS
            ],
        },
    )
    for contact_name in CONTACTS:
        tenant.put(
            "Contact",
            {
                "ContactID": ids.uuid(),
                "Name": contact_name,
                "ContactStatus": "ACTIVE",
                "IsCustomer": contact_name.endswith("Customers"),
                "IsSupplier": not contact_name.endswith("Customers"),
                "UpdatedDateUTC": created_at,
            },
        )
    for code, item_name, price in ITEMS:
        tenant.put(
            "Item",
            {
                "ItemID": ids.uuid(),
                "Code": code,
                "Name": item_name,
                "Description": item_name,
                "IsSold": True,
                "IsPurchased": False,
                "IsTrackedAsInventory": False,
                "SalesDetails": {"UnitPrice": price, "AccountCode": "200", "TaxType": "OUTPUT"},
                "UpdatedDateUTC": created_at,
            },
        )
    return tenant


def set_lock_dates(
    tenant: Tenant, *, period: dt.date | None = None, end_of_year: dt.date | None = None
) -> None:
    """Set (or clear, with None) the organisation's lock dates."""
    tenant.organisation["PeriodLockDate"] = period
    tenant.organisation["EndOfYearLockDate"] = end_of_year
