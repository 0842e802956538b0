"""Turning a path or a stream (plain or gzip, bytes or text) into lines of text.

Report documents may arrive gzip-compressed, so byte input is sniffed for the gzip magic number
rather than trusted to its name. Text is UTF-8 with an optional byte-order mark; a line that is
not valid UTF-8 is an error naming that line (bytes are decoded leniently and checked per
non-ASCII line, so the error points at the right line rather than at a decoder buffer).
"""

from __future__ import annotations

import gzip
import io
import os
from typing import IO, BinaryIO, TextIO, cast

from ml_connector.ledger.errors import InputError

GZIP_MAGIC = b"\x1f\x8b"
BOM = "\ufeff"


class _Replay(io.RawIOBase):
    """A read-only stream that first replays ``head`` and then reads on from ``rest``."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        super().__init__()
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        if self._head:
            count = min(len(view), len(self._head))
            view[:count] = self._head[:count]
            self._head = self._head[count:]
            return count
        data = self._rest.read(len(view))
        view[: len(data)] = data
        return len(data)


class TextSource:
    """The decoded text of a settlement document, and what must be closed or let go after.

    Streams passed in by the caller are never closed; only what this object opened is.
    """

    def __init__(self, path_or_stream: str | os.PathLike[str] | TextIO | BinaryIO) -> None:
        self._owned: list[IO[bytes]] = []
        self._wrapper: io.TextIOWrapper | None = None
        if isinstance(path_or_stream, str | os.PathLike):
            self.name = os.fspath(path_or_stream)
            raw: IO[bytes] = open(path_or_stream, "rb")  # noqa: SIM115 - closed in close()
            self._owned.append(raw)
            self.text = self._decode(raw)
        elif isinstance(path_or_stream, io.TextIOBase):
            self.name = str(getattr(path_or_stream, "name", "") or "")
            self.text = cast(TextIO, path_or_stream)
        else:
            self.name = str(getattr(path_or_stream, "name", "") or "")
            self.text = self._decode(cast(IO[bytes], path_or_stream))

    def _decode(self, raw: IO[bytes]) -> TextIO:
        head = _read_head(raw, len(GZIP_MAGIC))
        plain: IO[bytes] = io.BufferedReader(_Replay(head, raw), buffer_size=1 << 16)
        self._owned.append(plain)
        if head == GZIP_MAGIC:
            plain = cast(IO[bytes], gzip.GzipFile(fileobj=plain, mode="rb"))
            self._owned.append(plain)
        self._wrapper = io.TextIOWrapper(
            plain, encoding="utf-8", errors="surrogateescape", newline=None
        )
        return cast(TextIO, self._wrapper)

    def clean(self, line: str, number: int, source: str) -> str:
        """A non-ASCII line checked for valid UTF-8, without the BOM if it is the first line.

        Only non-ASCII lines need this, so the hot loop calls it behind ``line.isascii()``.
        """
        if number == 1 and line.startswith(BOM):
            line = line[1:]
        _require_utf8(line, source, number)
        return line

    def close(self) -> None:
        # Detach rather than close the text wrapper: closing it would close the caller's stream.
        if self._wrapper is not None:
            self._wrapper.detach()
            self._wrapper = None
        # None of these closes the caller's stream: the replaying reader and GzipFile(fileobj=)
        # leave the stream they read from open.
        for stream in reversed(self._owned):
            stream.close()
        self._owned.clear()


def _read_head(raw: IO[bytes], size: int) -> bytes:
    """The first ``size`` bytes (fewer only at the end); raw streams may return short reads."""
    head = b""
    while len(head) < size:
        chunk = raw.read(size - len(head))
        if not isinstance(chunk, bytes | bytearray):
            raise InputError(f"settlement stream read gave {type(chunk).__name__}, not bytes")
        if not chunk:
            break
        head += chunk
    return bytes(head)


def _require_utf8(line: str, source: str, number: int) -> None:
    try:
        line.encode("utf-8")
    except UnicodeEncodeError as error:
        # Show the raw bytes around the first bad one, as they are in the file.
        raw = line.encode("utf-8", "surrogateescape")
        start = len(line[: error.start].encode("utf-8", "surrogateescape"))
        raise InputError(
            "line is not valid UTF-8",
            source=source,
            line=number,
            value=raw[max(start - 10, 0) : start + 10],
        ) from None
