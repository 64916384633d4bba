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
import re
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Any, Protocol

import diskcache
import diskcache.core

from extractor.errors import ReplayMissError, UsageError

log = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    if env := os.environ.get("EXTRACTOR_CACHE_DIR"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "extractor" / "responses"


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def decode_entry(raw: str | bytes) -> dict[str, Any]:
    """A stored answer back as a ChatCompletion dict; anything else (not JSON text, not a
    completion) is a ValueError: every backend treats it as a miss."""
    try:
        value = json.loads(raw)
    except (TypeError, RecursionError) as exc:  # not text; absurdly nested
        raise ValueError(str(exc)) from exc
    if not isinstance(value, dict) or "choices" not in value:
        raise ValueError("not a chat completion")
    return value


def request_key(*, provider: str, mode: str, prompt: str, request: dict[str, Any]) -> str:
    material = {"provider": provider, "mode": mode, "prompt": prompt, "request": request}
    return hashlib.sha256(canonical_json(material).encode("utf-8")).hexdigest()


class UnsafeCacheEntry(Exception):
    """A cache entry that is not JSON text (a pickle, bytes, a number): never loaded."""


class JsonTextDisk(diskcache.Disk):
    """diskcache storage that writes and reads only text keys and text values.

    diskcache's own `Disk` unpickles pickle-mode entries, and unpickling runs code: anyone who
    can write into the cache folder could run code in every later `extract`. Our values are
    canonical JSON text, so everything else is refused on the way in and on the way out.
    """

    def put(self, key: Any) -> tuple[Any, bool]:
        if type(key) is not str:
            raise TypeError(f"cache keys are str, not {type(key).__name__}")
        return super().put(key)

    def get(self, key: Any, raw: bool) -> Any:
        if not raw:
            raise UnsafeCacheEntry("a pickled key")
        return super().get(key, raw)

    def store(self, value: Any, read: bool, key: Any = diskcache.core.UNKNOWN) -> Any:
        if type(value) is not str or read:
            raise TypeError(f"cache values are JSON text, not {type(value).__name__}")
        return super().store(value, read, key=key)

    def fetch(self, mode: int, filename: str | None, value: Any, read: bool) -> Any:
        if mode not in (diskcache.core.MODE_RAW, diskcache.core.MODE_TEXT) or read:
            raise UnsafeCacheEntry(f"an entry in diskcache mode {mode}, not JSON text")
        text = super().fetch(mode, filename, value, read)
        if type(text) is not str:
            raise UnsafeCacheEntry(f"a {type(text).__name__} entry, not JSON text")
        return text


#: what diskcache keeps in its folder: the database (and its journals), and value files in
#: two-hex-digit subfolders; `clear` of a damaged cache removes exactly these
_DB_FILES = ("cache.db", "cache.db-wal", "cache.db-shm", "cache.db-journal")
_VALUE_FOLDER = re.compile(r"[0-9a-f]{2}")
#: folder and files of a cache we create: they hold model answers
CACHE_DIR_MODE = 0o700
CACHE_FILE_MODE = 0o600


class Cache(Protocol):
    """What the model caller needs of a response cache; values are raw ChatCompletion dicts."""

    def get(self, key: str) -> dict[str, Any] | None: ...

    def set(self, key: str, response: dict[str, Any]) -> None: ...

    def stats(self) -> dict[str, Any]: ...

    def clear(self) -> int | None: ...

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

    diskcache is SQLite-backed and safe for several processes at once. It never stops a run:
    an entry that cannot be read back (damaged, or not JSON text, like a planted pickle) is a
    miss with a warning and is removed; a cache that cannot be opened (a corrupt database) is
    skipped for the run with a warning; a write that fails (disk full) is skipped with a
    warning. `clear` always works, and rebuilds a damaged cache from nothing.
    """

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory) if directory else default_cache_dir()
        self._warned: set[str] = set()
        self._cache: diskcache.Cache | None = None
        try:
            created = not self.directory.exists()
            self.directory.mkdir(parents=True, exist_ok=True, mode=CACHE_DIR_MODE)
            if created:
                os.chmod(self.directory, CACHE_DIR_MODE)
        except OSError as exc:
            raise UsageError(f"cannot use cache directory {self.directory}: {exc}") from exc
        self._open(private=created)

    def _open(self, *, private: bool = False) -> None:
        try:
            self._cache = diskcache.Cache(str(self.directory), size_limit=2**34, disk=JsonTextDisk)
        except (sqlite3.Error, OSError) as exc:  # a corrupt or unreadable database
            self._cache = None
            self._warn(
                "open",
                f"cache {self.directory} is unusable ({exc}); running without it. "
                "`extractor cache clear` rebuilds it",
            )
            return
        if private:
            for name in _DB_FILES:
                with contextlib.suppress(OSError):
                    os.chmod(self.directory / name, CACHE_FILE_MODE)

    def _warn(self, what: str, message: str) -> None:
        """Each kind of trouble once per run: a full disk must not print a line per answer."""
        if what not in self._warned:
            self._warned.add(what)
            log.warning("%s", message)

    @property
    def usable(self) -> bool:
        return self._cache is not None

    def get(self, key: str) -> dict[str, Any] | None:
        if self._cache is None:
            return None
        try:
            raw = self._cache.get(key)
        except Exception as exc:  # sqlite errors, or an entry that is not JSON text
            log.warning("cache entry %s unreadable (%s); treating as a miss", key[:12], exc)
            self._discard(key)
            return None
        if raw is None:
            return None
        try:
            return decode_entry(raw)
        except ValueError as exc:
            log.warning("cache entry %s is corrupt (%s); treating as a miss", key[:12], exc)
            self._discard(key)
            return None

    def set(self, key: str, response: dict[str, Any]) -> None:
        if self._cache is None:
            return
        try:
            self._cache.set(key, canonical_json(response))
        except (sqlite3.Error, OSError, diskcache.Timeout) as exc:  # e.g. the disk is full
            self._warn("set", f"cannot write to cache {self.directory} ({exc}); not caching")

    def _discard(self, key: str) -> None:
        with contextlib.suppress(Exception):  # best effort: the entry is already unusable
            if self._cache is not None:
                self._cache.delete(key)

    def stats(self) -> dict[str, Any]:
        """Entries and size; `entries` is None when the cache cannot be read."""
        if self._cache is not None:
            with contextlib.suppress(sqlite3.Error, OSError):
                return {
                    "directory": str(self.directory),
                    "entries": len(self._cache),
                    "size_bytes": self._cache.volume(),
                }
        return {"directory": str(self.directory), "entries": None, "size_bytes": 0}

    def clear(self) -> int | None:
        """Remove every entry: the number removed, or None when a damaged cache was rebuilt."""
        if self._cache is not None:
            try:
                return self._cache.clear()
            except (sqlite3.Error, OSError):
                self.close()
        self._remove_files()
        self._open()
        return None

    def _remove_files(self) -> None:
        """diskcache's files in the folder, and nothing else the folder may hold."""
        for child in self.directory.iterdir():
            if child.name in _DB_FILES:
                child.unlink()
            elif child.is_dir() and _VALUE_FOLDER.fullmatch(child.name):
                shutil.rmtree(child)

    def close(self) -> None:
        if self._cache is not None:
            with contextlib.suppress(Exception):
                self._cache.close()
            self._cache = None


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
