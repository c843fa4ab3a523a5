"""Resilience policies as pure decisions: retry, timeouts, circuit breaker, bulkhead, rate limit.

Each policy is a frozen value with methods over state and times the caller passes in; none of
them sleeps, reads a clock or keeps state of its own.  That is the difference from in-process
libraries such as tenacity or pybreaker (see ``docs/resilience.md``): the state can live in the
store, shared by every worker, and a wait can be a durable timer.
"""

from .breaker import Breaker, BreakerDecision, BreakerState
from .errors import Attempt, BreakerOpen, ResilienceError, RetriesExhausted
from .limits import Bucket, Bulkhead, RateDecision, RateLimit
from .retry import Jitter, Retry, RetryDecision, error_names
from .timeouts import Timeout

__all__ = [
    "Attempt",
    "Breaker",
    "BreakerDecision",
    "BreakerOpen",
    "BreakerState",
    "Bucket",
    "Bulkhead",
    "Jitter",
    "RateDecision",
    "RateLimit",
    "ResilienceError",
    "RetriesExhausted",
    "Retry",
    "RetryDecision",
    "Timeout",
    "error_names",
]
