"""YAML for chart documents, with PyYAML imported only when YAML is actually used.

PyYAML is the optional ``yaml`` extra: ``import statekeeper`` must work without it.  Charts
are read with YAML 1.2 scalars instead of PyYAML's YAML 1.1 defaults, because YAML 1.1 turns
the most common key of a chart, ``on``, into the boolean ``True`` (and ``yes``/``no``/``off``
event names too), reads ``1:30`` as the number 90 and dates as ``date`` objects.  Under the
1.2 rules only ``true``/``false`` are booleans, and everything a chart holds is JSON data.
Duplicate keys, which PyYAML silently lets the last one win, are an error naming the line.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from statekeeper.core.errors import StatekeeperError

from ._dictform_common import ChartFormatError

__all__ = ["YamlNotInstalled", "dump_yaml", "load_yaml"]

INSTALL_HINT = "pip install statekeeper[yaml]"

# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution).
_RESOLVERS = (
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", list("-+0123456789")),
    ("tag:yaml.org,2002:float",
     r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
     r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", list("-+.0123456789")),
)
_BREAKS = frozenset("\x85\u2028\u2029")
_REPLACED = frozenset({tag for tag, _, _ in _RESOLVERS} | {"tag:yaml.org,2002:timestamp"})


class YamlNotInstalled(ImportError, StatekeeperError):
    """YAML was asked for, but PyYAML (the optional ``yaml`` extra) is not installed."""

    def __init__(self) -> None:
        super().__init__(f"reading or writing YAML needs PyYAML; install it with: {INSTALL_HINT}")


def _require_yaml() -> None:
    try:
        import yaml  # noqa: F401
    except ImportError:
        raise YamlNotInstalled() from None


@functools.cache
def _classes() -> tuple[type[Any], type[Any]]:
    """Build the loader and dumper classes (they subclass PyYAML's, so only on first use)."""
    _require_yaml()
    import yaml

    class Loader(yaml.SafeLoader):
        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: set[tuple[str, str]] = set()
            for key_node, _ in node.value:
                key = (key_node.tag, str(key_node.value))
                if key in seen and key_node.tag != "tag:yaml.org,2002:merge":
                    line = key_node.start_mark.line + 1
                    raise ChartFormatError(f"YAML line {line}: duplicate key {key_node.value!r}")
                seen.add(key)
            return super().construct_mapping(node, deep)

    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True  # a chart document is a tree: never write &anchors

    def construct_int(loader: Any, node: Any) -> int:
        # YAML 1.2: "010" is ten (PyYAML's YAML 1.1 constructor reads it as octal 8).
        text = str(loader.construct_scalar(node))
        if text.startswith(("0o", "0x")):
            return int(text, 0)
        return int(text, 10)

    def represent_str(dumper: Any, text: str) -> Any:
        # PyYAML writes NEL/LS/PS raw inside plain or single-quoted scalars when unicode is
        # allowed, and reads them back folded into spaces; double quotes escape them.
        style = '"' if any(char in _BREAKS for char in text) else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)

    Loader.add_constructor("tag:yaml.org,2002:int", construct_int)
    Dumper.add_representer(str, represent_str)
    for cls in (Loader, Dumper):
        cls.yaml_implicit_resolvers = {
            key: [(tag, regexp) for tag, regexp in resolvers if tag not in _REPLACED]
            for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
        }
        for tag, pattern, first in _RESOLVERS:
            cls.add_implicit_resolver(tag, re.compile(pattern), first)
    return Loader, Dumper


def load_yaml(text: str) -> Any:
    """Parse YAML text with YAML 1.2 scalars.

    Raises:
        YamlNotInstalled: PyYAML is missing.
        ChartFormatError: the text is not valid YAML, or a mapping repeats a key.

    """
    loader, _ = _classes()
    import yaml

    try:
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        raise ChartFormatError(f"not valid YAML: {exc}") from None


def dump_yaml(doc: Any) -> str:
    """Write ``doc`` (plain data) as block-style YAML, keys in their given order."""
    _, dumper = _classes()
    import yaml

    text: str = yaml.dump(doc, Dumper=dumper, sort_keys=False, allow_unicode=True,
                          default_flow_style=False, width=100)
    return text
