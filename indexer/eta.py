"""Time left for a run measured in work units (indexer.ingest.pipeline.WorkMeter): the rate over the
last ``WINDOW_S`` seconds, said only once the estimate has settled."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

WINDOW_S = 30.0
"""The rate is measured over this much of the recent past."""
MIN_ELAPSED_S = 5.0
MIN_FRACTION = 0.03
SETTLED_RATIO = 1.35
"""The last estimates agree within this factor before any is shown."""
SETTLE_COUNT = 4


class TimeLeft:
    """Feed ``update(done, total)``; ``seconds`` is the estimate once it is stable, else None.
    ``clock`` returns seconds (time.monotonic by default; tests pass their own)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.started = clock()
        self.samples: deque[tuple[float, int]] = deque()
        self.estimates: deque[float] = deque(maxlen=SETTLE_COUNT)
        self.seconds: float | None = None
        self.rate: float | None = None
        """Work units a second, smoothed, once the estimate has settled."""
        self._last_estimate_at = -1.0

    def update(self, done: int, total: int) -> float | None:
        """Record ``done`` of ``total`` work units now; returns ``seconds``."""
        now = self.clock()
        self.samples.append((now, done))
        while len(self.samples) > 2 and now - self.samples[1][0] >= WINDOW_S:
            self.samples.popleft()
        t0, d0 = self.samples[0]
        if total <= 0 or now - self.started < MIN_ELAPSED_S or done < MIN_FRACTION * total or now <= t0:
            return self.seconds
        rate = (done - d0) / (now - t0)
        if rate <= 0:
            return self.seconds
        estimate = (total - done) / rate
        if now - self._last_estimate_at >= 1.0:  # one vote a second: a burst does not settle it
            self._last_estimate_at = now
            self.estimates.append(estimate)
        settled = len(self.estimates) == SETTLE_COUNT and max(self.estimates) <= SETTLED_RATIO * max(
            1.0, min(self.estimates)
        )
        if self.rate is not None or settled:
            # Once shown, it follows a smoothed rate instead of jumping with each file.
            self.rate = rate if self.rate is None else 0.7 * self.rate + 0.3 * rate
            self.seconds = (total - done) / self.rate
        return self.seconds


def say_time_left(seconds: float | None) -> str:
    """'about 3 min left', 'about 40 s left', 'less than 10 s left'; '' when unknown."""
    if seconds is None:
        return ""
    if seconds < 10:
        return "less than 10 s left"
    if seconds < 90:
        return f"about {int(round(seconds, -1))} s left"
    if seconds < 90 * 60:
        return f"about {round(seconds / 60)} min left"
    return f"about {seconds / 3600:.1f} h left"
