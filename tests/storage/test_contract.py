"""Run the storage contract against every backend of the ``store`` fixture (see conftest.py)."""

from __future__ import annotations

from contract import StoreContract


class TestStoreContract(StoreContract):
    """The whole contract, once per backend: ``memory``, ``sqlite`` (later ``postgres``)."""
