"""Errors of the SP-API client, all under :class:`~ml_connector.core.errors.RemoteError` or
:class:`~ml_connector.ledger.errors.ConnectorError`."""

from __future__ import annotations

from typing import Any

from ml_connector.core.errors import ConnectorError, InputError, RemoteError


class PagingTokenExpired(RemoteError):
    """Amazon refused a paging token (``NextToken``/``nextToken``/``paginationToken``).

    Tokens expire (Orders 2026-01-01: after 24 hours) and are bound to the arguments of the call
    that produced them. A 400 on a request that carried a token means the token is no longer
    usable, since the same arguments were accepted on the first page. The pull layer restarts
    that window from its last committed watermark; nothing already stored is lost, and records
    seen again are de-duplicated by their Amazon ids.
    """


class ListingIssuesError(RemoteError):
    """Amazon refused a listings submission (status ``INVALID`` or ERROR issues).

    ``issues`` holds Amazon's issue objects verbatim. Not retried: the same body would be refused
    again; somebody has to change the listing or the price.
    """

    def __init__(self, message: str, *, issues: list[dict[str, Any]], **kw: Any) -> None:
        self.issues = issues
        super().__init__("amazon", message, **kw)


class ReportWaitTimeout(ConnectorError):
    """A report did not finish within the wait allowed; the wait can be resumed.

    The report keeps processing at Amazon. Store ``report_id`` and call
    ``wait_for_report(report_id, ...)`` again later; nothing is created twice.
    """

    def __init__(self, report_id: str, status: str, waited_seconds: float) -> None:
        self.report_id = report_id
        self.status = status
        self.waited_seconds = waited_seconds
        super().__init__(
            f"report {report_id} still {status} after {waited_seconds:.0f} s; "
            f"resume later with wait_for_report({report_id!r})"
        )


class ReportFailed(RemoteError):
    """A report ended FATAL or CANCELLED (Amazon cancels a report that has no data)."""


class ReportNotRequestable(InputError):
    """A report type that cannot be created with createReport (settlement reports).

    "Settlement reports cannot be requested or scheduled. They are automatically scheduled by
    Amazon"; find them with ``get_reports``.
    """


class DocumentUrlExpired(RemoteError):
    """A report document's presigned URL was refused (it "expires after 5 minutes")."""
