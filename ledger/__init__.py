"""The canonical double-entry ledger: exact money, immutable balanced entries, append-only storage.

This package knows nothing of HTTP, of Amazon's API or of any accounting target. It is plain data
(:mod:`.money`, :mod:`.accounts`, :mod:`.entries`), the rules that turn source records into
entries, and the store that keeps them.
"""
