"""Wave's constant data as the emulator serves it: currencies, countries, account types.

Wave serves all 161 currencies and 249 countries of its enums; the emulator serves the ones an
Amazon seller meets (every currency and country of an Amazon marketplace, plus a few neighbours),
which is enough for the ``currencies``/``countries`` queries, address resolution and invoicing.
An enum value outside these tables is answered as "not found" rather than invented.

Account subtypes follow the schema's ``AccountSubtypeValue`` enum (snapshot 2024-07-28); the type
of each subtype and the contra subtypes come from the schema's descriptions (``BalanceType``:
``DISCOUNTS`` and ``DEPRECIATION_AND_AMORTIZATION`` are contra accounts). The display names are
the emulator's own wording; clients should key on ``value``, never on ``name``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CurrencyInfo:
    code: str
    symbol: str
    name: str
    plural: str
    exponent: int


CURRENCIES: dict[str, CurrencyInfo] = {
    c.code: c
    for c in (
        CurrencyInfo("USD", "$", "United States dollar", "United States dollars", 2),
        CurrencyInfo("CAD", "$", "Canadian dollar", "Canadian dollars", 2),
        CurrencyInfo("MXN", "$", "Mexican peso", "Mexican pesos", 2),
        CurrencyInfo("BRL", "R$", "Brazilian real", "Brazilian reais", 2),
        CurrencyInfo("GBP", "£", "Pound sterling", "Pounds sterling", 2),
        CurrencyInfo("EUR", "€", "Euro", "Euros", 2),
        CurrencyInfo("SEK", "kr", "Swedish krona", "Swedish kronor", 2),
        CurrencyInfo("PLN", "zł", "Polish złoty", "Polish złotys", 2),
        CurrencyInfo("TRY", "₺", "Turkish lira", "Turkish liras", 2),
        CurrencyInfo("AED", "د.إ", "UAE dirham", "UAE dirhams", 2),
        CurrencyInfo("SAR", "﷼", "Saudi riyal", "Saudi riyals", 2),
        CurrencyInfo("EGP", "£", "Egyptian pound", "Egyptian pounds", 2),
        CurrencyInfo("INR", "₹", "Indian rupee", "Indian rupees", 2),
        CurrencyInfo("JPY", "¥", "Japanese yen", "Japanese yen", 0),
        CurrencyInfo("AUD", "$", "Australian dollar", "Australian dollars", 2),
        CurrencyInfo("SGD", "$", "Singapore dollar", "Singapore dollars", 2),
        CurrencyInfo("NZD", "$", "New Zealand dollar", "New Zealand dollars", 2),
        CurrencyInfo("CHF", "CHF", "Swiss franc", "Swiss francs", 2),
        CurrencyInfo("ZAR", "R", "South African rand", "South African rand", 2),
        CurrencyInfo("KWD", "د.ك", "Kuwaiti dinar", "Kuwaiti dinars", 3),
    )
}


@dataclass(frozen=True)
class ProvinceInfo:
    code: str
    name: str


@dataclass(frozen=True)
class CountryInfo:
    code: str
    name: str
    name_with_article: str
    currency: str
    provinces: tuple[ProvinceInfo, ...] = ()


def _provinces(country: str, pairs: str) -> tuple[ProvinceInfo, ...]:
    """Provinces from ``"XX Name|YY Other name|..."`` with ISO 3166-2 codes ``country-XX``."""
    result = []
    for pair in pairs.split("|"):
        short, _, name = pair.strip().partition(" ")
        result.append(ProvinceInfo(f"{country}-{short}", name))
    return tuple(result)


_US_STATES = _provinces(
    "US",
    "AL Alabama|AK Alaska|AZ Arizona|AR Arkansas|CA California|CO Colorado|CT Connecticut|"
    "DE Delaware|DC District of Columbia|FL Florida|GA Georgia|HI Hawaii|ID Idaho|IL Illinois|"
    "IN Indiana|IA Iowa|KS Kansas|KY Kentucky|LA Louisiana|ME Maine|MD Maryland|"
    "MA Massachusetts|MI Michigan|MN Minnesota|MS Mississippi|MO Missouri|MT Montana|"
    "NE Nebraska|NV Nevada|NH New Hampshire|NJ New Jersey|NM New Mexico|NY New York|"
    "NC North Carolina|ND North Dakota|OH Ohio|OK Oklahoma|OR Oregon|PA Pennsylvania|"
    "RI Rhode Island|SC South Carolina|SD South Dakota|TN Tennessee|TX Texas|UT Utah|"
    "VT Vermont|VA Virginia|WA Washington|WV West Virginia|WI Wisconsin|WY Wyoming",
)
_CA_PROVINCES = _provinces(
    "CA",
    "AB Alberta|BC British Columbia|MB Manitoba|NB New Brunswick|NL Newfoundland and Labrador|"
    "NT Northwest Territories|NS Nova Scotia|NU Nunavut|ON Ontario|PE Prince Edward Island|"
    "QC Quebec|SK Saskatchewan|YT Yukon",
)

COUNTRIES: dict[str, CountryInfo] = {
    c.code: c
    for c in (
        CountryInfo("US", "United States", "the United States", "USD", _US_STATES),
        CountryInfo("CA", "Canada", "Canada", "CAD", _CA_PROVINCES),
        CountryInfo("MX", "Mexico", "Mexico", "MXN"),
        CountryInfo("BR", "Brazil", "Brazil", "BRL"),
        CountryInfo("GB", "United Kingdom", "the United Kingdom", "GBP"),
        CountryInfo("IE", "Ireland", "Ireland", "EUR"),
        CountryInfo("DE", "Germany", "Germany", "EUR"),
        CountryInfo("FR", "France", "France", "EUR"),
        CountryInfo("IT", "Italy", "Italy", "EUR"),
        CountryInfo("ES", "Spain", "Spain", "EUR"),
        CountryInfo("NL", "Netherlands", "the Netherlands", "EUR"),
        CountryInfo("BE", "Belgium", "Belgium", "EUR"),
        CountryInfo("SE", "Sweden", "Sweden", "SEK"),
        CountryInfo("PL", "Poland", "Poland", "PLN"),
        CountryInfo("TR", "Turkey", "Turkey", "TRY"),
        CountryInfo("AE", "United Arab Emirates", "the United Arab Emirates", "AED"),
        CountryInfo("SA", "Saudi Arabia", "Saudi Arabia", "SAR"),
        CountryInfo("EG", "Egypt", "Egypt", "EGP"),
        CountryInfo("IN", "India", "India", "INR"),
        CountryInfo("JP", "Japan", "Japan", "JPY"),
        CountryInfo("AU", "Australia", "Australia", "AUD"),
        CountryInfo("SG", "Singapore", "Singapore", "SGD"),
        CountryInfo("NZ", "New Zealand", "New Zealand", "NZD"),
        CountryInfo("CH", "Switzerland", "Switzerland", "CHF"),
        CountryInfo("ZA", "South Africa", "South Africa", "ZAR"),
        CountryInfo("KW", "Kuwait", "Kuwait", "KWD"),
    )
}

PROVINCES: dict[str, ProvinceInfo] = {
    p.code: p for country in COUNTRIES.values() for p in country.provinces
}


@dataclass(frozen=True)
class AccountTypeInfo:
    value: str
    name: str
    normal_balance: str  # "DEBIT" or "CREDIT"


ACCOUNT_TYPES: dict[str, AccountTypeInfo] = {
    t.value: t
    for t in (
        AccountTypeInfo("ASSET", "Assets", "DEBIT"),
        AccountTypeInfo("LIABILITY", "Liabilities & Credit Cards", "CREDIT"),
        AccountTypeInfo("EQUITY", "Equity", "CREDIT"),
        AccountTypeInfo("INCOME", "Income", "CREDIT"),
        AccountTypeInfo("EXPENSE", "Expenses", "DEBIT"),
    )
}


@dataclass(frozen=True)
class AccountSubtypeInfo:
    value: str
    name: str
    type: str
    archivable: bool = True
    system_created: bool = False


def _subtypes(account_type: str, entries: str) -> list[AccountSubtypeInfo]:
    """Subtypes from ``"VALUE=Name|..."``; a trailing ``*`` on the value marks system-created."""
    result = []
    for entry in entries.split("|"):
        value, _, name = entry.strip().partition("=")
        system = value.endswith("*")
        value = value.rstrip("*")
        result.append(
            AccountSubtypeInfo(
                value, name, account_type, archivable=not system, system_created=system
            )
        )
    return result


ACCOUNT_SUBTYPES: dict[str, AccountSubtypeInfo] = {
    s.value: s
    for s in (
        *_subtypes(
            "ASSET",
            "CASH_AND_BANK=Cash and Bank|MONEY_IN_TRANSIT=Money in Transit|"
            "RECEIVABLE=Expected Payments from Customers|RECEIVABLE_INVOICES*=Accounts Receivable|"
            "RECEIVABLE_OTHER=Other Receivables|INVENTORY=Inventory|"
            "PROPERTY_PLANT_EQUIPMENT=Property, Plant, Equipment|"
            "DEPRECIATION_AND_AMORTIZATION=Depreciation and Amortization|"
            "VENDOR_PREPAYMENTS_AND_CREDITS=Vendor Prepayments and Vendor Credits|"
            "OTHER_CURRENT_ASSETS=Other Short-Term Asset|OTHER_LONG_TERM_ASSETS=Other Long-Term Asset|"
            "TRANSFERS*=Transfer Clearing|UNKNOWN_ACCOUNT*=Unknown Account",
        ),
        *_subtypes(
            "LIABILITY",
            "CREDIT_CARD=Credit Card|LOANS=Loan and Line of Credit|SALES_TAX=Sales Taxes|"
            "PAYABLE=Expected Payments to Vendors|PAYABLE_BILLS*=Accounts Payable|"
            "PAYABLE_OTHER=Other Payables|DUE_FOR_PAYROLL=Due For Payroll|"
            "DUE_TO_YOU_AND_OTHER_OWNERS=Due to You and Other Business Owners|"
            "CUSTOMER_PREPAYMENTS_AND_CREDITS=Customer Prepayments and Customer Credits|"
            "SYSTEM_CUSTOMER_CREDITS*=Customer Credits|"
            "OTHER_CURRENT_LIABILITY=Other Short-Term Liability|"
            "OTHER_LONG_TERM_LIABILITY=Other Long-Term Liability",
        ),
        *_subtypes(
            "EQUITY",
            "NON_RETAINED_EARNINGS=Business Owner Contribution and Drawing|"
            "RETAINED_EARNINGS*=Retained Earnings: Profit",
        ),
        *_subtypes(
            "INCOME",
            "INCOME=Income|DISCOUNTS=Discount|OTHER_INCOME=Other Income|"
            "UNCATEGORIZED_INCOME*=Uncategorized Income|"
            "GAIN_ON_FOREIGN_EXCHANGE*=Gain On Foreign Exchange",
        ),
        *_subtypes(
            "EXPENSE",
            "EXPENSE=Operating Expense|COST_OF_GOODS_SOLD=Cost of Goods Sold|"
            "PAYMENT_PROCESSING_FEES=Payment Processing Fee|PAYROLL_EXPENSES=Payroll Expense|"
            "UNCATEGORIZED_EXPENSE*=Uncategorized Expense|"
            "LOSS_ON_FOREIGN_EXCHANGE*=Loss On Foreign Exchange",
        ),
    )
}

CONTRA_SUBTYPES = frozenset({"DISCOUNTS", "DEPRECIATION_AND_AMORTIZATION"})
"""Subtypes whose INCREASE/DECREASE run against their type's normal balance (``BalanceType``)."""

ANCHOR_SUBTYPES = frozenset({"CASH_AND_BANK", "CREDIT_CARD", "LOANS"})
"""Accounts a money transaction may be anchored on (Wave's "Create Money Transaction" notes)."""

PRODUCT_INCOME_SUBTYPES = frozenset({"INCOME", "DISCOUNTS", "OTHER_INCOME"})
PRODUCT_EXPENSE_SUBTYPES = frozenset(
    {"EXPENSE", "COST_OF_GOODS_SOLD", "PAYMENT_PROCESSING_FEES", "PAYROLL_EXPENSES"}
)
"""Subtypes ``ProductCreateInput`` accepts for income/expense accounts (schema descriptions)."""
