"""What a ``postgresql://`` URL says: where to connect, in which schema, with how big a pool.

The URL is libpq's own (every libpq parameter works: ``sslmode``, ``application_name``, a list
of hosts...), plus a few options that are statekeeper's and are taken out before libpq sees it:

``schema``                the PostgreSQL schema statekeeper's tables live in (default
                          ``statekeeper``; created on first migration).  One per deployment, or
                          per test run, so several can share one database and never collide.
``pool_min``/``pool_max`` connections the pool keeps open / may open (default 1 and 10).
``pool_timeout``          seconds a request waits for a free connection before
                          :class:`~statekeeper.storage.PoolExhausted` (default 30).
``allow_foreign_tables``  ``1`` to use a schema that also holds another program's tables.

``connect_timeout`` is libpq's; statekeeper sets it to 10 seconds when the URL does not, so a
server that does not answer fails the open instead of hanging it.

TCP keepalives (libpq's ``keepalives``, ``keepalives_idle``, ``keepalives_interval`` and
``keepalives_count``) are on by default, so a cut network is noticed (a connection whose peer
vanished without closing it is otherwise kept for two hours, the kernel's default): pooled
connections probe after 30 s idle, every 10 s, and give up after 3 unanswered probes; a
worker's long-lived connection (it listens for wake-ups and holds the leader's lock) probes
after 10 s, every 5 s, 3 times, and asks the *server* to do the same on its side
(``tcp_keepalives_*``), so the server ends a vanished leader's session, and frees its lock,
within about 25 s.  Each value the URL gives wins, for every connection (``keepalives=0``
turns them off).  Each connection starts with
``search_path`` set to the schema (a startup option: no extra round trip), so the SQL in the
``.sql`` files names tables without a schema.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from psycopg import ProgrammingError
from psycopg.conninfo import conninfo_to_dict

from ..urls import InvalidStoreURL

__all__ = ["DEFAULT_SCHEMA", "PostgresSettings", "parse_postgres_url"]

DEFAULT_SCHEMA = "statekeeper"
#: libpq's keepalive parameters, in the order of :data:`POOL_KEEPALIVES`
KEEPALIVE_NAMES = ("keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count")
#: what a pooled connection uses where the URL says nothing: idle 30 s, then every 10 s, 3 times
POOL_KEEPALIVES = (1, 30, 10, 3)
#: the listening and leading connection: a lost leader is noticed, on both sides, in ~25 s
LONG_LIVED_KEEPALIVES = (1, 10, 5, 3)
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


@dataclass(frozen=True, slots=True)
class PostgresSettings:
    """A parsed ``postgresql://`` URL (build it with :func:`parse_postgres_url`)."""

    conninfo: str  # the URL less statekeeper's options: what libpq is given
    display: str  # the URL for messages and logs: password masked, options left out
    schema: str = DEFAULT_SCHEMA
    pool_min: int = 1
    pool_max: int = 10
    pool_timeout: float = 30.0
    connect_timeout: int = 10
    allow_foreign_tables: bool = False
    libpq_options: str = ""  # the URL's own ``options=`` (server settings), kept
    #: the keepalive parameters the URL gives (by name), which win over the defaults
    keepalives: tuple[tuple[str, int], ...] = ()

    def connect_kwargs(self, *, long_lived: bool = False) -> dict[str, Any]:
        """Keyword arguments for ``psycopg.connect`` on top of :attr:`conninfo`.

        ``long_lived``: the connection stays open and mostly idle for the process's life (it
        listens, and may hold the leader's lock): shorter keepalives, mirrored on the server.
        """
        defaults = LONG_LIVED_KEEPALIVES if long_lived else POOL_KEEPALIVES
        keep = {**dict(zip(KEEPALIVE_NAMES, defaults, strict=True)), **dict(self.keepalives)}
        options = f"{self.libpq_options} -c search_path={self.schema}".strip()
        if long_lived and keep["keepalives"]:
            server = " ".join(f"-c tcp_{name}={keep[name]}" for name in KEEPALIVE_NAMES[1:])
            options = f"{server} {options}"  # before the URL's options=, which win
        return {"options": options, "connect_timeout": self.connect_timeout, **keep}


def _mask(netloc: str) -> str:
    """``user:***@host``: a password never reaches a message."""
    userinfo, at, hosts = netloc.rpartition("@")
    if not at:
        return netloc
    user, colon, _ = userinfo.partition(":")
    return f"{user}{':***' if colon else ''}@{hosts}"


def _whole(display: str, name: str, text: str, low: int) -> int:
    """An option that counts something: a whole number >= ``low``."""
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if value < low:
        raise InvalidStoreURL(f"{display}: {name}={text!r}; write a whole number >= {low}")
    return value


def _seconds(display: str, name: str, text: str) -> float:
    """An option that is a time: a finite number of seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise InvalidStoreURL(f"{display}: {name}={text!r}; write a number of seconds > 0, "
                              f"such as {name}=5")
    return value


def parse_postgres_url(url: str) -> PostgresSettings:
    """The settings a ``postgresql://`` (or ``postgres://``) URL states.

    Raises:
        InvalidStoreURL: a statekeeper option with a bad value, a schema name that is not a
            lowercase identifier, a parameter libpq does not know, or a malformed URL.

    """
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # "Invalid IPv6 URL": a [ without its ]
        raise InvalidStoreURL(f"{url.partition('://')[0]}:// URL cannot be read ({exc}); write "
                              f"postgresql://user@host:port/database?schema=name") from None
    display = urlunsplit((parts.scheme, _mask(parts.netloc), parts.path, "", ""))
    bad = next((c for c in url if c == "\x00" or "\ud800" <= c <= "\udfff"), None)
    if bad is not None:
        raise InvalidStoreURL(f"{display!a}: the URL holds {bad!r}, which no connection "
                              f"string can carry; remove it (percent-encode what you meant)")
    if parts.scheme.lower() not in ("postgresql", "postgres"):
        raise InvalidStoreURL(f"{display}: not a postgresql:// URL")
    own: dict[str, str] = {}
    rest: list[tuple[str, str]] = []
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name in ("schema", "pool_min", "pool_max", "pool_timeout", "allow_foreign_tables",
                    "connect_timeout", "options"):
            own[name] = value
        else:
            rest.append((name, value))
    conninfo = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(rest),
                           parts.fragment))
    try:
        given = conninfo_to_dict(conninfo)  # libpq's own parser: an unknown parameter fails
    except ProgrammingError as exc:
        raise InvalidStoreURL(f"{display}: {str(exc).strip()} (statekeeper's own options are "
                              f"schema, pool_min, pool_max, pool_timeout and "
                              f"allow_foreign_tables; the rest are libpq's)") from None
    except UnicodeDecodeError:  # a %-escape that is not UTF-8 (%80), in the host or a value
        raise InvalidStoreURL(f"{display}: a %-escape in it is not UTF-8 text; escape the "
                              "UTF-8 bytes of each character (%C3%A9 for é)") from None
    schema = own.get("schema", DEFAULT_SCHEMA)
    if not _SCHEMA.match(schema) or schema.startswith("pg_"):
        raise InvalidStoreURL(
            f"{display}: schema={schema!r} is not a schema name statekeeper takes; write a "
            f"lowercase identifier (letters a-z, digits and _, not starting with a digit nor "
            f"with pg_, at most 63 characters), such as schema=statekeeper")
    allow = own.get("allow_foreign_tables", "0").lower()
    if allow not in _TRUE | _FALSE:
        raise InvalidStoreURL(f"{display}: allow_foreign_tables="
                              f"{own['allow_foreign_tables']!r}; write 1 or 0")
    keepalives = tuple((name, _whole(display, name, str(given[name]), 0))
                       for name in KEEPALIVE_NAMES if name in given)
    pool_min = _whole(display, "pool_min", own.get("pool_min", "1"), 0)
    pool_max = _whole(display, "pool_max", own.get("pool_max", "10"), 1)
    if pool_min > pool_max:
        raise InvalidStoreURL(f"{display}: pool_min={pool_min} is more than "
                              f"pool_max={pool_max}; the pool cannot keep more than it may open")
    return PostgresSettings(
        conninfo=conninfo, display=display, schema=schema, pool_min=pool_min,
        pool_max=pool_max,
        pool_timeout=_seconds(display, "pool_timeout", own.get("pool_timeout", "30")),
        connect_timeout=_whole(display, "connect_timeout", own.get("connect_timeout", "10"), 1),
        allow_foreign_tables=allow in _TRUE, libpq_options=own.get("options", ""),
        keepalives=keepalives)
