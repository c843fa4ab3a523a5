"""YAML for chart documents, with PyYAML imported only when YAML is actually used.

PyYAML is the optional ``yaml`` extra: ``import statekeeper`` must work without it.  Charts
are read with YAML 1.2 scalars instead of PyYAML's YAML 1.1 defaults, because YAML 1.1 turns
the most common key of a chart, ``on``, into the boolean ``True`` (and ``yes``/``no``/``off``
event names too), reads ``1:30`` as the number 90 and dates as ``date`` objects.  Under the
1.2 rules only ``true``/``false`` are booleans, and everything a chart holds is JSON data.
Duplicate keys, which PyYAML silently lets the last one win, are an error naming the line.

Aliases are checked as the parser produces them, before any Python object is built: a few
hundred bytes of nested aliases ("billion laughs") would otherwise expand to gigabytes.  Each
alias counts with everything it expands to (``max_yaml_aliases``), the document with its
aliases written out must fit ``max_document_bytes``, nesting (through aliases too) must fit
``max_depth``, and an alias inside its own anchor (a structure that holds itself) is refused.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from statekeeper.core.errors import LimitExceeded, StatekeeperError
from statekeeper.core.limits import DEFAULT_LIMITS, Limits

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
        guard: _AliasGuard | None = None

        def get_event(self) -> Any:
            event = super().get_event()  # type: ignore[no-untyped-call]
            if self.guard is not None:
                self.guard.see(event)
            return event

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
        try:
            if text.startswith(("0o", "0x")):
                return int(text, 0)
            return int(text, 10)
        except ValueError:  # more digits than Python converts (4,300 by default)
            raise ChartFormatError(f"YAML line {node.start_mark.line + 1}: a number of "
                                   f"{len(text):,} digits is too large for a chart document; "
                                   "write a smaller number or a string") from None

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


def load_yaml(text: str, limits: Limits = DEFAULT_LIMITS) -> Any:
    """Parse YAML text with YAML 1.2 scalars, checking aliases and depth as it is parsed.

    Raises:
        YamlNotInstalled: PyYAML is missing.
        ChartFormatError: the text is not valid YAML, a mapping repeats a key, or an alias
            refers to its own anchor.
        LimitExceeded: the aliases expand too much, or the document nests too deep.

    """
    loader_class, _ = _classes()
    import yaml

    loader = None
    try:
        loader = loader_class(text)  # its reader checks the characters here already
        loader.guard = _AliasGuard(limits, len(text))
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise ChartFormatError(f"not valid YAML: {exc}") from None
    finally:
        if loader is not None:
            loader.dispose()


@dataclass(slots=True)
class _Node:
    """What a collection (or an anchor) costs when its aliases are expanded."""

    anchor: str | None = None
    start: int = 0
    height: int = 0  #: nesting levels inside, aliases expanded
    aliases: int = 0  #: alias references inside, counted expanded
    extra: int = 0  #: characters the expansions of aliases inside add


def _index(mark: Any) -> int:
    """The character offset of a parser mark (events from the parser always carry one)."""
    return int(mark.index) if mark is not None else 0


class _AliasGuard:
    """Follows the parser's events and refuses expansion, depth and recursion over the limits.

    Only counters are kept per anchor, so the check costs a constant per event, whatever the
    aliases would expand to.
    """

    def __init__(self, limits: Limits, size: int) -> None:
        self.limits = limits
        self.size = size
        self.open: list[_Node] = []
        self.anchors: dict[str, _Node] = {}
        self.total = _Node()

    def see(self, event: Any) -> None:
        import yaml

        if isinstance(event, yaml.AliasEvent):
            self._alias(event)
        elif isinstance(event, yaml.CollectionStartEvent):
            self.open.append(_Node(event.anchor, _index(event.start_mark)))
            if len(self.open) > self.limits.max_depth:
                self._limit("max_depth", event,
                            f"the document nests more than {self.limits.max_depth} levels")
        elif isinstance(event, yaml.CollectionEndEvent) and self.open:
            node = self.open.pop()
            node.height += 1
            if node.anchor is not None:
                self.anchors[node.anchor] = _Node(
                    node.anchor, node.start, node.height, node.aliases,
                    _index(event.end_mark) - node.start + node.extra)
            parent = self.open[-1] if self.open else self.total
            parent.height = max(parent.height, node.height)
            parent.aliases += node.aliases
            parent.extra += node.extra
        elif isinstance(event, yaml.ScalarEvent) and event.anchor is not None:
            self.anchors[event.anchor] = _Node(
                event.anchor, extra=_index(event.end_mark) - _index(event.start_mark))

    def _alias(self, event: Any) -> None:
        if any(node.anchor == event.anchor for node in self.open):
            raise ChartFormatError(
                f"YAML line {event.start_mark.line + 1}: the alias *{event.anchor} refers to "
                f"itself (it is inside its anchor &{event.anchor}); a chart document is a "
                "tree: write the value out")
        target = self.anchors.get(event.anchor)
        if target is None:
            return  # an undefined alias: PyYAML's composer says so
        if len(self.open) + target.height > self.limits.max_depth:
            self._limit("max_depth", event, f"the alias *{event.anchor} nests more than "
                        f"{self.limits.max_depth} levels")
        node = self.open[-1] if self.open else self.total
        node.aliases += 1 + target.aliases
        node.extra += target.extra
        aliases = self.total.aliases + sum(open_node.aliases for open_node in self.open)
        if aliases > self.limits.max_yaml_aliases:
            self._limit("max_yaml_aliases", event, f"{aliases:,} aliases counting what each "
                        "expands to; write the values out or use fewer aliases")
        extra = self.total.extra + sum(open_node.extra for open_node in self.open)
        if self.size + extra > self.limits.max_document_bytes:
            self._limit("max_document_bytes", event, "the document with its aliases written "
                        "out is larger")

    def _limit(self, limit: str, event: Any, detail: str) -> None:
        raise LimitExceeded(limit, getattr(self.limits, limit),
                            f"YAML line {event.start_mark.line + 1}", detail)


def dump_yaml(doc: Any) -> str:
    """Write ``doc`` (plain data) as block-style YAML, keys in their given order."""
    _, dumper = _classes()
    import yaml

    text: str = yaml.dump(doc, Dumper=dumper, sort_keys=False, allow_unicode=True,
                          default_flow_style=False, width=100)
    return text
