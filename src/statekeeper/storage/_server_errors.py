"""Why a database server could not serve a store: each cause its own error, with what to do.

A driver's connection error is one class (psycopg's ``OperationalError``) whatever went wrong,
and its text is libpq's.  An operator needs to know which of a few things to fix: the server
is down or the address is wrong, the database does not exist, the credentials were refused,
or the pool had no free connection in time.  Each is a :class:`StoreUnavailable`, so code that
retries on "the store is unavailable" keeps working, and each message names the server
(password masked) and the fix.  Importing this module needs no driver.
"""

from __future__ import annotations

from .base import StoreError, StoreUnavailable

__all__ = ["CredentialsRefused", "DatabaseNotFound", "PoolExhausted", "PrivilegeMissing",
           "ServerUnreachable"]


class ServerUnreachable(StoreUnavailable):
    """No database server answered at the URL's address (down, wrong host or port, firewall)."""


class DatabaseNotFound(StoreUnavailable):
    """The server answered, but the database the URL names does not exist on it."""


class CredentialsRefused(StoreUnavailable):
    """The server refused the URL's user or password (or its ``pg_hba.conf`` has no entry)."""


class PoolExhausted(StoreUnavailable):
    """Every connection of the pool stayed in use for the whole ``pool_timeout``."""


class PrivilegeMissing(StoreError):
    """The database user lacks a privilege the store needs (to create its schema, say)."""
