"""The organisation's settings: its profile (with lock dates), chart of accounts, tax rates and
tracking categories. Read-only through this emulator: tests and the demo change them through
:class:`~ml_connector.plugins.xero.emulator.app.XeroEmulator` directly."""

from __future__ import annotations

from typing import Any

import httpx

from ml_connector.plugins.xero.emulator.batch import envelope
from ml_connector.plugins.xero.emulator.render import to_wire
from ml_connector.plugins.xero.emulator.resources.common import Call, get_one, list_objects
from ml_connector.plugins.xero.emulator.state import Obj
from ml_connector.plugins.xero.emulator.wire import json_response, ms_date


def _plain(obj: Obj, with_lines: bool) -> dict[str, Any]:
    return to_wire(obj)


def get_accounts(call: Call) -> httpx.Response:
    return list_objects(call, "Account", "Accounts", _plain, pageable=False)


def get_account(call: Call) -> httpx.Response:
    return get_one(call, call.tenant.get("Account", call.path_value or ""), "Accounts", _plain)


def get_tax_rates(call: Call) -> httpx.Response:
    return list_objects(call, "TaxRate", "TaxRates", _plain, pageable=False)


def get_tracking_categories(call: Call) -> httpx.Response:
    include_archived = call.flag("includeArchived", False)
    return list_objects(
        call,
        "TrackingCategory",
        "TrackingCategories",
        _plain,
        pageable=False,
        keep=lambda c: include_archived or c["Status"] == "ACTIVE",
    )


def get_organisation(call: Call) -> httpx.Response:
    organisation = to_wire(call.tenant.organisation)
    # Lock dates travel as /Date()/ like every other date; unset ones are simply absent.
    for key in ("PeriodLockDate", "EndOfYearLockDate"):
        if call.tenant.organisation.get(key) is not None:
            organisation[key] = ms_date(call.tenant.organisation[key])
    return json_response(200, envelope(call.ids, call.now, "Organisations", [organisation]))
