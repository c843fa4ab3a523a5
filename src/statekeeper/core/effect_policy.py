"""Checking and normalising the policy an :class:`~statekeeper.core.actions.Effect` declares.

The core never applies these policies (the step is pure); it checks them when the chart is
compiled, so a typo fails at definition time naming the state, and hands the runtime one plain,
JSON-able dict per effect name (``CompiledChart.effect_policies``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .actions import Effect
from .durations import parse_duration
from .errors import ChartError
from .validate import did_you_mean

__all__ = ["RETRY_KEYS", "effect_policy"]

#: The keys of a retry policy's mapping form (the arguments of ``statekeeper.resilience.Retry``).
RETRY_KEYS = ("max_attempts", "base_delay", "max_delay", "multiplier", "jitter", "retry_on",
              "fatal")


def effect_policy(effect: Effect, where: str | None) -> dict[str, Any]:
    """The effect's policy as plain data (empty when it declares none).

    Raises:
        ChartError: a policy field has the wrong type or an unknown key, naming the state.

    """
    policy: dict[str, Any] = {}
    if effect.retry is not None:
        policy["retry"] = _retry(effect, where)
    for key, value, zero in (("timeout", effect.timeout, "fails every attempt"),
                             ("deadline", effect.deadline, "leaves no time")):
        if value is not None:
            try:
                policy[key] = parse_duration(value)
            except ValueError as exc:
                raise ChartError(f"effect {effect.name!r}: {key}: {exc}", where) from None
            if policy[key] == 0:
                raise ChartError(f"effect {effect.name!r}: a {key} of 0 {zero}", where)
    if effect.breaker is not None:
        if not isinstance(effect.breaker, str) or not effect.breaker:
            raise ChartError(f"effect {effect.name!r}: breaker must be a breaker's name", where)
        policy["breaker"] = effect.breaker
    if effect.bulkhead is not None:
        if isinstance(effect.bulkhead, bool) or not isinstance(effect.bulkhead, int) \
                or effect.bulkhead < 1:
            raise ChartError(f"effect {effect.name!r}: bulkhead must be a whole number >= 1, "
                             f"not {effect.bulkhead!r}", where)
        policy["bulkhead"] = effect.bulkhead
    if effect.rate is not None:
        if isinstance(effect.rate, bool) or not isinstance(effect.rate, (str, int, float)) \
                or (not isinstance(effect.rate, str) and effect.rate <= 0):
            raise ChartError(f"effect {effect.name!r}: rate must be like '10/s' or a positive "
                             f"number per second, not {effect.rate!r}", where)
        policy["rate"] = effect.rate
    return policy


def _retry(effect: Effect, where: str | None) -> dict[str, Any]:
    retry = effect.retry
    if not isinstance(retry, Mapping):
        to_dict = getattr(retry, "to_dict", None)
        if not callable(to_dict):
            raise ChartError(f"effect {effect.name!r}: retry must be a Retry or a mapping of its "
                             f"arguments, not {type(retry).__name__}", where)
        retry = to_dict()
    unknown = [k for k in retry if k not in RETRY_KEYS]
    if unknown:
        raise ChartError(f"effect {effect.name!r}: unknown retry setting {unknown[0]!r}"
                         f"{did_you_mean(str(unknown[0]), RETRY_KEYS)}", where)
    out = dict(retry)
    for key in ("retry_on", "fatal"):
        if key in out:
            value = out[key]
            names = [value] if isinstance(value, str) else list(value)
            out[key] = sorted(n if isinstance(n, str) else n.__name__ for n in names)
    return out
