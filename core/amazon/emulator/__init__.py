"""An emulated Amazon Selling Partner API with a seeded seller behind it.

Built from Amazon's own models (``shared/reference/amazon/models``) and FACTS.md, never from the
client, so a misreading of the contract on either side shows up as a failing integration test.

- :func:`generate_seller`: the seeded seller (orders, fees, refunds, reserves, settlements) as
  exact ground truth;
- :class:`AmazonEmulator`: ``handle(httpx.Request) -> httpx.Response`` for LWA, Orders 2026-01-01,
  Finances v0, Reports 2021-06-30 (with presigned documents), Listings Items 2021-08-01 and
  Sellers v1, with Amazon's auth, rate limits, paging, window rules and error shapes;
- :func:`serve_emulator`: the same on a loopback port.
"""

from ml_connector.core.amazon.emulator.app import ROUTES, AmazonEmulator
from ml_connector.core.amazon.emulator.seller import generate_seller
from ml_connector.core.amazon.emulator.serve import serve_emulator
from ml_connector.core.amazon.emulator.truth import Order, Seller

__all__ = ["ROUTES", "AmazonEmulator", "Order", "Seller", "generate_seller", "serve_emulator"]
