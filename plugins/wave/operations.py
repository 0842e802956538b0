"""Every GraphQL operation the Wave plugin sends, in one place.

Each string here is validated against the project's copy of Wave's schema
(``plugins/wave/schema/wave.graphql``) by ``tests/plugins/wave/test_wave_client.py``, and every
request recorded in the tests is validated again, variables included, by :mod:`.contract`. The
mutations select ``didSucceed`` and ``inputErrors`` because Wave answers a refused mutation with
HTTP 200 and ``didSucceed: false``; a client that does not ask for them cannot tell.

Reads page with ``page``/``pageSize`` and select ``pageInfo { currentPage totalPages }``.
"""

from __future__ import annotations

BUSINESS = """
query Business($businessId: ID!) {
  business(id: $businessId) { id name isClassicAccounting currency { code exponent } }
}"""

ACCOUNTS = """
query Accounts($businessId: ID!, $page: Int!, $pageSize: Int!) {
  business(id: $businessId) {
    accounts(page: $page, pageSize: $pageSize) {
      pageInfo { currentPage totalPages totalCount }
      edges { node { id name displayId isArchived currency { code } subtype { value } type { value } } }
    }
  }
}"""

CUSTOMERS = """
query Customers($businessId: ID!, $page: Int!, $pageSize: Int!) {
  business(id: $businessId) {
    customers(page: $page, pageSize: $pageSize, sort: [NAME_ASC]) {
      pageInfo { currentPage totalPages totalCount }
      edges { node { id name isArchived } }
    }
  }
}"""

PRODUCTS = """
query Products($businessId: ID!, $page: Int!, $pageSize: Int!) {
  business(id: $businessId) {
    products(page: $page, pageSize: $pageSize, sort: [NAME_ASC]) {
      pageInfo { currentPage totalPages totalCount }
      edges { node { id name isArchived incomeAccount { id } } }
    }
  }
}"""

INVOICES_BY_NUMBER = """
query InvoicesByNumber($businessId: ID!, $invoiceNumber: String!, $page: Int!, $pageSize: Int!) {
  business(id: $businessId) {
    invoices(invoiceNumber: $invoiceNumber, page: $page, pageSize: $pageSize) {
      pageInfo { currentPage totalPages totalCount }
      edges { node { id invoiceNumber status total { value } } }
    }
  }
}"""

INVOICE = """
query Invoice($businessId: ID!, $invoiceId: ID!) {
  business(id: $businessId) { invoice(id: $invoiceId) { id invoiceNumber status } }
}"""

CUSTOMER_CREATE = """
mutation CustomerCreate($input: CustomerCreateInput!) {
  customerCreate(input: $input) {
    didSucceed
    inputErrors { path message code }
    customer { id name }
  }
}"""

PRODUCT_CREATE = """
mutation ProductCreate($input: ProductCreateInput!) {
  productCreate(input: $input) {
    didSucceed
    inputErrors { path message code }
    product { id name }
  }
}"""

INVOICE_CREATE = """
mutation InvoiceCreate($input: InvoiceCreateInput!) {
  invoiceCreate(input: $input) {
    didSucceed
    inputErrors { path message code }
    invoice { id invoiceNumber status total { value currency { code } } }
  }
}"""

INVOICE_DELETE = """
mutation InvoiceDelete($input: InvoiceDeleteInput!) {
  invoiceDelete(input: $input) {
    didSucceed
    inputErrors { path message code }
  }
}"""

MONEY_TRANSACTION_CREATE = """
mutation MoneyTransactionCreate($input: MoneyTransactionCreateInput!) {
  moneyTransactionCreate(input: $input) {
    didSucceed
    inputErrors { path message code }
    transaction { id }
  }
}"""

ALL: dict[str, str] = {
    "Business": BUSINESS,
    "Accounts": ACCOUNTS,
    "Customers": CUSTOMERS,
    "Products": PRODUCTS,
    "InvoicesByNumber": INVOICES_BY_NUMBER,
    "Invoice": INVOICE,
    "CustomerCreate": CUSTOMER_CREATE,
    "ProductCreate": PRODUCT_CREATE,
    "InvoiceCreate": INVOICE_CREATE,
    "InvoiceDelete": INVOICE_DELETE,
    "MoneyTransactionCreate": MONEY_TRANSACTION_CREATE,
}
"""Operation name -> document: what the schema test walks."""
