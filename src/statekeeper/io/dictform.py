"""Charts as plain data: dicts, JSON and YAML that round-trip exactly.

The dict form is written by people, like the Python builder, and read back into the same
:class:`~statekeeper.Chart` objects, so the structure hash (and with it snapshot
compatibility) does not depend on which form a chart was written in.  The schema is in
``docs/reference/chart-format.md``.

Example:
    >>> chart = chart_from_dict({
    ...     "name": "light", "initial": "off",
    ...     "states": {"off": {"on": {"flip": "on"}}, "on": {"on": {"flip": "off"}}},
    ... })
    >>> [s.id for s in chart.states]
    ['off', 'on']
    >>> chart_to_dict(chart)["states"]["off"]
    {'on': {'flip': 'on'}}

A mistake names its place in the document:

    >>> try:
    ...     chart_from_dict({"name": "x", "states": {"a": {"on": {"go": {"tagret": "a"}}}}})
    ... except ChartFormatError as exc:
    ...     print(exc)
    states.a.on.go: unknown key 'tagret' (did you mean 'target'?)

Nothing is evaluated while reading: a ``cond`` or an ``expr`` is the *name* of a function
bound when the chart is compiled (``compile_chart(chart, guards=..., functions=...)``).
These forms hold names, never code: the ``python`` datamodel and scripts are refused, so no
``trusted`` flag can make such a chart run Python (that is SCXML's alone).  Every reader checks
``Limits`` (document size, depth, states, transitions, YAML aliases) before doing the work;
see docs/security.md.

"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from statekeeper.core._bounds import check_chart_bounds
from statekeeper.core.errors import ChartError
from statekeeper.core.limits import DEFAULT_LIMITS, Limits
from statekeeper.core.model import Chart

from ._dictform_common import At, ChartFormatError
from ._dictform_read import read_chart
from ._dictform_write import write_chart
from ._files import read_limited
from ._guard import check_size, check_text, check_tree, decode, json_depth
from ._yaml import YamlNotInstalled, dump_yaml, load_yaml

__all__ = [
    "CHART_SUFFIXES",
    "ChartFormatError",
    "YamlNotInstalled",
    "chart_from_dict",
    "chart_from_json",
    "chart_from_yaml",
    "chart_to_dict",
    "chart_to_json",
    "chart_to_yaml",
    "load_chart",
]

#: The file suffixes :func:`load_chart` understands.
CHART_SUFFIXES = (".json", ".yaml", ".yml", ".scxml")


def chart_to_dict(chart: Chart) -> dict[str, Any]:
    """Return ``chart`` as a dict of plain data (strings, numbers, booleans, lists, dicts).

    Keys at their default value are left out, so the result is what a person would write.
    ``timedelta`` durations are written as text (``"1h30m"``).

    Raises:
        ChartFormatError: the chart holds something plain data cannot (a literal value that
            is not JSON data, such as a ``set`` or a ``datetime``), or code (the ``python``
            datamodel, a script), which these forms never hold: keep such a chart in SCXML.

    """
    if not isinstance(chart, Chart):
        raise TypeError(f"chart_to_dict() takes a Chart, not {type(chart).__name__}")
    return write_chart(chart, At())


def chart_from_dict(doc: Mapping[str, Any], *, limits: Limits = DEFAULT_LIMITS) -> Chart:
    """Build a :class:`~statekeeper.Chart` from its dict form.

    Args:
        doc: the document (plain data: dicts, lists, strings, numbers, booleans, ``None``).
        limits: bounds on depth, states and transitions (see docs/security.md).

    Raises:
        ChartFormatError: a key is unknown or a value has the wrong type, or the document
            holds code (the ``python`` datamodel, a script); the message starts with the
            key's path (``states.Placed.on.submit: ...``) and ``.state`` names the state.
            Whether targets exist is checked by ``compile_chart``.
        LimitExceeded: the document nests deeper, or has more states or transitions, than
            ``limits`` allow.

    """
    _check_limits(limits)
    check_tree(doc, limits, At())
    chart = read_chart(doc, At())
    check_chart_bounds(chart, limits)
    return chart


def chart_to_json(chart: Chart, *, indent: int | None = 2) -> str:
    """Return ``chart`` as JSON text (keys in document order, not sorted)."""
    return json.dumps(chart_to_dict(chart), indent=indent, ensure_ascii=False) + "\n"


def chart_from_json(text: str | bytes, *, limits: Limits = DEFAULT_LIMITS) -> Chart:
    """Read a chart from JSON text (``bytes`` are UTF-8, or UTF-16/32 with their mark).

    Raises:
        ChartFormatError: the text is not JSON, repeats a key in one object (JSON parsers
            silently keep the last, which would drop a state), or is not a valid chart.
        LimitExceeded: the text is longer, or nests deeper, than ``limits`` allow.

    """
    _check_limits(limits)
    check_size(text, limits, "JSON document")
    if isinstance(text, bytes):
        encoding = json.detect_encoding(text)
        if encoding.startswith("utf-8"):
            text = decode(text, "JSON")
        else:
            try:
                text = text.decode(encoding)
            except UnicodeDecodeError as exc:
                raise ChartFormatError(f"JSON is not {encoding} text: {exc.reason} at byte "
                                       f"{exc.start}; save the file as UTF-8") from None
    if not isinstance(text, str):
        raise TypeError(f"chart_from_json() takes str or bytes, not {type(text).__name__}")
    check_text(text, "JSON")
    json_depth(text, limits)
    try:
        doc = json.loads(text, object_pairs_hook=_unique_keys)
    except ValueError as exc:  # JSONDecodeError, or a number of more than 4,300 digits
        if "integer string conversion" in str(exc):  # Python's int digits limit (4,300)
            raise ChartFormatError(
                "not valid JSON here: a number has more digits than Python reads "
                f"({sys.get_int_max_str_digits():,}); no chart needs one: write it as a "
                "string") from None
        raise ChartFormatError(f"not valid JSON: {exc}") from None
    return chart_from_dict(doc, limits=limits)


def chart_to_yaml(chart: Chart) -> str:
    """Return ``chart`` as YAML text.

    Raises:
        YamlNotInstalled: PyYAML is missing (``pip install statekeeper[yaml]``).

    """
    return dump_yaml(chart_to_dict(chart))


def chart_from_yaml(text: str | bytes, *, limits: Limits = DEFAULT_LIMITS) -> Chart:
    """Read a chart from YAML text (YAML 1.2 scalars: ``on`` is a key, not ``True``).

    Raises:
        YamlNotInstalled: PyYAML is missing (``pip install statekeeper[yaml]``).
        ChartFormatError: the text is not UTF-8 YAML, repeats a key, has an alias inside its
            own anchor, or is not a valid chart.
        LimitExceeded: the text is longer or nests deeper than ``limits`` allow, or its
            aliases expand past ``max_yaml_aliases`` (checked before anything is built).

    """
    _check_limits(limits)
    check_size(text, limits, "YAML document")
    if isinstance(text, bytes):
        text = decode(text, "YAML")
    if not isinstance(text, str):
        raise TypeError(f"chart_from_yaml() takes str or bytes, not {type(text).__name__}")
    return chart_from_dict(load_yaml(text, limits), limits=limits)


def load_chart(path: str | os.PathLike[str], *, trusted: bool = False,
               limits: Limits = DEFAULT_LIMITS, base_dir: str | os.PathLike[str] | None = None,
               loader: Callable[[str], str | bytes] | None = None) -> Chart:
    """Read a chart file, choosing the format by its suffix.

    Args:
        path: a ``.json``, ``.yaml``/``.yml`` or ``.scxml`` file.
        trusted: for SCXML only: keep Python expressions and scripts (they run when the
            chart runs), as :func:`statekeeper.io.scxml.read_scxml` explains.  JSON and YAML
            charts hold names, never code, so trust changes nothing for them.
        limits: bounds on the document (see docs/security.md).
        base_dir: for SCXML only: the folder ``<data src>`` and ``<script src>`` may be
            read from (see :func:`~statekeeper.io.scxml.read_scxml`).
        loader: for SCXML only: reads a ``src`` reference instead of the file system.

    Raises:
        ChartError: the file cannot be read (or is not a regular file), its suffix is
            unknown, or its chart is invalid.
        LimitExceeded: the file or its chart is bigger than ``limits`` allow.
        YamlNotInstalled: a YAML file, and PyYAML is missing.

    """
    _check_limits(limits)
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix not in CHART_SUFFIXES:
        raise ChartError(f"cannot tell the format of {str(file)!r}: the file name must end "
                         f"in {', '.join(CHART_SUFFIXES)}")
    if suffix == ".scxml":
        from .scxml import read_scxml  # the SCXML reader is only loaded when it is needed

        return read_scxml(file, trusted=trusted, limits=limits, base_dir=base_dir,
                          loader=loader)
    data = read_limited(file, limits.max_document_bytes, f"chart file {str(file)!r}")
    return (chart_from_json(data, limits=limits) if suffix == ".json"
            else chart_from_yaml(data, limits=limits))


def _check_limits(limits: Limits) -> None:
    if not isinstance(limits, Limits):
        raise TypeError(f"limits= takes a statekeeper.Limits, not {type(limits).__name__}")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ChartFormatError(f"JSON: duplicate key {key!r} in one object")
        out[key] = value
    return out
