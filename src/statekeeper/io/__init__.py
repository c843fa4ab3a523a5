"""Charts in and out of files: the dict/JSON/YAML form, SCXML, and Mermaid/DOT diagrams.

Everything here is pure text processing over :mod:`statekeeper.core`; nothing evaluates a
chart's expressions.  PyYAML is imported only when YAML is read or written.  The SCXML reader
lives in :mod:`statekeeper.io.scxml`.
"""

from .diagram import to_dot, to_mermaid
from .dictform import (
    ChartFormatError,
    YamlNotInstalled,
    chart_from_dict,
    chart_from_json,
    chart_from_yaml,
    chart_to_dict,
    chart_to_json,
    chart_to_yaml,
    load_chart,
)
from .names import BoundNames, referenced_names

__all__ = [
    "BoundNames",
    "ChartFormatError",
    "YamlNotInstalled",
    "chart_from_dict",
    "chart_from_json",
    "chart_from_yaml",
    "chart_to_dict",
    "chart_to_json",
    "chart_to_yaml",
    "load_chart",
    "referenced_names",
    "to_dot",
    "to_mermaid",
]
