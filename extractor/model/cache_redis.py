"""A response cache in Redis (or Valkey: same protocol), shared by every worker of a cluster.

Same keys as the diskcache backend (`request_key`), stored under a prefix. Values are the
canonical JSON text of the raw ChatCompletion, never pickle: a cache several machines write to
must not be able to run code in a reader. A value that is not a JSON chat completion is a miss
(and removed) with a warning. Eviction is the server's business (`maxmemory-policy`).
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from extractor.errors import UsageError
from extractor.model.cache import canonical_json, decode_entry

log = logging.getLogger(__name__)

#: every key this cache writes starts so; `clear` removes only those
PREFIX = "extractor:response:"
SCHEMES = ("redis://", "rediss://", "unix://")


def is_redis_url(location: object) -> bool:
    return isinstance(location, str) and location.startswith(SCHEMES)


class RedisCache:
    """A map from request key to the raw ChatCompletion JSON in a Redis server at `url`.

    The connection is checked when the cache opens, so a wrong URL stops the run before any
    work; a server lost later turns reads into misses and writes into warnings.
    """

    def __init__(self, url: str) -> None:
        try:
            import redis
        except ImportError as exc:
            raise UsageError(
                f"--cache {url} needs the redis client: pip install 'grounded-news-extractor[ray]'"
            ) from exc
        self.url = url
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        try:
            self._client = redis.Redis.from_url(url, socket_timeout=10)
            self._client.ping()
        except (ValueError, *self._errors) as exc:
            raise UsageError(
                f"cannot use the Redis cache at {url}: {exc}; start the server or fix --cache"
            ) from exc

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            raw = self._client.get(PREFIX + key)
        except self._errors as exc:
            log.warning("Redis cache at %s unreachable (%s); treating as a miss", self.url, exc)
            return None
        if raw is None:
            return None
        try:
            return decode_entry(raw)
        except ValueError as exc:  # also UnicodeDecodeError
            log.warning("cache entry %s is not JSON (%s); treating as a miss", key[:12], exc)
            with contextlib.suppress(*self._errors):
                self._client.delete(PREFIX + key)
            return None

    def set(self, key: str, response: dict[str, Any]) -> None:
        try:
            self._client.set(PREFIX + key, canonical_json(response).encode("utf-8"))
        except self._errors as exc:
            log.warning("Redis cache at %s: could not store %s (%s)", self.url, key[:12], exc)

    def stats(self) -> dict[str, Any]:
        entries = sum(1 for _ in self._client.scan_iter(match=PREFIX + "*", count=1000))
        return {"url": self.url, "entries": entries}

    def clear(self) -> int:
        removed = 0
        for key in self._client.scan_iter(match=PREFIX + "*", count=1000):
            removed += self._client.delete(key)
        return removed

    def close(self) -> None:
        self._client.close()
