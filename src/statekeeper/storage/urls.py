"""Open a store from a URL: the scheme picks the backend, imported only when it is used.

Why a registry here rather than in the client: the client, the command line and any later tool
open stores the same way, so they accept the same URLs and fail with the same errors.  Each
backend's module is imported only when a URL of its scheme is opened, so ``import statekeeper``
never needs a database driver the application does not use (PostgreSQL's ``psycopg`` comes
with the ``postgres`` extra).

==========================================  ==========================================
URL                                         store
==========================================  ==========================================
``memory://``                               :class:`~statekeeper.storage.MemoryStore`
``sqlite:///path/to.db`` or a plain path    :class:`~statekeeper.storage.SQLiteStore`
``postgresql://user@host:port/db?schema=s`` :class:`~statekeeper.storage.postgres.PostgresStore`
==========================================  ==========================================

No message here ever repeats a URL whole: a PostgreSQL URL may carry a password.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..core.validate import did_you_mean
from .base import Store, StoreError

__all__ = [
    "BackendNotInstalled",
    "InvalidStoreURL",
    "NoSuchStore",
    "UnsupportedStoreURL",
    "existing_store_url",
    "known_schemes",
    "open_existing_store",
    "open_store",
]


class InvalidStoreURL(StoreError, ValueError):
    """A store URL names a known backend but says something it cannot use.

    An unknown option, a value of the wrong kind, a schema name PostgreSQL would not take.
    A ``ValueError`` too, as a wrong argument value is in Python.
    """


class UnsupportedStoreURL(InvalidStoreURL):
    """A store URL whose scheme no backend serves; the message lists the schemes known."""

    def __init__(self, scheme: str) -> None:
        self.scheme = scheme
        super().__init__(
            f"unsupported store URL scheme {scheme + '://'!r}{did_you_mean(scheme, _SCHEMES)}; "
            f"the schemes known are: {_KNOWN}")


class BackendNotInstalled(StoreError, ImportError):
    """The backend a URL names needs a package that is not installed: install the extra.

    An ``ImportError`` too, since that is what it is: ``import statekeeper.storage.postgres``
    without ``psycopg`` raises it.
    """

    def __init__(self, backend: str, extra: str, missing: str | None) -> None:
        self.backend = backend
        self.extra = extra
        StoreError.__init__(
            self, f"the {backend} store needs the {missing or 'driver'!r} package, which is not "
                  f"installed; install statekeeper's {extra!r} extra: "
                  f"pip install 'statekeeper[{extra}]'")
        self.name = missing


class NoSuchStore(StoreError):
    """The URL names no existing statekeeper store (a tool that only reads found nothing)."""


@dataclass(frozen=True, slots=True)
class _Backend:
    """One backend: its URL schemes, an example URL, and how to open it (imports inside)."""

    schemes: tuple[str, ...]
    example: str
    open: Callable[[str, Mapping[str, Any]], Store]
    existing: Callable[[str], str]


def _open_memory(url: str, options: Mapping[str, Any]) -> Store:
    from .memory import MemoryStore

    return MemoryStore()


def _existing_memory(url: str) -> str:
    raise NoSuchStore("a memory store holds nothing until a process fills it, and nothing "
                      "else can read it: name a database (sqlite:///path/to.db or a path)")


def _parse_sqlite(url: str) -> tuple[str, dict[str, bool]]:
    from .sqlite import parse_sqlite_url

    try:
        path, settings = parse_sqlite_url(url)
    except ValueError as exc:
        raise InvalidStoreURL(str(exc)) from None
    if not path:
        raise InvalidStoreURL(f"store URL {url!r} names no database file: write "
                              "sqlite:///path/to.db (or a plain path), or memory:// for none")
    return path, settings


def _open_sqlite(url: str, options: Mapping[str, Any]) -> Store:
    from .sqlite import SQLiteStore

    path, settings = _parse_sqlite(url)
    return SQLiteStore(path, **{**settings, **options})


def _existing_sqlite(url: str) -> str:
    from .sqlite._file import check_file

    path, settings = _parse_sqlite(url)
    report = check_file(path, allow_foreign_tables=settings.get("allow_foreign_tables", False))
    if not report.exists:
        raise NoSuchStore(f"{path}: no such database file")
    if report.version == 0:
        raise NoSuchStore(f"{path}: not a statekeeper database (it has no statekeeper schema)")
    return f"sqlite:///{path}" + ("?allow_foreign_tables=1" if report.foreign_tables else "")


def _open_postgres(url: str, options: Mapping[str, Any]) -> Store:
    from .postgres import PostgresStore, parse_postgres_url  # BackendNotInstalled without psycopg

    settings = parse_postgres_url(url)
    if options:
        raise TypeError(f"{settings.display}: the PostgreSQL store takes no options "
                        f"({', '.join(sorted(options))}); its settings go in the URL "
                        f"(schema=, pool_max=, pool_timeout=...)")
    return PostgresStore(settings)


def _existing_postgres(url: str) -> str:
    from .postgres import connect, parse_postgres_url, schema_version

    settings = parse_postgres_url(url)
    import psycopg

    from .postgres._pool import explain_failure

    conn = connect(settings)  # a down server, a wrong database: a named error
    try:
        version = schema_version(conn, settings.schema)
    except psycopg.OperationalError as exc:  # lost while reading: named, never raw
        raise explain_failure(exc, settings) from None
    except psycopg.Error as exc:  # refused (a privilege, say): named too
        raise StoreError(f"{settings.display}: cannot read the schema version of "
                         f"{settings.schema!r}: {str(exc).strip()}") from None
    finally:
        conn.close()
    if version == 0:
        raise NoSuchStore(f"{settings.display}: schema {settings.schema!r} has no statekeeper "
                          f"tables; name the schema= a client wrote (the default is "
                          f"'statekeeper')")
    return url


_BACKENDS = (
    _Backend(("memory",), "memory://", _open_memory, _existing_memory),
    _Backend(("sqlite",), "sqlite:///path/to.db (or a plain path)", _open_sqlite,
             _existing_sqlite),
    _Backend(("postgresql", "postgres"), "postgresql://user@host:5432/db?schema=name",
             _open_postgres, _existing_postgres),
)
_SCHEMES = {scheme: backend for backend in _BACKENDS for scheme in backend.schemes}
_KNOWN = ", ".join(backend.example for backend in _BACKENDS)


def known_schemes() -> tuple[str, ...]:
    """The URL schemes :func:`open_store` knows, in the order of the table above."""
    return tuple(_SCHEMES)


def _backend(url: str | os.PathLike[str]) -> tuple[_Backend, str]:
    """The backend ``url`` names, and the URL as text (a path is a ``sqlite`` one)."""
    if not isinstance(url, (str, os.PathLike)):
        raise TypeError(f"a store URL is a str or a path, not {type(url).__name__}")
    text = os.fspath(url)
    if not isinstance(text, str):
        raise TypeError("a store path must be text, not bytes")
    if text.startswith("memory:"):
        return _SCHEMES["memory"], text
    scheme, sep, _ = text.partition("://")
    if not sep or not isinstance(url, str):  # a path object is a path, whatever it says
        return _SCHEMES["sqlite"], text
    backend = _SCHEMES.get(scheme.lower())
    if backend is None:
        raise UnsupportedStoreURL(scheme)
    return backend, scheme.lower() + text[len(scheme):]


def open_store(url: str | os.PathLike[str], **options: Any) -> Store:
    """Open the store ``url`` names (created if missing; the caller migrates it).

    ``options`` go to the store's constructor over what the URL says (``SQLiteStore``'s
    ``synchronous=``, for one).  A ``sqlite:///`` URL may say ``?allow_foreign_tables=1`` to
    use a database that also holds another program's tables (refused by default, see
    :class:`~statekeeper.storage.ForeignDatabase`).

    Raises:
        UnsupportedStoreURL: no backend serves the URL's scheme.
        InvalidStoreURL: the URL has an option its backend does not know, or a bad value.
        BackendNotInstalled: the backend's driver is missing (the message names the extra).
        StoreUnavailable: the database cannot be reached (PostgreSQL: a subclass says why).
        TypeError: ``options`` a backend does not take (PostgreSQL takes none: use the URL).

    """
    backend, text = _backend(url)
    return backend.open(text, options)


def existing_store_url(url: str | os.PathLike[str]) -> str:
    """``url``, once it is known to name an existing statekeeper store; nothing is created.

    For tools that only read (the command line): a mistyped path must not become a new empty
    database, and another program's database must not be touched.

    Raises:
        NoSuchStore: no such database file, a file without statekeeper's schema, or
            ``memory://`` (which nothing else can read).
        ForeignDatabase, SchemaTooNew, NotADatabaseFile: as opening it would.

    """
    backend, text = _backend(url)
    return backend.existing(text)


def open_existing_store(url: str | os.PathLike[str]) -> Store:
    """Open the existing store ``url`` names, neither creating nor migrating it."""
    return open_store(existing_store_url(url))
