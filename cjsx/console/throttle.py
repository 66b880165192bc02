"""Failed sign-ins are limited, per user name and per client address, so a password cannot be
guessed at the speed of the network.

While either key is over its limit every sign-in with it is refused, a correct password too:
otherwise the lock would only slow an attacker who is also guessing. A successful sign-in
clears the user name's failures but not the address's, so knowing one valid account does
not reset the count for guessing others. The window moves (``limits``' moving window), and
the counts live in the console's memory: one console process guards one sign-in page.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter


class SignInThrottle:
    """At most ``limit`` failed sign-ins (e.g. ``"5 per 15 minutes"``) per key."""

    def __init__(self, limit: str) -> None:
        self._item: RateLimitItem = parse(limit)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def wait_seconds(self, user_id: str, address: str) -> int:
        """0 if a sign-in for ``user_id`` from ``address`` may be tried now, else how long
        until it may."""
        waits = [
            self._limiter.get_window_stats(self._item, kind, key).reset_time - time.time()
            for kind, key in (("user", user_id.casefold()), ("address", address))
            if not self._limiter.test(self._item, kind, key)
        ]
        return max(1, math.ceil(max(waits))) if waits else 0

    def failed(self, user_id: str, address: str) -> None:
        self._limiter.hit(self._item, "user", user_id.casefold())
        self._limiter.hit(self._item, "address", address)

    def succeeded(self, user_id: str) -> None:
        self._limiter.clear(self._item, "user", user_id.casefold())
