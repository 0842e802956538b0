"""The HTML report in a real browser: headless Chromium screenshots it, and the chart is there.

Runs when ``ML_CONNECTOR_CHROMIUM`` names a Chromium binary; skipped otherwise, except in CI
(``CI=true``), where a missing browser fails the test rather than silently hiding the check.
The screenshot is decoded with the standard library alone (zlib and struct), so the test needs
no image package: it checks the PNG's size and that the chart's colours were actually painted.
"""

from __future__ import annotations

import os
import struct
import subprocess
import zlib
from collections import Counter
from pathlib import Path

import pytest

from ml_connector.core.database import Database
from ml_connector.core.reports import reconcile_all, write_html
from ml_connector.core.reports.chart import COLOURS

CHROMIUM_VARIABLE = "ML_CONNECTOR_CHROMIUM"
WIDTH, HEIGHT = 1200, 900


def chromium_binary() -> str:
    binary = os.environ.get(CHROMIUM_VARIABLE, "").strip()
    if binary:
        return binary
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(
            f"CI=true but {CHROMIUM_VARIABLE} is not set: the browser check of the HTML report "
            "cannot run (install chromium and point the variable at it)",
            pytrace=False,
        )
    pytest.skip(f"set {CHROMIUM_VARIABLE} to a chromium binary to screenshot the HTML report")


def decode_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the unfiltered rows of an 8-bit RGB or RGBA, non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, idat, header = 8, bytearray(), b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        position += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
    channels = 3 if colour == 2 else 4
    stride = width * channels
    raw = zlib.decompress(bytes(idat))
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        if kind == 1:
            for i in range(channels, stride):
                line[i] = (line[i] + line[i - channels]) & 0xFF
        elif kind == 2:
            for i in range(stride):
                line[i] = (line[i] + previous[i]) & 0xFF
        elif kind == 3:
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                a = line[i - channels] if i >= channels else 0
                b = previous[i]
                c = previous[i - channels] if i >= channels else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                predictor = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + predictor) & 0xFF
        else:
            assert kind == 0, f"unknown PNG filter {kind} on row {y}"
        rows.append(bytes(line) if channels == 3 else bytes(_drop_alpha(line)))
        previous = line
    return width, height, rows


def _drop_alpha(line: bytearray) -> bytearray:
    out = bytearray()
    for i in range(0, len(line), 4):
        out += line[i : i + 3]
    return out


def colour_counts(rows: list[bytes]) -> Counter[tuple[int, int, int]]:
    counts: Counter[tuple[int, int, int]] = Counter()
    for row in rows:
        counts.update(zip(row[0::3], row[1::3], row[2::3], strict=True))
    return counts


def rgb(hex_colour: str) -> tuple[int, int, int]:
    value = hex_colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def test_decode_png_reads_a_known_image() -> None:
    """The decoder itself, on a 2x2 PNG built here with every row filter it must undo."""
    pixels = [bytes([255, 0, 0, 0, 255, 0]), bytes([0, 0, 255, 255, 255, 255])]
    raw = (
        b"\x00" + pixels[0] + b"\x02" + bytes((b - a) & 0xFF for a, b in zip(*pixels, strict=True))
    )

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    assert decode_png(png) == (2, 2, pixels)


def test_headless_chromium_renders_the_report_and_its_chart(
    books: Database, tmp_path: Path
) -> None:
    binary = chromium_binary()
    page = tmp_path / "report.html"
    write_html(reconcile_all(books), page)
    shot = tmp_path / "out.png"
    completed = subprocess.run(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}",  # never share a profile with another run
            f"--screenshot={shot}",
            f"--window-size={WIDTH},{HEIGHT}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert shot.exists(), f"no screenshot; chromium said: {completed.stderr[-2000:]}"
    data = shot.read_bytes()
    assert len(data) > 10_000, f"a suspiciously small screenshot: {len(data)} bytes"
    width, height, rows = decode_png(data)
    assert (width, height) == (WIDTH, HEIGHT)
    counts = colour_counts(rows)
    assert len(counts) > 20, "the screenshot is (nearly) one colour: nothing was rendered"
    assert counts.most_common(1)[0][1] < width * height * 0.97
    # The chart was painted: its solid bars and legend carry exactly these colours.
    for name in ("sales", "fees", "deposit"):
        assert counts[rgb(COLOURS[name])] >= 100, f"no {name} bar in the screenshot"
