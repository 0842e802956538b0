"""Flows: one Amazon seller account and region joined to one target organisation.

A :class:`Flow` is configuration only: the seller, region and marketplaces, the target and the
mapping to its references, the posting mode, the schedule of its jobs. Credentials are not part
of it: they sit encrypted in the vault under :meth:`Flow.scope` (``flow/<name>/amazon`` and
``flow/<name>/<target>``), so nothing that prints a flow can print a secret.

Flows live in the ``flow`` table (:func:`save_flow`, :func:`get_flow`, :func:`list_flows`,
:func:`remove_flow`) and can be declared in a TOML file (:func:`read_flows_file`)::

    [flows.shop-us]
    target = "xero"
    seller_id = "A2EXAMPLE"
    marketplaces = ["US", "CA"]          # codes or marketplace ids; region NA is implied
    mode = "summary"                     # or "per-order"
    schedule = { orders = "1h", settlements = "1d" }

    [flows.shop-us.mapping.accounts]
    "Income:Amazon:Sales" = "200"

    [flows.shop-us.credentials.amazon]
    client_id = "amzn1.application-oa2-client.example"
    client_secret = { env = "AMAZON_CLIENT_SECRET" }
    refresh_token = { file = "secrets/amazon-refresh-token" }
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

from sqlalchemy import Connection, delete, select, update

from ml_connector.core import jsoncodec
from ml_connector.core.amazon.regions import REGIONS, common_region
from ml_connector.core.errors import ConfigError
from ml_connector.core.schema import FlowConfig, FlowJob, Watermark
from ml_connector.core.secrets import Secret
from ml_connector.core.targets import TargetMapping
from ml_connector.core.vault import Vault
from ml_connector.ledger.errors import InputError
from ml_connector.ledger.marketplaces import Marketplace, by_code, by_id

AMAZON = "amazon"
MODES = ("summary", "per-order")
# Job kinds a flow runs on a schedule. Pulls first (orders, finances, settlements), then sync
# renders what was booked and pushes it to the target.
JOB_KINDS = ("orders", "finances", "settlements", "sync")
HOUR = 3600
DAY = 24 * HOUR
DEFAULT_SCHEDULE: Mapping[str, int] = MappingProxyType(
    {"orders": HOUR, "finances": DAY, "settlements": DAY, "sync": HOUR}
)
MAPPING_SECTIONS = ("accounts", "items", "contacts", "taxes", "tracking", "options")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
_DURATION = re.compile(r"^\s*(\d+)\s*(s|sec|m|min|h|hr|d|day|days|w)?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {
    None: 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": HOUR, "hr": HOUR,
    "d": DAY, "day": DAY, "days": DAY, "w": 7 * DAY,
}  # fmt: skip
_WORDS = {"hourly": HOUR, "daily": DAY, "weekly": 7 * DAY, "off": 0, "never": 0}

_FLOW = FlowConfig.__table__  # type: ignore[attr-defined]
_JOB = FlowJob.__table__  # type: ignore[attr-defined]
_WATERMARK = Watermark.__table__  # type: ignore[attr-defined]


def _problem(flow: str, field_name: str, message: str, source: str | None = None) -> ConfigError:
    where = f"{source}: " if source else ""
    return ConfigError(f"{where}flow {flow!r}: {field_name}: {message}")


@dataclass(frozen=True)
class Flow:
    """A flow's configuration, validated. Build one with :func:`make_flow`."""

    name: str
    target: str
    seller_id: str
    region: str
    marketplaces: tuple[str, ...]  # marketplace ids, all served by ``region``
    mapping: TargetMapping = field(default_factory=TargetMapping)
    mode: str = "summary"
    split_by_month: bool = False
    home_currency: str = "USD"
    schedule: Mapping[str, int] = field(
        default_factory=lambda: DEFAULT_SCHEDULE
    )  # kind -> seconds; 0 = never
    enabled: bool = True

    def scope(self, service: str) -> str:
        """The vault scope holding this flow's credentials for ``service``."""
        return credential_scope(self.name, service)

    @property
    def services(self) -> tuple[str, str]:
        """Who this flow holds credentials for: Amazon and its target."""
        return (AMAZON, self.target)

    def cadence(self, kind: str) -> int:
        return int(self.schedule.get(kind, 0))

    def marketplace_codes(self) -> list[str]:
        return [by_id(m).code for m in self.marketplaces]

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``flows show --json``; a flow holds no secret, so neither does this."""
        return {
            "name": self.name,
            "target": self.target,
            "seller_id": self.seller_id,
            "region": self.region,
            "marketplaces": self.marketplace_codes(),
            "marketplace_ids": list(self.marketplaces),
            "mode": self.mode,
            "split_by_month": self.split_by_month,
            "home_currency": self.home_currency,
            "schedule": dict(self.schedule),
            "enabled": self.enabled,
            "mapping": mapping_to_dict(self.mapping),
        }


def credential_scope(flow: str, service: str) -> str:
    return f"flow/{flow}/{service}"


# -- building and validating -------------------------------------------------------------------


def parse_cadence(value: object, *, flow: str, kind: str, source: str | None = None) -> int:
    """Seconds between runs from ``3600``, ``"90m"``, ``"1h"``, ``"1d"``, ``"daily"`` or ``"off"``."""
    where = f"schedule.{kind}"
    if isinstance(value, bool | float | Decimal):
        raise _problem(flow, where, f"{value!r} is not a whole duration (try '1h' or 3600)", source)
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, str):
        word = _WORDS.get(value.strip().lower())
        if word is not None:
            return word
        match = _DURATION.match(value)
        if match is None:
            raise _problem(
                flow, where, f"{value!r} is not a duration (try '15m', '1h', '1d' or 'off')", source
            )
        seconds = int(match.group(1)) * _UNIT_SECONDS[(match.group(2) or "").lower() or None]
    else:
        raise _problem(flow, where, f"{value!r} is not a duration", source)
    if seconds < 0:
        raise _problem(flow, where, f"{value!r} is negative", source)
    if 0 < seconds < 60:
        raise _problem(flow, where, f"{value!r} is shorter than a minute", source)
    return seconds


def mapping_from_dict(
    data: Mapping[str, Any] | None, *, flow: str, source: str | None = None
) -> TargetMapping:
    """A :class:`TargetMapping` from ``{"accounts": {...}, "items": {...}, ...}``."""
    if data is None:
        return TargetMapping()
    if not isinstance(data, Mapping):
        raise _problem(flow, "mapping", "must be a table of sections", source)
    unknown = sorted(set(data) - set(MAPPING_SECTIONS))
    if unknown:
        raise _problem(
            flow,
            "mapping",
            f"unknown section(s) {', '.join(unknown)}; expected {', '.join(MAPPING_SECTIONS)}",
            source,
        )
    sections: dict[str, dict[str, str]] = {}
    for section in MAPPING_SECTIONS:
        entries = data.get(section) or {}
        if not isinstance(entries, Mapping):
            raise _problem(flow, f"mapping.{section}", "must be a table of name = value", source)
        clean: dict[str, str] = {}
        for key, value in entries.items():
            if isinstance(value, bool) or not isinstance(value, str | int):
                raise _problem(flow, f"mapping.{section}.{key}", f"{value!r} must be text", source)
            clean[str(key)] = str(value)
        sections[section] = dict(sorted(clean.items()))
    return TargetMapping(**sections)


def mapping_to_dict(mapping: TargetMapping) -> dict[str, dict[str, str]]:
    return {section: dict(getattr(mapping, section)) for section in MAPPING_SECTIONS}


def _marketplace(value: str, *, flow: str, source: str | None) -> Marketplace:
    try:
        return by_code(value.upper()) if len(value) <= 3 else by_id(value)
    except InputError:
        raise _problem(
            flow, "marketplaces", f"{value!r} is neither a marketplace code nor an id", source
        ) from None


def make_flow(
    name: str,
    *,
    target: str,
    seller_id: str,
    marketplaces: list[str] | tuple[str, ...],
    region: str | None = None,
    mapping: TargetMapping | Mapping[str, Any] | None = None,
    mode: str = "summary",
    split_by_month: bool = False,
    home_currency: str | None = None,
    schedule: Mapping[str, object] | None = None,
    enabled: bool = True,
    source: str | None = None,
) -> Flow:
    """A validated :class:`Flow`; a wrong field raises :class:`ConfigError` naming flow and field.

    ``marketplaces`` are codes (``US``, ``UK``) or marketplace ids, all in one SP-API region
    (given or implied). ``schedule`` overrides :data:`DEFAULT_SCHEDULE` per job kind.
    ``home_currency`` defaults to the first marketplace's currency.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise _problem(
            str(name),
            "name",
            "use 1-63 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
            source,
        )
    if not isinstance(target, str) or not target.strip():
        raise _problem(name, "target", "is required (see 'ml-connector targets')", source)
    if not isinstance(seller_id, str) or not seller_id.strip():
        raise _problem(name, "seller_id", "is required (the Amazon merchant token)", source)
    if isinstance(marketplaces, str) or not marketplaces:
        raise _problem(name, "marketplaces", "give at least one, e.g. ['US']", source)
    found: list[Marketplace] = []
    for value in marketplaces:
        if not isinstance(value, str):
            raise _problem(name, "marketplaces", f"{value!r} is not text", source)
        market = _marketplace(value.strip(), flow=name, source=source)
        if market not in found:
            found.append(market)
    try:
        served_by = common_region(m.marketplace_id for m in found).name
    except ConfigError:
        regions = ", ".join(f"{m.code}: {m.region}" for m in found)
        raise _problem(
            name,
            "marketplaces",
            f"must share one SP-API region ({regions}); use one flow per region",
            source,
        ) from None
    if region is not None and region.upper() != served_by:
        if region.upper() not in REGIONS:
            raise _problem(name, "region", f"{region!r} is not one of {', '.join(REGIONS)}", source)
        raise _problem(
            name,
            "region",
            f"{region!r} does not serve the marketplaces (they are in {served_by})",
            source,
        )
    if mode not in MODES:
        raise _problem(name, "mode", f"{mode!r} is not one of {', '.join(MODES)}", source)
    if not isinstance(split_by_month, bool):
        raise _problem(name, "split_by_month", f"{split_by_month!r} is not true or false", source)
    if not isinstance(enabled, bool):
        raise _problem(name, "enabled", f"{enabled!r} is not true or false", source)
    currency = home_currency or found[0].currency
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
        raise _problem(name, "home_currency", f"{currency!r} is not an ISO 4217 code", source)
    cadences = dict(DEFAULT_SCHEDULE)
    if schedule is not None:
        if not isinstance(schedule, Mapping):
            raise _problem(name, "schedule", "must be a table of job = duration", source)
        for kind, duration in schedule.items():
            if kind not in JOB_KINDS:
                raise _problem(
                    name,
                    f"schedule.{kind}",
                    f"unknown job; expected {', '.join(JOB_KINDS)}",
                    source,
                )
            cadences[kind] = parse_cadence(duration, flow=name, kind=kind, source=source)
    if not isinstance(mapping, TargetMapping):
        mapping = mapping_from_dict(mapping, flow=name, source=source)
    return Flow(
        name=name,
        target=target.strip(),
        seller_id=seller_id.strip(),
        region=served_by,
        marketplaces=tuple(m.marketplace_id for m in found),
        mapping=mapping,
        mode=mode,
        split_by_month=split_by_month,
        home_currency=currency,
        schedule=MappingProxyType(cadences),
        enabled=enabled,
    )


# -- the flow table ----------------------------------------------------------------------------


def _row_values(flow: Flow) -> dict[str, Any]:
    return {
        "target": flow.target,
        "seller_id": flow.seller_id,
        "region": flow.region,
        "marketplaces": jsoncodec.dumps(list(flow.marketplaces)),
        "mode": flow.mode,
        "split_by_month": flow.split_by_month,
        "home_currency": flow.home_currency,
        "mapping": jsoncodec.dumps(mapping_to_dict(flow.mapping), sort_keys=True),
        "schedule": jsoncodec.dumps(dict(flow.schedule), sort_keys=True),
        "enabled": flow.enabled,
    }


def _from_row(row: Any) -> Flow:
    return Flow(
        name=row.name,
        target=row.target,
        seller_id=row.seller_id,
        region=row.region,
        marketplaces=tuple(jsoncodec.loads(row.marketplaces)),
        mapping=mapping_from_dict(jsoncodec.loads(row.mapping), flow=row.name),
        mode=row.mode,
        split_by_month=bool(row.split_by_month),
        home_currency=row.home_currency,
        schedule=MappingProxyType({**DEFAULT_SCHEDULE, **jsoncodec.loads(row.schedule)}),
        enabled=bool(row.enabled),
    )


def save_flow(conn: Connection, flow: Flow, *, now: dt.datetime, replace: bool = False) -> bool:
    """Insert ``flow``, or with ``replace`` update the flow of that name; True when it was new.

    Replacing keeps the flow's credentials, watermarks and job history. A changed cadence
    applies at once: a job that last succeeded is next due one new cadence after it last started
    (a failing job keeps its retry time).
    """
    stamp = now
    exists = conn.execute(select(_FLOW.c.name).where(_FLOW.c.name == flow.name)).first()
    if exists is not None:
        if not replace:
            raise ConfigError(
                f"flow {flow.name!r} already exists; 'ml-connector flows remove {flow.name}' first, "
                "or pass --replace"
            )
        conn.execute(
            update(_FLOW)
            .where(_FLOW.c.name == flow.name)
            .values(**_row_values(flow), updated_at=stamp)
        )
        _reschedule(conn, flow)
        return False
    conn.execute(
        _FLOW.insert().values(
            name=flow.name, **_row_values(flow), created_at=stamp, updated_at=stamp
        )
    )
    return True


def _reschedule(conn: Connection, flow: Flow) -> None:
    """Move each succeeded job's due time to its last start plus the flow's current cadence."""
    rows = conn.execute(
        select(_JOB.c.kind, _JOB.c.last_started_at).where(
            _JOB.c.flow == flow.name, _JOB.c.failures == 0, _JOB.c.last_started_at.is_not(None)
        )
    ).all()
    for row in rows:
        cadence = flow.cadence(row.kind)
        conn.execute(
            update(_JOB)
            .where(_JOB.c.flow == flow.name, _JOB.c.kind == row.kind)
            .values(
                next_due_at=row.last_started_at + dt.timedelta(seconds=cadence) if cadence else None
            )
        )


def find_flow(conn: Connection, name: str) -> Flow | None:
    row = conn.execute(select(_FLOW).where(_FLOW.c.name == name)).first()
    return None if row is None else _from_row(row)


def get_flow(conn: Connection, name: str) -> Flow:
    found = find_flow(conn, name)
    if found is None:
        raise ConfigError(f"no flow named {name!r}; 'ml-connector flows list' shows the flows")
    return found


def list_flows(conn: Connection) -> list[Flow]:
    return [_from_row(row) for row in conn.execute(select(_FLOW).order_by(_FLOW.c.name))]


def remove_flow(conn: Connection, name: str) -> None:
    """Delete a flow, its job state and its credentials (in the caller's transaction).

    What the flow already pulled, booked and posted stays: the ledger is append-only and the
    outbox and raw store are its audit trail. A flow added again under the same name resumes
    from its watermarks.
    """
    get_flow(conn, name)
    conn.execute(delete(_JOB).where(_JOB.c.flow == name))
    Vault.delete(conn, credential_scope(name, "").rstrip("/"))
    conn.execute(delete(_FLOW).where(_FLOW.c.name == name))


def watermarks(conn: Connection, name: str) -> dict[str, tuple[str, dt.datetime]]:
    """How far each stream of a flow was pulled: stream -> (value, updated_at)."""
    rows = conn.execute(
        select(_WATERMARK).where(_WATERMARK.c.flow == name).order_by(_WATERMARK.c.stream)
    )
    return {row.stream: (row.value, row.updated_at) for row in rows}


def store_credentials(
    conn: Connection,
    vault: Vault,
    flow: Flow,
    credentials: Mapping[str, Mapping[str, str | Secret]],
    *,
    now: dt.datetime,
) -> None:
    """Encrypt ``{service: {name: value}}`` into the flow's vault scopes (same transaction)."""
    for service, values in credentials.items():
        if service not in flow.services:
            raise _problem(
                flow.name,
                f"credentials.{service}",
                f"the flow talks to {' and '.join(flow.services)} only",
            )
        vault.store(conn, flow.scope(service), values, now=now)


def credential_names(conn: Connection, flow: Flow) -> dict[str, list[str]]:
    """Which credentials are stored for each service of ``flow`` (names only, nothing decrypted)."""
    return {service: Vault.names(conn, flow.scope(service)) for service in flow.services}


# -- TOML declarations -------------------------------------------------------------------------


@dataclass(frozen=True)
class FlowDeclaration:
    """A flow from a file, with the credentials it declares (values already wrapped)."""

    flow: Flow
    credentials: Mapping[str, Mapping[str, Secret]]

    def __repr__(self) -> str:
        names = {s: sorted(v) for s, v in self.credentials.items()}
        return f"FlowDeclaration(flow={self.flow.name!r}, credentials={names})"


def resolve_secret(
    value: object,
    *,
    flow: str,
    where: str,
    base: Path,
    environ: Mapping[str, str],
    source: str | None = None,
) -> Secret:
    """A credential value: literal text, ``{env = "VAR"}`` or ``{file = "path"}``.

    Error messages name the variable or file, never the value.
    """
    if isinstance(value, str):
        return Secret(value)
    if isinstance(value, Mapping) and len(value) == 1:
        ((how, ref),) = value.items()
        if how == "env" and isinstance(ref, str):
            found = environ.get(ref)
            if not found:
                raise _problem(flow, where, f"environment variable {ref} is not set", source)
            return Secret(found)
        if how == "file" and isinstance(ref, str):
            path = (base / Path(ref).expanduser()).resolve()
            try:
                return Secret(path.read_text(encoding="utf-8").strip())
            except OSError as exc:
                raise _problem(
                    flow, where, f"cannot read {path}: {exc.strerror or type(exc).__name__}", source
                ) from None
    raise _problem(flow, where, 'give text, { env = "VARIABLE" } or { file = "path" }', source)


_FLOW_KEYS = {
    "target", "seller_id", "region", "marketplaces", "mapping", "mode", "split_by_month",
    "home_currency", "schedule", "enabled", "credentials",
}  # fmt: skip


def read_flows_file(
    path: Path, *, environ: Mapping[str, str] | None = None
) -> list[FlowDeclaration]:
    """Every ``[flows.NAME]`` of a TOML file, validated; any error names file, flow and field.

    Numbers with a fraction are read as ``Decimal`` (never float). Credential values may be
    given inline, or (better) as ``{ env = "VAR" }`` / ``{ file = "path" }``, a path relative
    to the TOML file.
    """
    environ = os.environ if environ is None else environ
    source = str(path)
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle, parse_float=Decimal)
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read: {exc.strerror or type(exc).__name__}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"flows"})
    if unknown:
        raise ConfigError(
            f"{source}: unknown top-level key(s) {', '.join(unknown)}; expected [flows.NAME]"
        )
    flows = data.get("flows")
    if not isinstance(flows, dict) or not flows:
        raise ConfigError(f"{source}: declares no flow; add a [flows.NAME] table")
    declarations = []
    for name, body in flows.items():
        if not isinstance(body, dict):
            raise _problem(name, "flow", "must be a table", source)
        extra = sorted(set(body) - _FLOW_KEYS)
        if extra:
            raise _problem(
                name,
                extra[0],
                f"unknown key; expected one of {', '.join(sorted(_FLOW_KEYS))}",
                source,
            )
        marketplaces = body.get("marketplaces", [])
        if isinstance(marketplaces, str):
            marketplaces = [marketplaces]
        flow = make_flow(
            name,
            target=body.get("target", ""),
            seller_id=body.get("seller_id", ""),
            marketplaces=marketplaces,
            region=body.get("region"),
            mapping=body.get("mapping"),
            mode=body.get("mode", "summary"),
            split_by_month=body.get("split_by_month", False),
            home_currency=body.get("home_currency"),
            schedule=body.get("schedule"),
            enabled=body.get("enabled", True),
            source=source,
        )
        credentials: dict[str, dict[str, Secret]] = {}
        for service, values in (body.get("credentials") or {}).items():
            if service not in flow.services:
                raise _problem(
                    name,
                    f"credentials.{service}",
                    f"the flow talks to {' and '.join(flow.services)} only",
                    source,
                )
            if not isinstance(values, dict):
                raise _problem(
                    name, f"credentials.{service}", "must be a table of name = value", source
                )
            credentials[service] = {
                key: resolve_secret(
                    value,
                    flow=name,
                    where=f"credentials.{service}.{key}",
                    base=path.parent,
                    environ=environ,
                    source=source,
                )
                for key, value in values.items()
            }
        declarations.append(FlowDeclaration(flow, credentials))
    return declarations


def apply_declarations(
    conn: Connection, vault: Vault, declarations: list[FlowDeclaration], *, now: dt.datetime
) -> tuple[list[str], list[str]]:
    """Save declared flows (replacing ones of the same name) and their credentials.

    Runs in the caller's transaction, so a file is applied whole or not at all. Returns the
    names of the flows (added, updated).
    """
    added: list[str] = []
    updated: list[str] = []
    for declaration in declarations:
        new = save_flow(conn, declaration.flow, now=now, replace=True)
        (added if new else updated).append(declaration.flow.name)
        store_credentials(conn, vault, declaration.flow, declaration.credentials, now=now)
    return added, updated
