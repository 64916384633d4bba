"""Response cache (diskcache) and replay recordings (one reviewable JSON file per request).

The key is a SHA-256 of canonical JSON over everything that changes the answer: provider,
model, messages, response schema, instructor mode, sampling parameters and the prompt
version+digest. JSON keys are sorted, so their order never matters; the API key and base URL
are never part of it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any, Protocol

import diskcache

from extractor.errors import ReplayMissError, UsageError

log = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    if env := os.environ.get("EXTRACTOR_CACHE_DIR"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "extractor" / "responses"


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def request_key(*, provider: str, mode: str, prompt: str, request: dict[str, Any]) -> str:
    material = {"provider": provider, "mode": mode, "prompt": prompt, "request": request}
    return hashlib.sha256(canonical_json(material).encode("utf-8")).hexdigest()


class Cache(Protocol):
    """What the model caller needs of a response cache; values are raw ChatCompletion dicts."""

    def get(self, key: str) -> dict[str, Any] | None: ...

    def set(self, key: str, response: dict[str, Any]) -> None: ...

    def stats(self) -> dict[str, Any]: ...

    def clear(self) -> int: ...

    def close(self) -> None: ...


def open_cache(location: str | Path | None = None) -> Cache:
    """The cache at `location`: a `redis://host:port/db` URL (shared by many machines), else a
    diskcache directory (default: the per-user cache)."""
    from extractor.model.cache_redis import RedisCache, is_redis_url

    if is_redis_url(location):
        return RedisCache(str(location))
    return ResponseCache(location)


class ResponseCache:
    """A diskcache-backed map from request key to the raw ChatCompletion JSON.

    diskcache is SQLite-backed and safe for several processes at once. A value that cannot
    be read back is treated as a miss (and removed) with a warning, never a crash.
    """

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory) if directory else default_cache_dir()
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._cache = diskcache.Cache(str(self.directory), size_limit=2**34)
        except OSError as exc:
            raise UsageError(f"cannot use cache directory {self.directory}: {exc}") from exc

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            raw = self._cache.get(key)
        except Exception as exc:  # sqlite or unpickling errors from a damaged entry
            log.warning("cache entry %s unreadable (%s); treating as a miss", key[:12], exc)
            self._discard(key)
            return None
        if raw is None:
            return None
        try:
            value = json.loads(raw)
            if not isinstance(value, dict) or "choices" not in value:
                raise ValueError("not a chat completion")
            return value
        except (TypeError, ValueError) as exc:
            log.warning("cache entry %s is corrupt (%s); treating as a miss", key[:12], exc)
            self._discard(key)
            return None

    def set(self, key: str, response: dict[str, Any]) -> None:
        self._cache.set(key, canonical_json(response))

    def _discard(self, key: str) -> None:
        with contextlib.suppress(Exception):  # best effort: the entry is already unusable
            self._cache.delete(key)

    def stats(self) -> dict[str, Any]:
        return {
            "directory": str(self.directory),
            "entries": len(self._cache),
            "size_bytes": self._cache.volume(),
        }

    def clear(self) -> int:
        return self._cache.clear()

    def close(self) -> None:
        self._cache.close()


class ReplayStore:
    """Recorded responses as committed, reviewable UTF-8 JSON: `<dir>/<key>.json`.

    Each file holds the request it answers, so a reviewer sees prompt and answer together.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def path(self, key: str) -> Path:
        return self.directory / f"{key}.json"

    def load(self, key: str, *, describe: dict[str, Any]) -> dict[str, Any]:
        path = self.path(key)
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
            return entry["response"]
        except FileNotFoundError:
            raise ReplayMissError(self._miss_message(key, describe)) from None
        except (ValueError, KeyError) as exc:
            raise ReplayMissError(
                f"replay file {path} is unreadable ({exc}); re-record it"
            ) from exc

    def save(
        self,
        key: str,
        *,
        describe: dict[str, Any],
        request: dict[str, Any],
        response: dict[str, Any],
    ) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        entry = {"key": key, **describe, "request": request, "response": response}
        text = json.dumps(entry, ensure_ascii=False, indent=1, sort_keys=False) + "\n"
        fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, self.path(key))  # atomic: concurrent writers never leave half a file
        return self.path(key)

    def _miss_message(self, key: str, describe: dict[str, Any]) -> str:
        others = []
        if self.directory.is_dir():
            for p in sorted(self.directory.glob("*.json")):
                try:
                    meta = json.loads(p.read_text(encoding="utf-8"))
                except ValueError:
                    continue
                if meta.get("article_id") == describe.get("article_id"):
                    others.append(f"{meta.get('model')} / prompt {meta.get('prompt')}")
        hint = (
            f"; recordings for this article exist with: {'; '.join(sorted(set(others)))} "
            "(a prompt, schema or parameter change makes them misses)"
            if others
            else ""
        )
        return (
            f"no recorded response in {self.directory} for model {describe.get('model')}, "
            f"prompt {describe.get('prompt')}, article {describe.get('article_id')} "
            f"(key {key[:12]}){hint}; re-record with --record {self.directory}"
        )
