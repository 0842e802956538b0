"""An emulated Xero (identity service and Accounting API 2.0), built from Xero's OpenAPI spec.

>>> emulator = XeroEmulator(clock=FakeClock())
>>> client = httpx.Client(transport=httpx.MockTransport(emulator.handle))

or on a port: ``server, info = serve_emulator(seed=0)``. See :mod:`.app` for what is enforced.
"""

from ml_connector.plugins.xero.emulator.app import XeroEmulator
from ml_connector.plugins.xero.emulator.serve import serve_emulator
from ml_connector.plugins.xero.emulator.state import XeroState

__all__ = ["XeroEmulator", "XeroState", "serve_emulator"]
