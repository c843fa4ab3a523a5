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

"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from statekeeper.core.errors import ChartError
from statekeeper.core.model import Chart

from ._dictform_common import At, ChartFormatError
from ._dictform_read import read_chart
from ._dictform_write import write_chart
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
            is not JSON data, such as a ``set`` or a ``datetime``).

    """
    if not isinstance(chart, Chart):
        raise TypeError(f"chart_to_dict() takes a Chart, not {type(chart).__name__}")
    return write_chart(chart, At())


def chart_from_dict(doc: Mapping[str, Any]) -> Chart:
    """Build a :class:`~statekeeper.Chart` from its dict form.

    Raises:
        ChartFormatError: a key is unknown or a value has the wrong type; the message starts
            with the key's path (``states.Placed.on.submit: ...``) and ``.state`` names the
            state.  Whether targets exist is checked by ``compile_chart``.

    """
    return read_chart(doc, At())


def chart_to_json(chart: Chart, *, indent: int | None = 2) -> str:
    """Return ``chart`` as JSON text (keys in document order, not sorted)."""
    return json.dumps(chart_to_dict(chart), indent=indent, ensure_ascii=False) + "\n"


def chart_from_json(text: str | bytes) -> Chart:
    """Read a chart from JSON text.

    Raises:
        ChartFormatError: the text is not JSON, repeats a key in one object (JSON parsers
            silently keep the last, which would drop a state), or is not a valid chart.

    """
    try:
        doc = json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise ChartFormatError(f"not valid JSON: {exc}") from None
    return chart_from_dict(doc)


def chart_to_yaml(chart: Chart) -> str:
    """Return ``chart`` as YAML text.

    Raises:
        YamlNotInstalled: PyYAML is missing (``pip install statekeeper[yaml]``).

    """
    return dump_yaml(chart_to_dict(chart))


def chart_from_yaml(text: str | bytes) -> Chart:
    """Read a chart from YAML text (YAML 1.2 scalars: ``on`` is a key, not ``True``).

    Raises:
        YamlNotInstalled: PyYAML is missing (``pip install statekeeper[yaml]``).
        ChartFormatError: the text is not YAML, repeats a key, or is not a valid chart.

    """
    if isinstance(text, bytes):
        text = text.decode("utf-8-sig")
    return chart_from_dict(load_yaml(text))


def load_chart(path: str | os.PathLike[str], *, trusted: bool = False) -> Chart:
    """Read a chart file, choosing the format by its suffix.

    Args:
        path: a ``.json``, ``.yaml``/``.yml`` or ``.scxml`` file.
        trusted: for SCXML only: keep Python expressions and scripts (they run when the
            chart runs), as :func:`statekeeper.io.scxml.read_scxml` explains.  JSON and YAML
            charts hold names, never code, so they need no trust.

    Raises:
        ChartError: the file cannot be read, its suffix is unknown, or its chart is invalid.
        YamlNotInstalled: a YAML file, and PyYAML is missing.

    """
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix not in CHART_SUFFIXES:
        raise ChartError(f"cannot tell the format of {str(file)!r}: the file name must end "
                         f"in {', '.join(CHART_SUFFIXES)}")
    if suffix == ".scxml":
        from .scxml import read_scxml  # the SCXML reader is only loaded when it is needed

        if not file.is_file():
            raise ChartError(f"cannot read chart file {str(file)!r}: no such file")
        return read_scxml(file, trusted=trusted)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise ChartError(f"cannot read chart file {str(file)!r}: {exc.strerror}") from None
    return chart_from_json(data) if suffix == ".json" else chart_from_yaml(data)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ChartFormatError(f"JSON: duplicate key {key!r} in one object")
        out[key] = value
    return out
