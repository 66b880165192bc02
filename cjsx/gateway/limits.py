"""Back-pressure per force: a bounded number of requests in flight and a token-bucket rate.

Both are in this process's memory and used from the event loop only (no locks needed). A
request over either limit is refused at once with ``429`` and a ``Retry-After``; nothing of
it is published. See ADR 0008.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    """``rate`` events per second sustained, ``burst`` at once; one token per event."""

    rate: float
    burst: int
    clock: Callable[[], float] = time.monotonic
    _tokens: float = field(init=False)
    _at: float = field(init=False)

    def __post_init__(self) -> None:
        self._tokens = float(self.burst)
        self._at = self.clock()

    def take(self, count: int) -> float:
        """Take ``count`` tokens and return 0, or take none and return the seconds until
        they would be there (infinite if ``count`` exceeds the burst)."""
        now = self.clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.rate)
        self._at = now
        if count <= self._tokens:
            self._tokens -= count
            return 0.0
        if count > self.burst:
            return math.inf
        return (count - self._tokens) / self.rate


@dataclass
class ForceLimits:
    """Every force's in-flight count and rate bucket, made on first use."""

    max_in_flight: int
    rate: float
    burst: int
    clock: Callable[[], float] = time.monotonic
    in_flight: dict[str, int] = field(default_factory=dict)
    buckets: dict[str, TokenBucket] = field(default_factory=dict)

    def enter(self, force: str) -> bool:
        """Count a request in flight for ``force``, or return False if it has too many."""
        now = self.in_flight.get(force, 0)
        if now >= self.max_in_flight:
            return False
        self.in_flight[force] = now + 1
        return True

    def leave(self, force: str) -> None:
        self.in_flight[force] -= 1

    def take(self, force: str, events: int) -> float:
        """0 when ``force`` may post ``events`` events now, else seconds to wait."""
        bucket = self.buckets.get(force)
        if bucket is None:
            bucket = self.buckets[force] = TokenBucket(self.rate, self.burst, self.clock)
        return bucket.take(events)
