"""``postgresql://`` URLs: statekeeper's options taken out, libpq's passed on, bad ones named."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

psycopg = pytest.importorskip("psycopg", reason="PostgreSQL tests need the postgres extra")

from statekeeper.storage import InvalidStoreURL  # noqa: E402
from statekeeper.storage.postgres import DEFAULT_SCHEMA, parse_postgres_url  # noqa: E402


def test_defaults() -> None:
    s = parse_postgres_url("postgresql://127.0.0.1:5432/test")
    assert (s.schema, s.pool_min, s.pool_max, s.pool_timeout, s.connect_timeout,
            s.allow_foreign_tables) == (DEFAULT_SCHEMA, 1, 10, 30.0, 10, False)
    assert s.connect_kwargs() == {"options": "-c search_path=statekeeper", "connect_timeout": 10,
                                  "keepalives": 1, "keepalives_idle": 30,
                                  "keepalives_interval": 10, "keepalives_count": 3}


def test_statekeeper_options_are_taken_out_and_libpq_ones_kept() -> None:
    s = parse_postgres_url("postgres://app:s3cret@db1:6432/orders?schema=shop&pool_min=2"
                           "&pool_max=8&pool_timeout=2.5&connect_timeout=3&sslmode=disable"
                           "&allow_foreign_tables=yes&options=-c%20work_mem%3D8MB")
    assert (s.schema, s.pool_min, s.pool_max, s.pool_timeout, s.connect_timeout,
            s.allow_foreign_tables) == ("shop", 2, 8, 2.5, 3, True)
    assert s.conninfo == "postgres://app:s3cret@db1:6432/orders?sslmode=disable"
    assert s.connect_kwargs()["options"] == "-c work_mem=8MB -c search_path=shop"
    assert s.display == "postgres://app:***@db1:6432/orders"


@pytest.mark.parametrize(("query", "said"), [
    ("schema=Shop", "schema='Shop'"),
    ("schema=pg_temp", "schema='pg_temp'"),
    ("schema=a;drop", "lowercase identifier"),
    ("schema=" + "a" * 64, "at most 63"),
    ("pool_max=0", "pool_max='0'; write a whole number >= 1"),
    ("pool_min=-1", "pool_min='-1'"),
    ("pool_min=5&pool_max=2", "pool_min=5 is more than pool_max=2"),
    ("pool_timeout=nan", "pool_timeout='nan'; write a number of seconds > 0"),
    ("pool_timeout=0", "pool_timeout='0'"),
    ("connect_timeout=soon", "connect_timeout='soon'"),
    ("allow_foreign_tables=maybe", "write 1 or 0"),
    ("sslmod=disable", 'invalid URI query parameter: "sslmod"'),
])
def test_bad_options_are_named(query: str, said: str) -> None:
    with pytest.raises(InvalidStoreURL, match=None) as info:
        parse_postgres_url(f"postgresql://u:hunter2@127.0.0.1/test?{query}")
    assert said in str(info.value)
    assert "hunter2" not in str(info.value)
    assert "postgresql://u:***@127.0.0.1/test" in str(info.value)


_URL_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=()), max_size=40) | \
    st.text(alphabet="%@:/?&=[]._-#a10 \x00\udc80", max_size=40)


@settings(max_examples=300, deadline=None)
@given(scheme=st.sampled_from(["postgresql://", "postgres://"]), rest=_URL_TEXT)
def test_any_url_parses_or_is_refused_by_name(scheme: str, rest: str) -> None:
    """Whatever follows the scheme: settings, or InvalidStoreURL; never a raw exception."""
    try:
        parsed = parse_postgres_url(scheme + rest)
    except InvalidStoreURL as exc:
        assert str(exc)
    else:
        assert parsed.schema and parsed.conninfo.startswith(scheme)


def test_a_percent_escape_that_is_not_utf8_is_refused_by_name() -> None:
    """Found by the fuzz above: psycopg's parser raised a raw UnicodeDecodeError."""
    from statekeeper.storage.urls import InvalidStoreURL, open_store

    with pytest.raises(InvalidStoreURL, match="not UTF-8"):
        open_store("postgresql://%80")
