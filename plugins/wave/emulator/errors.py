"""How the emulator says no, in Wave's two ways.

1. Top-level GraphQL errors, always in an HTTP 200 body:
   ``{"errors": [{"message", "locations", "path", "extensions": {"code", "id"}}], "data": ...}``
   (Wave's "Errors" page, examples ``error.NOT_FOUND`` and ``error.GRAPHQL_VALIDATION_FAILED``).
   A resolver raises :class:`WaveGraphQLFailure` (or a subclass) and graphql-core turns it into
   such an error, keeping the ``extensions``.
2. Business-rule failures of a mutation: ``didSucceed: false`` plus
   ``inputErrors: [{path, message, code}]``. Rule checks raise :class:`InputErrors`; the mutation
   wrapper catches it and writes the output object.

The only input-error code Wave is seen to return is ``UNKNOWN`` with a message such as
``"This value is invalid. MULTIPLE_POSSIBLE_ANCHORS"`` (Wave community thread 6415), so the
emulator uses ``UNKNOWN`` for every rule and puts a distinctive upper-case reason at the end of
each message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ml_connector.ledger.errors import ConnectorError

NOT_FOUND = "NOT_FOUND"
UNAUTHENTICATED = "UNAUTHENTICATED"
GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
BAD_USER_INPUT = "BAD_USER_INPUT"

INPUT_ERROR_CODE = "UNKNOWN"


class WaveGraphQLFailure(ConnectorError):
    """A resolver's refusal, answered as a top-level GraphQL error with ``extensions.code``."""

    code = INTERNAL_SERVER_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.extensions = {"code": self.code}


class NotFoundFailure(WaveGraphQLFailure):
    """An object addressed by id does not exist (for this token): ``NOT_FOUND``."""

    code = NOT_FOUND

    def __init__(self, kind: str, object_id: str) -> None:
        # Wave's wording, from its example: "Business 'BAD_ID' could not be found."
        super().__init__(f"{kind} '{object_id}' could not be found.")


class BadArgumentFailure(WaveGraphQLFailure):
    """An argument the schema accepts but the service cannot use (e.g. ``page: 0``)."""

    code = BAD_USER_INPUT


class NotEmulatedFailure(WaveGraphQLFailure):
    """A schema field the emulator does not act out; said plainly rather than answered wrongly."""

    code = INTERNAL_SERVER_ERROR

    def __init__(self, field: str) -> None:
        super().__init__(f"The Wave emulator does not implement {field}.")


@dataclass(frozen=True)
class InputProblem:
    """One ``InputError``: ``path`` to the offending input value (None when it is the whole)."""

    path: tuple[str, ...] | None
    message: str
    code: str = INPUT_ERROR_CODE

    def as_graphql(self) -> dict[str, object]:
        return {
            "path": list(self.path) if self.path is not None else None,
            "message": self.message,
            "code": self.code,
        }


class InputErrors(ConnectorError):
    """A mutation's input broke business rules; becomes ``didSucceed: false`` + ``inputErrors``."""

    def __init__(self, problems: Sequence[InputProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(p.message for p in self.problems))


def invalid(path: Sequence[str | int] | None, reason: str, detail: str = "") -> InputProblem:
    """An input problem worded like Wave's: ``"This value is invalid. REASON"`` (+ detail)."""
    message = f"This value is invalid. {reason}"
    if detail:
        message = f"{message}: {detail}"
    return InputProblem(tuple(str(p) for p in path) if path is not None else None, message)


def refuse(path: Sequence[str | int] | None, reason: str, detail: str = "") -> InputErrors:
    """A one-problem :class:`InputErrors`, for ``raise refuse(...)``."""
    return InputErrors([invalid(path, reason, detail)])
