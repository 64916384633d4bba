"""One exception tree. Every message says what went wrong *and* what to do about it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from extractor.records import Usage


class ExtractorError(Exception):
    """Base of every error this library raises on purpose."""

    #: short machine-readable kind, written into error records
    kind = "error"

    def __init__(self, message: str = "", *, usage: Usage | None = None) -> None:
        super().__init__(message)
        #: what the failed work cost before it gave up (requests, tokens, time)
        self.usage = usage


class UsageError(ExtractorError):
    """The caller asked for something impossible (bad option, missing path). CLI exit code 2."""

    kind = "usage"


class OutputError(UsageError):
    """The output cannot be written (unwritable, disk full). The run stops; CLI exit code 2."""

    kind = "output"


class InputError(ExtractorError):
    """One article cannot be read or is not text. The run continues with the others."""

    kind = "input"


class ConfigError(UsageError):
    """A model spec, key or setting is missing or malformed."""

    kind = "config"


class ModelError(ExtractorError):
    """The model could not produce a usable answer (after retries)."""

    kind = "model"


class TransportError(ModelError):
    """The server stayed unreachable or kept failing until the deadline."""

    kind = "transport"


class OutputInvalidError(ModelError):
    """The model's answer stayed invalid after every re-ask."""

    kind = "invalid_output"


class ReplayMissError(ModelError):
    """Replay mode was asked for a response that was never recorded."""

    kind = "replay_miss"


class GoldError(ExtractorError):
    """A gold file does not validate or quotes text that is not in its article."""

    kind = "gold"


class ServiceError(ExtractorError):
    """The extraction service answered with an error (`extractor.Client`); the message is its
    problem detail, `status` the HTTP status."""

    kind = "service"

    def __init__(self, message: str, status: int = 0, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
