"""Regenerate the VCR cassettes in this folder from the SP-API models' sandbox cases.

Run ``python tests/core/amazon/cassettes/generate.py``; commit the files it writes.
``test_client_sandbox_cassettes.py`` fails when a committed cassette differs from what this
would write, so the cassettes cannot drift from the models.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from spapi_contract import write_cassettes  # noqa: E402

if __name__ == "__main__":
    for path in write_cassettes(HERE):
        print(path.relative_to(HERE.parent))
