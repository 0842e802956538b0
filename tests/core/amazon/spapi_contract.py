"""Test helpers that hold every request to Amazon's own contract, read from the models.

- :func:`check_request` finds the operation an ``httpx.Request`` calls (method + path template in
  ``shared/reference/amazon/models/*.json``) and checks it: path parameters present, required
  query parameters present, no unknown ones, types, enums, minimum/maximum, minItems/maxItems, the
  JSON body against the model's schema, the headers the developer guide asks for, and the
  cross-parameter rules the models state in prose (quoted in FACTS.md).
- :class:`ContractTransport` wraps any transport so every request in a test passes the check;
  it also checks the LWA token exchange and that document downloads carry no access token.
- :class:`FakeLwa` answers the LWA token exchange (a plain transport, so VCR leaves it alone).
- :class:`SandboxMatching` is a pytest-recording plugin registering the ``sandbox`` request
  matcher that replays the models' ``x-amzn-api-sandbox`` cases the way Amazon's sandbox matches
  them: the parameters a case names must be present with those values; others are free.

Money never goes through a float here either: models are read with ``parse_float=Decimal``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import httpx
import jsonschema

MODELS_DIR = Path("/work/shared/reference/amazon/models")
LWA_URL = "https://api.amazon.com/auth/o2/token"
SANDBOX_HOST = "sellingpartnerapi-na.amazon.com"
USER_AGENT_SHAPE = re.compile(r"^[^/\s][^/]*/\S+ \(Language=[^;)]+(;[^)]*)?\)$")
TWO_MINUTES = dt.timedelta(minutes=2)
FINANCES_MAX_WINDOW = dt.timedelta(days=180)


class ContractViolation(AssertionError):
    """A request that Amazon's contract does not allow; lists every problem found."""


@dataclass(frozen=True)
class ModelOperation:
    model: str  # file name
    method: str
    template: str
    operation_id: str
    parameters: tuple[dict[str, Any], ...]
    definitions: dict[str, Any] = field(repr=False, hash=False, compare=False)
    spec: dict[str, Any] = field(repr=False, hash=False, compare=False)

    @property
    def pattern(self) -> re.Pattern[str]:
        regex = re.sub(r"\\\{([^}]+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.template))
        return re.compile(f"^{regex}$")

    def parameters_in(self, location: str) -> dict[str, dict[str, Any]]:
        return {p["name"]: p for p in self.parameters if p["in"] == location}


_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options"})


def _load_models() -> list[ModelOperation]:
    found: list[ModelOperation] = []
    for path in sorted(MODELS_DIR.glob("*/*.json")):
        spec = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
        definitions = spec.get("definitions", {})
        shared = spec.get("parameters", {})
        for template, item in spec["paths"].items():
            common = item.get("parameters", [])
            for method, op in item.items():
                if method not in _HTTP_METHODS:
                    continue
                params = []
                for p in [*common, *op.get("parameters", [])]:
                    if "$ref" in p:
                        p = shared[p["$ref"].rsplit("/", 1)[-1]]
                    params.append(p)
                found.append(
                    ModelOperation(
                        path.name,
                        method.upper(),
                        template,
                        op["operationId"],
                        tuple(params),
                        definitions,
                        op,
                    )
                )
    return found


MODEL_OPERATIONS: list[ModelOperation] = _load_models()


def find_operation(method: str, path: str) -> tuple[ModelOperation, dict[str, str]] | None:
    """The operation serving ``method path`` and its path parameters, most literal template first."""
    matches = []
    for op in MODEL_OPERATIONS:
        if op.method != method.upper():
            continue
        hit = op.pattern.match(path)
        if hit:
            values = {k: unquote(v) for k, v in hit.groupdict().items()}
            matches.append((op.template.count("{"), op, values))
    if not matches:
        return None
    matches.sort(key=lambda m: m[0])
    return matches[0][1], matches[0][2]


def parse_instant(text: str) -> dt.datetime | None:
    """An ISO 8601 date or date-time as an aware UTC datetime (a bare date is midnight UTC)."""
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        return None
    return value.astimezone(dt.UTC)


def _check_value(name: str, spec: dict[str, Any], raw: str, problems: list[str]) -> None:
    kind = spec.get("type", "string")
    if kind == "array":
        items = raw.split(",") if spec.get("collectionFormat", "csv") == "csv" else [raw]
        if "minItems" in spec and len(items) < spec["minItems"]:
            problems.append(f"{name}: {len(items)} items, minimum {spec['minItems']}")
        if "maxItems" in spec and len(items) > spec["maxItems"]:
            problems.append(f"{name}: {len(items)} items, maximum {spec['maxItems']}")
        for item in items:
            _check_value(name, spec.get("items", {"type": "string"}), item, problems)
        return
    if raw == "":
        problems.append(f"{name}: empty value")
        return
    if kind == "integer":
        if not re.fullmatch(r"-?\d+", raw):
            problems.append(f"{name}: {raw!r} is not an integer")
            return
        number = int(raw)
        if "minimum" in spec and number < spec["minimum"]:
            problems.append(f"{name}: {number} below minimum {spec['minimum']}")
        if "maximum" in spec and number > spec["maximum"]:
            problems.append(f"{name}: {number} above maximum {spec['maximum']}")
    elif kind == "boolean" and raw not in ("true", "false"):
        problems.append(f"{name}: {raw!r} is not true/false")
    elif kind == "string" and spec.get("format") == "date-time" and parse_instant(raw) is None:
        problems.append(f"{name}: {raw!r} is not an ISO 8601 date-time with a zone")
    if "enum" in spec and raw not in spec["enum"]:
        problems.append(f"{name}: {raw!r} not in {spec['enum']}")


def _schema_validator(op: ModelOperation, schema: dict[str, Any]) -> jsonschema.Draft4Validator:
    # Swagger 2.0 schemas are JSON Schema draft 4 with refs into "#/definitions/".
    return jsonschema.Draft4Validator({**schema, "definitions": op.definitions})


def _instant(query: dict[str, str], name: str) -> dt.datetime | None:
    return parse_instant(query[name]) if name in query else None


def _documented_rules(
    op: ModelOperation, query: dict[str, str], now: dt.datetime | None, problems: list[str]
) -> None:
    """Rules the models state in descriptions rather than in schema (see FACTS.md §6-8)."""
    name = op.operation_id
    befores: list[str] = []
    if name == "searchOrders":
        if ("createdAfter" in query) == ("lastUpdatedAfter" in query):
            problems.append("exactly one of createdAfter and lastUpdatedAfter is required")
        if "createdAfter" in query and {"lastUpdatedAfter", "lastUpdatedBefore"} & query.keys():
            problems.append("createdAfter excludes lastUpdatedAfter/lastUpdatedBefore")
        if "lastUpdatedAfter" in query and {"createdAfter", "createdBefore"} & query.keys():
            problems.append("lastUpdatedAfter excludes createdAfter/createdBefore")
        for after, before in (
            ("createdAfter", "createdBefore"),
            ("lastUpdatedAfter", "lastUpdatedBefore"),
        ):
            a, b = _instant(query, after), _instant(query, before)
            if a and b and b < a:
                problems.append(f"{before} must be equal to or after {after}")
        befores = ["createdBefore", "lastUpdatedBefore"]
    elif name == "getReports":
        if "reportTypes" not in query and "nextToken" not in query:
            problems.append("either reportTypes or nextToken is required")
        if "nextToken" in query and len(query) > 1:
            problems.append("nextToken must be the only parameter, got " + ", ".join(sorted(query)))
    elif name in (
        "listFinancialEvents",
        "listFinancialEventsByGroupId",
        "listFinancialEventGroups",
    ):
        after_name, before_name = (
            ("FinancialEventGroupStartedAfter", "FinancialEventGroupStartedBefore")
            if name == "listFinancialEventGroups"
            else ("PostedAfter", "PostedBefore")
        )
        if before_name in query and after_name not in query:
            problems.append(f"{before_name} needs {after_name}")
        a, b = _instant(query, after_name), _instant(query, before_name)
        if a and b:
            if b <= a:
                problems.append(f"{before_name} must be later than {after_name}")
            elif b - a > FINANCES_MAX_WINDOW:
                problems.append(f"{after_name}..{before_name} wider than 180 days returns nothing")
        befores = [before_name, after_name]
    elif name == "patchListingsItem" and (
        "identifiers" in query.get("includedData", "").split(",")
        and query.get("mode") != "VALIDATION_PREVIEW"
    ):
        problems.append("includedData=identifiers only with mode=VALIDATION_PREVIEW")
    if now is not None:
        for bound in befores:
            moment = _instant(query, bound)
            if moment is not None and moment > now - TWO_MINUTES:
                problems.append(f"{bound} must be at least two minutes before the request")


def check_request(request: httpx.Request, *, now: dt.datetime | None = None) -> ModelOperation:
    """Check ``request`` against the model operation it calls; returns that operation.

    ``now`` (the time of the request) enables the "two minutes before the request" rules.
    Raises :class:`ContractViolation` listing every problem.
    """
    split = urlsplit(str(request.url))
    found = find_operation(request.method, split.path)
    if found is None:
        raise ContractViolation(f"no model operation serves {request.method} {split.path}")
    op, path_values = found
    problems: list[str] = []

    for name in op.parameters_in("path"):
        if not path_values.get(name):
            problems.append(f"path parameter {name} is empty")

    pairs = parse_qsl(split.query, keep_blank_values=True)
    names = [name for name, _ in pairs]
    for duplicate in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"query parameter {duplicate} repeated (arrays are comma-separated)")
    query = dict(pairs)
    declared = op.parameters_in("query")
    for name in query:
        if name not in declared:
            problems.append(f"unknown query parameter {name}")
    for name, spec in declared.items():
        if name in query:
            _check_value(name, spec, query[name], problems)
        elif spec.get("required"):
            problems.append(f"required query parameter {name} missing")

    for name, spec in op.parameters_in("header").items():
        if spec.get("required") and not request.headers.get(name):
            problems.append(f"required header {name} missing")
    if not request.headers.get("x-amz-access-token"):
        problems.append("x-amz-access-token header missing")
    agent = request.headers.get("user-agent", "")
    if not USER_AGENT_SHAPE.match(agent):
        problems.append(f"user-agent {agent!r} is not 'App/Version (Language=...)'")

    body_params = op.parameters_in("body")
    content = request.content
    if body_params:
        (body_spec,) = body_params.values()
        if not content:
            if body_spec.get("required"):
                problems.append("request body required")
        else:
            if "json" not in request.headers.get("content-type", ""):
                problems.append("JSON body sent without a JSON content-type")
            try:
                body = json.loads(content, parse_float=Decimal)
            except ValueError:
                problems.append("body is not JSON")
            else:
                validator = _schema_validator(op, body_spec["schema"])
                for error in validator.iter_errors(body):
                    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
                    problems.append(f"body {where}: {error.message}")
    elif content:
        problems.append(f"{op.operation_id} takes no body")

    _documented_rules(op, query, now, problems)
    if problems:
        raise ContractViolation(
            f"{op.operation_id} {request.method} {split.path}: " + "; ".join(problems)
        )
    return op


def check_lwa_request(request: httpx.Request) -> None:
    """The token exchange: form-encoded POST with exactly the four documented fields."""
    problems = []
    if request.method != "POST":
        problems.append(f"method {request.method}, expected POST")
    if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
        problems.append("body is not form-encoded")
    form = dict(parse_qsl(request.content.decode(), keep_blank_values=True))
    expected = {"grant_type", "refresh_token", "client_id", "client_secret"}
    if set(form) != expected:
        problems.append(f"form fields {sorted(form)}, expected {sorted(expected)}")
    if form.get("grant_type") != "refresh_token":
        problems.append("grant_type must be refresh_token")
    for name in expected - {"grant_type"}:
        if not form.get(name):
            problems.append(f"{name} is empty")
    if problems:
        raise ContractViolation("LWA token exchange: " + "; ".join(problems))


class ContractTransport(httpx.BaseTransport):
    """Checks each request, then hands it to ``inner``. ``calls`` lists operation ids in order.

    Requests to the LWA URL are checked as token exchanges; any request carrying the access
    token, or calling an SP-API path, must pass :func:`check_request`; the rest are presigned
    document downloads (which therefore never carry the token).
    """

    def __init__(
        self,
        inner: httpx.BaseTransport,
        *,
        now: Callable[[], dt.datetime] | None = None,
        lwa_url: str = LWA_URL,
    ) -> None:
        self.inner = inner
        self._now = now
        self._lwa_url = lwa_url
        self.calls: list[str] = []
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if str(request.url) == self._lwa_url:
            check_lwa_request(request)
            self.calls.append("lwa")
        elif "x-amz-access-token" in request.headers or find_operation(
            request.method, urlsplit(str(request.url)).path
        ):
            # Anything carrying the token must be an SP-API operation: check_request fails on
            # an unknown path, so the token cannot leak to a download host unnoticed.
            op = check_request(request, now=self._now() if self._now else None)
            self.calls.append(op.operation_id)
        else:
            self.calls.append("download")
        return self.inner.handle_request(request)

    def sp_api_calls(self) -> list[str]:
        return [c for c in self.calls if c not in ("lwa", "download")]


class FakeLwa(httpx.BaseTransport):
    """The LWA token endpoint: every exchange gets a new token valid ``expires_in`` seconds.

    Routes requests for any other URL to ``other``. Not an ``httpx.MockTransport``, which VCR
    patches: the token exchange is not part of Amazon's sandbox cases.
    """

    def __init__(
        self, other: httpx.BaseTransport, *, expires_in: int = 3600, lwa_url: str = LWA_URL
    ) -> None:
        self.other = other
        self.expires_in = expires_in
        self.lwa_url = lwa_url
        self.issued: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if str(request.url) != self.lwa_url:
            return self.other.handle_request(request)
        token = f"Atza|test-access-{len(self.issued) + 1}"
        self.issued.append(token)
        return httpx.Response(
            200,
            json={
                "access_token": token,
                "token_type": "bearer",
                "expires_in": self.expires_in,
                "refresh_token": dict(parse_qsl(request.content.decode()))["refresh_token"],
            },
            headers={"cache-control": "no-store", "pragma": "no-cache"},
        )


# -- replaying the models' sandbox cases ---------------------------------------------------------


def _same_value(live: str, stored: str) -> bool:
    if live == stored:
        return True
    a, b = parse_instant(live), parse_instant(stored)
    return a is not None and a == b


def _json_subset(stored: Any, live: Any) -> bool:
    if isinstance(stored, dict):
        return isinstance(live, dict) and all(
            k in live and _json_subset(v, live[k]) for k, v in stored.items()
        )
    if isinstance(stored, list):
        return (
            isinstance(live, list)
            and len(stored) == len(live)
            and all(_json_subset(s, v) for s, v in zip(stored, live, strict=True))
        )
    if isinstance(stored, str) and isinstance(live, str):
        return _same_value(live, stored)
    return stored == live


def sandbox_match(live: Any, stored: Any) -> None:
    """VCR matcher: ``stored`` is a sandbox case (placeholders for unnamed path parameters,
    only the named query parameters); assert ``live`` satisfies it."""
    live_url, stored_url = urlsplit(live.uri), urlsplit(stored.uri)
    assert live.method == stored.method, f"method {live.method} != {stored.method}"
    assert (live_url.scheme, live_url.netloc) == (stored_url.scheme, stored_url.netloc), "host"
    live_parts = live_url.path.split("/")
    stored_parts = unquote(stored_url.path).split("/")
    assert len(live_parts) == len(stored_parts), "path length"
    for got, want in zip(live_parts, stored_parts, strict=True):
        if want.startswith("{") and want.endswith("}"):
            assert got, f"empty path segment for {want}"
        else:
            assert unquote(got) == want, f"path segment {unquote(got)!r} != {want!r}"
    live_query = dict(parse_qsl(live_url.query, keep_blank_values=True))
    for name, value in parse_qsl(stored_url.query, keep_blank_values=True):
        assert name in live_query, f"query {name} missing"
        assert _same_value(live_query[name], value), (
            f"query {name}={live_query[name]!r} != {value!r}"
        )
    if stored.body:
        live_body = json.loads(live.body or b"null", parse_float=Decimal)
        assert _json_subset(json.loads(stored.body, parse_float=Decimal), live_body), "body"


class SandboxMatching:
    """pytest-recording plugin: registers :func:`sandbox_match` as the ``sandbox`` matcher."""

    def pytest_recording_configure(self, config: Any, vcr: Any) -> None:
        vcr.register_matcher("sandbox", sandbox_match)


def sandbox_cases() -> Iterator[tuple[ModelOperation, str, int, dict[str, Any]]]:
    """Every ``x-amzn-api-sandbox`` static case: (operation, status, index, case)."""
    for op in MODEL_OPERATIONS:
        for status, response in op.spec["responses"].items():
            cases = response.get("x-amzn-api-sandbox", {}).get("static", [])
            for index, case in enumerate(cases, start=1):
                yield op, status, index, case


# -- cassettes from the sandbox cases -----------------------------------------------------------

# The operations SpApiClient calls, by (model file, operationId); their sandbox cases become
# cassettes. Other operations in the models are left out to keep the folder to what is replayed.
REPLAYED_OPERATIONS = frozenset(
    {
        ("orders_2026-01-01.json", "searchOrders"),
        ("orders_2026-01-01.json", "getOrder"),
        ("financesV0.json", "listFinancialEventGroups"),
        ("financesV0.json", "listFinancialEventsByGroupId"),
        ("financesV0.json", "listFinancialEvents"),
        ("reports_2021-06-30.json", "getReports"),
        ("reports_2021-06-30.json", "createReport"),
        ("reports_2021-06-30.json", "getReport"),
        ("reports_2021-06-30.json", "getReportDocument"),
        ("listingsItems_2021-08-01.json", "patchListingsItem"),
        ("sellers.json", "getMarketplaceParticipations"),
    }
)
_USAGE_PLAN_ROW = re.compile(r"\|\s*([0-9.]+)\s*\|\s*([0-9]+)\s*\|")


def cassette_name(op: ModelOperation, status: str, index: int) -> str:
    return f"{op.model.removesuffix('.json')}.{op.operation_id}.{status}.{index}.yaml"


def documented_rate(op: ModelOperation) -> str | None:
    """The rate of the "Usage Plan" table in the operation's description, as written there."""
    hit = _USAGE_PLAN_ROW.search(op.spec.get("description", ""))
    return hit.group(1) if hit else None


def _exact_json(value: Any) -> str:
    import simplejson

    return simplejson.dumps(value, use_decimal=True, separators=(",", ":"), ensure_ascii=False)


def _case_request(op: ModelOperation, case: dict[str, Any]) -> dict[str, Any]:
    from urllib.parse import quote, urlencode

    given = {
        name: spec.get("value") for name, spec in case["request"].get("parameters", {}).items()
    }
    path = op.template
    for name in op.parameters_in("path"):
        if name in given:
            path = path.replace("{" + name + "}", quote(str(given[name]), safe=""))
        else:
            path = path.replace("{" + name + "}", quote("{" + name + "}", safe=""))
    pairs = []
    for name in op.parameters_in("query"):
        if name in given:
            value = given[name]
            text = ",".join(value) if isinstance(value, list) else str(value)
            pairs.append((name, text))
    body = None
    for name in op.parameters_in("body"):
        if given.get(name):
            body = _exact_json(given[name])
    uri = f"https://{SANDBOX_HOST}{path}" + (f"?{urlencode(pairs, safe=',')}" if pairs else "")
    return {"body": body, "headers": {}, "method": op.method, "uri": uri}


def _case_response(
    op: ModelOperation, status: str, index: int, case: dict[str, Any]
) -> dict[str, Any]:
    from http import HTTPStatus

    headers = {
        "Content-Type": ["application/json"],
        "x-amzn-RequestId": [f"sandbox-{op.operation_id}-{status}-{index}"],
    }
    declared = op.spec["responses"][status].get("headers", {})
    rate = documented_rate(op)
    if "x-amzn-RateLimit-Limit" in declared and rate is not None:
        headers["x-amzn-RateLimit-Limit"] = [rate]
    return {
        "status": {"code": int(status), "message": HTTPStatus(int(status)).phrase},
        "headers": headers,
        "body": {"string": _exact_json(case["response"])},
    }


def render_cassettes() -> dict[str, str]:
    """File name -> YAML text of one VCR cassette per replayed sandbox case."""
    import yaml

    files = {}
    for op, status, index, case in sandbox_cases():
        if (op.model, op.operation_id) not in REPLAYED_OPERATIONS:
            continue
        cassette = {
            "interactions": [
                {
                    "request": _case_request(op, case),
                    "response": _case_response(op, status, index, case),
                }
            ],
            "version": 1,
        }
        header = (
            f"# Generated by tests/core/amazon/cassettes/generate.py from {op.model}\n"
            f"# {op.operation_id} responses.{status}.x-amzn-api-sandbox.static[{index - 1}]. Do not edit.\n"
        )
        files[cassette_name(op, status, index)] = header + yaml.safe_dump(
            cassette, sort_keys=False, allow_unicode=True, width=100
        )
    return files


def write_cassettes(directory: Path) -> list[Path]:
    """Write every cassette of :func:`render_cassettes` into ``directory``; returns the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in sorted(render_cassettes().items()):
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


# -- a client over a scripted Amazon -------------------------------------------------------------

TEST_BASE_URL = "https://sellingpartnerapi-na.amazon.com"
TEST_CLIENT_SECRET = "client-secret-value-1234"
TEST_REFRESH_TOKEN = "Atzr|refresh-token-value-5678"


def build_client(
    handler: Callable[[httpx.Request], httpx.Response],
    clock: Any,
    *,
    expires_in: int = 3600,
    seed: int = 1234,
    max_retries: int = 5,
) -> tuple[Any, ContractTransport, FakeLwa]:
    """An SpApiClient whose SP-API requests go to ``handler`` (after the contract check) and
    whose token exchanges go to a :class:`FakeLwa`. Returns (client, contract transport, lwa)."""
    from ml_connector.core.amazon.client import SpApiClient
    from ml_connector.core.amazon.lwa import LwaCredentials
    from ml_connector.core.emulation.clock import utcnow
    from ml_connector.core.secrets import Secret

    lwa = FakeLwa(httpx.MockTransport(handler), expires_in=expires_in)
    transport = ContractTransport(lwa, now=lambda: utcnow(clock))
    client = SpApiClient(
        base_url=TEST_BASE_URL,
        credentials=LwaCredentials(
            "amzn1.application-oa2-client.test",
            Secret(TEST_CLIENT_SECRET),
            Secret(TEST_REFRESH_TOKEN),
        ),
        http=httpx.Client(transport=transport),
        clock=clock,
        seed=seed,
        max_retries=max_retries,
    )
    return client, transport, lwa


def json_response(status: int, body: Any, *, rate: str | None = None) -> httpx.Response:
    """A response as Amazon writes it; ``body`` may hold Decimals (written exactly)."""
    headers = {"content-type": "application/json", "x-amzn-RequestId": "test-request"}
    if rate is not None:
        headers["x-amzn-RateLimit-Limit"] = rate
    return httpx.Response(status, content=_exact_json(body).encode(), headers=headers)


def error_response(
    status: int, code: str, message: str, details: str | None = None
) -> httpx.Response:
    error = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return json_response(status, {"errors": [error]})
