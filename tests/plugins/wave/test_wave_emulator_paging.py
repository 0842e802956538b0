"""Paging, sorting and filtering of Wave's connection fields."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from wave_emulator_harness import WaveSession

CUSTOMERS = """
query($b: ID!, $page: Int!, $size: Int!, $sort: [CustomerSort!]!, $email: String) {
  business(id: $b) {
    customers(page: $page, pageSize: $size, sort: $sort, email: $email) {
      pageInfo { currentPage totalPages totalCount }
      edges { node { name email } }
    }
  }
}"""


def customers(
    session: WaveSession, page: int, size: int, sort: list[str], email: str | None = None
) -> Any:
    variables = {"b": session.business_id, "page": page, "size": size, "sort": sort, "email": email}
    return session.data(CUSTOMERS, variables)["business"]["customers"]


def test_pages_cover_every_customer_once() -> None:
    session = WaveSession()
    names = ["Delta", "alpha", "Charlie", "bravo", "Echo", "foxtrot", "Golf"]
    for name in names:
        session.create_customer(name, email=f"{name.lower()}@example.com")
    pages = [customers(session, page, 3, ["NAME_ASC"]) for page in (1, 2, 3, 4)]
    assert [p["pageInfo"] for p in pages] == [
        {"currentPage": n, "totalPages": 3, "totalCount": 7} for n in (1, 2, 3, 4)
    ]
    seen = [e["node"]["name"] for p in pages for e in p["edges"]]
    assert seen == sorted(names, key=str.lower)
    assert pages[3]["edges"] == []


def test_default_sort_is_newest_first_and_email_filter_is_exact() -> None:
    session = WaveSession()
    for name in ("First", "Second", "Third"):
        session.create_customer(name, email=f"{name.lower()}@example.com")
    default = session.data(
        "query($b: ID!){ business(id:$b){ customers { edges { node { name } } } } }",
        {"b": session.business_id},
    )["business"]["customers"]["edges"]
    assert [e["node"]["name"] for e in default] == ["Third", "Second", "First"]
    found = customers(session, 1, 10, ["CREATED_AT_ASC"], email="second@example.com")
    assert [e["node"]["name"] for e in found["edges"]] == ["Second"]
    assert customers(session, 1, 10, ["CREATED_AT_ASC"], email="SECOND@example.com")["edges"] == []


def test_empty_list_has_one_page() -> None:
    session = WaveSession()
    assert customers(session, 1, 5, ["NAME_ASC"])["pageInfo"] == {
        "currentPage": 1,
        "totalPages": 1,
        "totalCount": 0,
    }


def test_account_filters_and_archived() -> None:
    session = WaveSession()
    query = """
    query($b: ID!, $archived: Boolean, $excluded: [AccountSubtypeValue!]) {
      business(id: $b) {
        accounts(pageSize: 100, types: [ASSET], excludedSubtypes: $excluded, isArchived: $archived) {
          edges { node { name subtype { value } isArchived } }
        }
      }
    }"""

    def names(**variables: Any) -> list[str]:
        edges = session.data(query, {"b": session.business_id, **variables})["business"][
            "accounts"
        ]["edges"]
        return [e["node"]["name"] for e in edges]

    assets = names()
    assert "Amazon Clearing" in assets and "Amazon Reserve" in assets
    assert "Amazon Clearing" not in names(excluded=["CASH_AND_BANK"])
    income_query = query.replace("[ASSET]", "[INCOME]")
    all_income = session.data(income_query, {"b": session.business_id, "archived": None})
    archived = [
        e["node"] for e in all_income["business"]["accounts"]["edges"] if e["node"]["isArchived"]
    ]
    assert [a["name"] for a in archived] == ["Old Marketplace Sales"]


def test_products_page_and_sort() -> None:
    session = WaveSession()
    for name in ("b", "a", "c"):
        session.create_product(name)
    listed = session.data(
        "query($b: ID!){ business(id:$b){ products(page: 2, pageSize: 2, sort: [NAME_DESC]) "
        "{ pageInfo { totalPages totalCount } edges { node { name isSold } } } } }",
        {"b": session.business_id},
    )["business"]["products"]
    assert listed["pageInfo"] == {"totalPages": 2, "totalCount": 3}
    assert [e["node"] for e in listed["edges"]] == [{"name": "a", "isSold": True}]


@settings(max_examples=15, deadline=None)
@given(count=st.integers(min_value=0, max_value=12), size=st.integers(min_value=1, max_value=5))
def test_paging_partitions_any_list(count: int, size: int) -> None:
    session = WaveSession()
    for n in range(count):
        session.create_customer(f"c{n:02d}")
    first = customers(session, 1, size, ["NAME_ASC"])
    total_pages = first["pageInfo"]["totalPages"]
    assert total_pages == max(1, -(-count // size))
    seen = [
        e["node"]["name"]
        for page in range(1, total_pages + 1)
        for e in customers(session, page, size, ["NAME_ASC"])["edges"]
    ]
    assert seen == [f"c{n:02d}" for n in range(count)]
