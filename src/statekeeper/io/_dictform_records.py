"""Actions and the small records (params, content, data items, invokes) in the dict form.

These are frozen dataclasses, and their dict form is the dataclass itself: the keys are the
builder's argument names, a key that is left out takes the builder's default.  So the
reader and the writer are generic over :func:`dataclasses.fields`, and a field added to an
action is carried by the dict form without a change here (unless it needs a new kind of value).

An action is a mapping with one key, its kind: ``{"assign": {"location": "x", "value": 1}}``.
Actions with one main field may give it as plain text: ``{"raise": "done"}``,
``{"effect": "charge"}``, ``{"call": "count_attempt"}``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from statekeeper.core.actions import (
    MISSING,
    Action,
    Assign,
    Call,
    Cancel,
    Content,
    Effect,
    Foreach,
    If,
    Log,
    Param,
    Raise,
    Script,
    Send,
)
from statekeeper.core.model import Chart
from statekeeper.core.validate import did_you_mean

from ._dictform_common import At, duration_text, json_value, mapping, no_code, type_name

__all__ = [
    "ACTION_KINDS",
    "read_action",
    "read_actions",
    "read_blocks",
    "read_content",
    "read_record",
    "write_action",
    "write_actions",
    "write_record",
]

ACTION_KINDS: dict[str, type[Any]] = {
    "assign": Assign,
    "raise": Raise,
    "send": Send,
    "cancel": Cancel,
    "log": Log,
    "if": If,
    "foreach": Foreach,
    "script": Script,
    "call": Call,
    "effect": Effect,
}
_KIND_OF = {cls: kind for kind, cls in ACTION_KINDS.items()}
# The field an action's plain-text form sets.
_SHORT: dict[type[Any], str] = {
    Raise: "event", Send: "event", Cancel: "sendid", Log: "label",
    Script: "source", Call: "fn", Effect: "name",
}
_LITERALS = frozenset({"value", "data", "args"})
_ACTION_LISTS = frozenset({"actions", "finalize"})


# --------------------------------------------------------------------------- reading


def read_action(value: Any, at: At) -> Action:
    """Read one action mapping, such as ``{"raise": "done"}``."""
    if not isinstance(value, Mapping):
        raise at.error(f"expected an action (a mapping like {{'raise': 'done'}}), "
                       f"got {type_name(value)}")
    if len(value) != 1:
        kinds = ", ".join(k for k in ACTION_KINDS if k != "script")
        raise at.error(f"an action is a mapping with exactly one key, its kind "
                       f"({kinds}); got keys {sorted(map(str, value))}")
    ((kind, body),) = value.items()
    cls = ACTION_KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        known = ", ".join(k for k in ACTION_KINDS if k != "script")  # scripts are refused
        raise at.error(f"unknown action {kind!r}{did_you_mean(str(kind), ACTION_KINDS)}; "
                       f"actions are: {known}")
    at = at.at(kind)
    if cls is Script:
        raise no_code(at, "a script action is Python source")
    if cls is If:
        return If(_read_branches(body, at))
    if isinstance(body, str) and cls in _SHORT:
        return cls(**{_SHORT[cls]: body})  # type: ignore[no-any-return]
    return read_record(cls, body, at, f"the body of a {kind!r} action")  # type: ignore[no-any-return]


def read_actions(value: Any, at: At) -> tuple[Action, ...]:
    """Read a list of actions (a single action mapping is read as a list of one)."""
    if value is None:
        return ()
    if isinstance(value, Mapping):
        return (read_action(value, at),)
    if not isinstance(value, (list, tuple)):
        raise at.error(f"expected a list of actions, got {type_name(value)}")
    return tuple(read_action(item, at.at(i)) for i, item in enumerate(value))


def read_blocks(value: Any, at: At) -> tuple[tuple[Action, ...], ...]:
    """Read ``entry``/``exit``: a list of actions (one block) or a list of lists (blocks).

    Separate blocks matter in SCXML: an error stops only the block it happens in.
    """
    if isinstance(value, (list, tuple)) and value:
        nested = [isinstance(item, (list, tuple)) for item in value]
        if all(nested):
            return tuple(read_actions(block, at.at(i)) for i, block in enumerate(value))
        if any(nested):
            raise at.error("mixes actions and lists of actions; use one or the other")
    actions = read_actions(value, at)
    return (actions,) if actions else ()


def _read_branches(value: Any, at: At) -> tuple[tuple[str | None, tuple[Action, ...]], ...]:
    if not isinstance(value, (list, tuple)):
        raise at.error("expected a list of branches like [{'cond': 'ok', 'actions': [...]}, "
                       "{'actions': [...]}]")
    branches = []
    for i, item in enumerate(value):
        where = at.at(i)
        branch = mapping(item, where, ("cond", "actions"), "a branch")
        cond = _read_field("cond", branch.get("cond"), where.at("cond"), required=False)
        branches.append((cond, read_actions(branch.get("actions"), where.at("actions"))))
    return tuple(branches)


def read_record(cls: type[Any], value: Any, at: At, what: str) -> Any:
    """Read a dataclass record whose keys are the dataclass's field names."""
    fields = dataclasses.fields(cls)
    body = mapping(value, at, [f.name for f in fields], what)
    kwargs: dict[str, Any] = {}
    for f in fields:
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if f.name in body:
            kwargs[f.name] = _read_field(f.name, body[f.name], at.at(f.name), required)
        elif required:
            raise at.error(f"missing key {f.name!r}")
    return cls(**kwargs)


def read_content(value: Any, at: At) -> Content | None:
    """Read a ``content`` mapping: ``{"expr": name}``, ``{"value": data}`` or ``{"chart": ...}``."""
    if value is None:
        return None
    body = mapping(value, at, ("expr", "value", "chart"), "content")
    if "chart" not in body:
        return read_record(Content, body, at, "content")  # type: ignore[no-any-return]
    if "value" in body:
        raise at.error("content has both 'value' and 'chart'; give one")
    from ._dictform_read import read_chart  # here: the chart reader imports this module

    expr = _read_field("expr", body.get("expr"), at.at("expr"), required=False)
    return Content(expr=expr, value=read_chart(body["chart"], At(at.at("chart").path)))


def _read_field(name: str, value: Any, at: At, required: bool) -> Any:
    if name in _LITERALS:
        if name == "args" and not isinstance(value, Mapping):
            raise at.error(f"expected a mapping of arguments, got {type_name(value)}")
        return json_value(value, at)
    if name in _ACTION_LISTS:
        return read_actions(value, at)
    if name == "params":
        if not isinstance(value, (list, tuple)):
            raise at.error(f"expected a list of params, got {type_name(value)}")
        return tuple(read_record(Param, p, at.at(i), "a param") for i, p in enumerate(value))
    if name == "content":
        return read_content(value, at)
    if name == "namelist":
        if isinstance(value, str):
            return tuple(value.split())
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise at.error(f"expected a list of data locations, got {type_name(value)}")
    if name == "delay":
        if value is None or (isinstance(value, (str, int, float)) and not isinstance(value, bool)):
            return value
        raise at.error(f"expected a duration such as '5m' or a number of seconds, "
                       f"got {type_name(value)}")
    if name == "retry":
        if not isinstance(value, Mapping):
            raise at.error(f"expected a mapping of retry settings (max_attempts, base_delay, "
                           f"...), got {type_name(value)}")
        return json_value(value, at)
    if name == "timeout":
        return _read_field("delay", value, at, required)
    if name == "bulkhead":
        if isinstance(value, bool) or not isinstance(value, int):
            raise at.error(f"expected a whole number of concurrent calls, got {type_name(value)}")
        return value
    if name == "rate":
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise at.error(f"expected a rate such as '10/s', got {type_name(value)}")
        return value
    if name == "autoforward":
        if not isinstance(value, bool):
            raise at.error(f"expected true or false, got {type_name(value)}")
        return value
    if isinstance(value, str) or (value is None and not required):
        return value
    raise at.error(f"expected a string, got {type_name(value)}")


# --------------------------------------------------------------------------- writing


def write_action(action: Action, at: At) -> dict[str, Any]:
    """Write one action as ``{kind: body}``, in plain-text form where it has one."""
    kind = _KIND_OF.get(type(action))
    if kind is None:
        raise at.error(f"{action!r} is not an action")
    where = at.at(kind)
    if isinstance(action, Script):
        raise no_code(where, "a script action is Python source")
    if isinstance(action, If):
        return {kind: [_write_branch(cond, body, where.at(i))
                       for i, (cond, body) in enumerate(action.branches)]}
    body = write_record(action, where)
    short = _SHORT.get(type(action))
    if short is not None and list(body) == [short] and isinstance(body[short], str):
        return {kind: body[short]}
    return {kind: body}


def write_actions(actions: tuple[Action, ...], at: At) -> list[dict[str, Any]]:
    """Write a block of actions as a list."""
    return [write_action(action, at.at(i)) for i, action in enumerate(actions)]


def _write_branch(cond: str | None, body: tuple[Action, ...], at: At) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if cond is not None:
        out["cond"] = _write_field("cond", cond, at.at("cond"))
    out["actions"] = write_actions(tuple(body), at.at("actions"))
    return out


def write_record(record: Any, at: At) -> dict[str, Any]:
    """Write a dataclass record, leaving out every field that has its default value."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        if not _is_default(f, value):
            out[f.name] = _write_field(f.name, value, at.at(f.name))
    return out


def _is_default(f: dataclasses.Field[Any], value: Any) -> bool:
    if value is MISSING:
        return True
    if f.default is not dataclasses.MISSING:
        return type(value) is type(f.default) and bool(value == f.default)
    if f.default_factory is not dataclasses.MISSING:
        return isinstance(value, Mapping) and not value
    return False


def _write_field(name: str, value: Any, at: At) -> Any:
    if name in _LITERALS:
        return json_value(value, at)
    if name == "retry":
        to_dict = getattr(value, "to_dict", None)
        return json_value(to_dict() if callable(to_dict) else value, at)
    if name in _ACTION_LISTS:
        return write_actions(tuple(value), at)
    if name == "params":
        return [write_record(p, at.at(i)) for i, p in enumerate(value)]
    if name == "content":
        return _write_content(value, at)
    if name == "namelist":
        return [_write_field("location", v, at.at(i)) for i, v in enumerate(value)]
    if name in ("delay", "timeout"):
        return duration_text(value)
    if value is None or isinstance(value, (str, bool)):
        return value
    if name in ("bulkhead", "rate") and isinstance(value, (int, float)):
        return value
    raise at.error(f"expected a string, got {type_name(value)}")


def _write_content(content: Content | None, at: At) -> dict[str, Any] | None:
    if content is None:
        return None
    if not isinstance(content.value, Chart):
        return write_record(content, at)
    from ._dictform_write import write_chart  # here: the chart writer imports this module

    out: dict[str, Any] = {}
    if content.expr is not None:
        out["expr"] = content.expr
    out["chart"] = write_chart(content.value, At(at.at("chart").path))
    return out
