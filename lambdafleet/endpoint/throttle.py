"""API Gateway throttling: a token bucket per stage and route, `rate` tokens a second up to `burst`; a request
that finds the bucket empty is answered 429 {"message":"Too Many Requests"}."""

import threading
import time
from dataclasses import dataclass


@dataclass
class _Bucket:
    rate: float
    burst: int
    tokens: float
    updated: float


class Throttle:
    """Token buckets keyed by (api, stage, route); a changed limit starts a fresh, full bucket."""

    def __init__(self) -> None:
        """No bucket until a throttled route is first called."""
        self._buckets: dict[tuple[str, str, str], _Bucket] = {}
        self._mutex = threading.Lock()

    def admit(self, key: tuple[str, str, str], rate: float, burst: int) -> bool:
        """Take a token from `key`'s bucket; False when there is none (the request is throttled)."""
        now = time.monotonic()
        with self._mutex:
            bucket = self._buckets.get(key)
            if bucket is None or (bucket.rate, bucket.burst) != (rate, burst):
                bucket = self._buckets[key] = _Bucket(rate, burst, float(burst), now)
            bucket.tokens = min(float(burst), bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            if bucket.tokens < 1.0:
                return False
            bucket.tokens -= 1.0
            return True
