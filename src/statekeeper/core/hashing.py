"""A stable structure hash of a chart definition.

Two charts with the same states, transitions, actions and names of bound behaviour hash the
same, whatever process built them; a snapshot records the hash so it is never loaded into a
chart it was not taken from.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

__all__ = ["canonical", "structure_hash"]


def canonical(value: Any) -> Any:
    """Reduce dataclasses, mappings and sequences to JSON-able data with a stable order."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {"__type__": type(value).__name__}
        for field in dataclasses.fields(value):
            if field.metadata.get("hash") == "omit":
                continue  # operational metadata (a state's stuck_after), not structure
            item = getattr(value, field.name)
            if field.metadata.get("hash") == "omit_default" and (
                    item == field.default or item in field.metadata.get("hash_as_default", ())):
                # an option added later: charts that do not use it keep their hash (and a
                # value that was once the default hashes as the default still does)
                continue
            out[field.name] = canonical(item)
        return out
    if isinstance(value, Mapping):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, ET.Element):
        # Inline XML content (SCXML <content>): hash its text; its repr holds an address.
        return {"__xml__": ET.tostring(value, encoding="unicode")}
    if isinstance(value, timedelta):
        return {"__seconds__": value.total_seconds()}
    if isinstance(value, (set, frozenset)):
        return sorted((canonical(v) for v in value), key=repr)
    text = repr(value)
    if " at 0x" in text:
        raise TypeError(f"cannot hash {type(value).__name__} in a chart: its repr {text!r} "
                        "differs between processes; reference it by name instead")
    return text


def structure_hash(chart: Any) -> str:
    """Return the sha256 hex digest of the chart's canonical form."""
    text = json.dumps(canonical(chart), sort_keys=True, separators=(",", ":"), default=repr)
    return hashlib.sha256(text.encode()).hexdigest()
