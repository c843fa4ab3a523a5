"""The PostgreSQL driver, or a clear error naming the extra that installs it.

Imported first by the package: without ``psycopg`` and ``psycopg_pool``, importing
``statekeeper.storage.postgres`` raises :class:`~statekeeper.storage.BackendNotInstalled` (an
``ImportError``) that says ``pip install 'statekeeper[postgres]'``, not a bare
``ModuleNotFoundError`` from deep inside.
"""

from __future__ import annotations

from ..urls import BackendNotInstalled

__all__: list[str] = []

try:
    import psycopg  # noqa: F401
    import psycopg_pool  # noqa: F401
except ImportError as exc:
    raise BackendNotInstalled("PostgreSQL", "postgres", exc.name) from None
