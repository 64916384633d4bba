"""Model providers behind one small interface: take an OpenAI chat request, return its answer.

Everything above this layer (instructor, cache, replay, retries) speaks the OpenAI chat wire
format, so a provider only has to turn a request dict into a chat completion, as the JSON dict
the server sent (the form the cache stores). Clients are created lazily: a replayed run never
opens a connection or loads a model.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from typing import Any, Protocol

import instructor

from extractor.errors import ConfigError
from extractor.model.spec import ModelSpec, resolve_gguf
from extractor.model.transport import ServerFault, check_completion


class Provider(Protocol):
    spec: ModelSpec
    #: instructor mode that fits the server: how the response schema is sent and parsed
    mode: instructor.Mode

    async def complete(self, request: dict[str, Any], *, timeout: float) -> dict[str, Any]: ...

    async def aclose(self) -> None: ...


class OpenAIProvider:
    """OpenAI itself, or any OpenAI-compatible server (vLLM, llama.cpp server, Ollama)."""

    def __init__(self, spec: ModelSpec, *, timeout: float, mode: instructor.Mode | None = None):
        self.spec = spec
        # OpenAI gets tool calls; compatible servers constrain `response_format` json_schema
        # by grammar (llama.cpp, vLLM, Ollama), which small models need to terminate.
        self.mode = mode or (
            instructor.Mode.JSON_SCHEMA if spec.base_url else instructor.Mode.TOOLS
        )
        self.timeout = timeout
        self._client: Any = None

    def client(self) -> Any:
        """The `openai.AsyncOpenAI` client, created on first use (also for the Batch API)."""
        if self._client is None:
            import openai

            key = os.environ.get("OPENAI_API_KEY")
            if not key and not self.spec.base_url:
                raise ConfigError(
                    "OPENAI_API_KEY is not set: export it, or pass --base-url for a local "
                    "OpenAI-compatible server, or use --model baseline"
                )
            self._client = openai.AsyncOpenAI(
                api_key=key or "not-needed",
                base_url=self.spec.base_url,
                timeout=self.timeout,
                max_retries=0,  # tenacity owns retries, under one deadline
            )
        return self._client

    async def complete(self, request: dict[str, Any], *, timeout: float) -> dict[str, Any]:
        # The request is instructor's, JSON already: `chat.completions.create` would walk it
        # against its parameter types (the whole response schema, 1 ms a call, half of a bare
        # request's CPU) and build a ChatCompletion the caller dumps again; `post` sends the
        # same body and hands back the JSON. The attempt's asyncio.timeout bounds the call
        # (`call_with_retries`), and the client has --timeout: a per-request timeout would cost
        # openai's options merge, 0.3 ms a call.
        del timeout
        try:
            answer = await self.client().post(
                "/chat/completions", body=request, cast_to=dict[str, Any]
            )
        except RecursionError as exc:  # a JSON body nested deeper than the parser goes
            raise ServerFault("the server answered with JSON nested too deep to read") from exc
        return check_completion(answer)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


#: small base models loop on the few-shot record without it (seen with Gemma 3 270M)
REPEAT_PENALTY = 1.3


class LocalProvider:
    """The embedded llama.cpp model, in-process, with grammar-constrained JSON output."""

    mode = instructor.Mode.JSON_SCHEMA

    def __init__(self, spec: ModelSpec, *, n_ctx: int = 8192, threads: int | None = None):
        self.spec = spec
        self.n_ctx = n_ctx
        self.threads = threads
        self._llm: Any = None
        self._lock = threading.Lock()  # a Llama instance is not safe to share across threads

    def _load(self) -> Any:
        if self._llm is None:
            try:
                from llama_cpp import Llama
            except ImportError as exc:
                raise ConfigError(
                    "the local model needs llama-cpp-python: "
                    "pip install 'grounded-news-extractor[local]'"
                ) from exc
            self._llm = Llama(
                model_path=str(resolve_gguf(self.spec.name)),
                chat_format="gemma",  # the GGUF carries no chat template
                n_ctx=self.n_ctx,
                n_threads=self.threads,
                seed=0,
                verbose=False,
            )
        return self._llm

    def _complete_sync(self, request: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            llm = self._load()
            fmt = request.get("response_format") or {}
            schema = (fmt.get("json_schema") or {}).get("schema") or fmt.get("schema")
            out = llm.create_chat_completion(
                messages=request["messages"],
                response_format={"type": "json_object", "schema": schema}
                if schema
                else {"type": "json_object"},
                temperature=request.get("temperature", 0.0),
                max_tokens=request.get("max_tokens"),
                seed=request.get("seed", 0),
                repeat_penalty=REPEAT_PENALTY,
            )
        out["model"] = self.spec.model_id
        for choice in out.get("choices", []):
            choice["message"]["content"] = _strict_json(choice["message"].get("content"))
        return check_completion(out)

    async def complete(self, request: dict[str, Any], *, timeout: float) -> dict[str, Any]:
        # in-process: the deadline cancels the wait, the thread finishes its generation
        return await asyncio.to_thread(self._complete_sync, request)

    async def aclose(self) -> None:
        self._llm = None


def _strict_json(content: str | None) -> str | None:
    """llama.cpp's JSON grammar lets raw control characters into strings; re-encode them."""
    if not content:
        return content
    try:
        return json.dumps(json.loads(content, strict=False), ensure_ascii=False)
    except ValueError:
        return content  # leave it to validation, which re-asks with the error


def make_provider(
    spec: ModelSpec, *, timeout: float = 120.0, mode: instructor.Mode | None = None
) -> Provider:
    if spec.provider == "openai":
        return OpenAIProvider(spec, timeout=timeout, mode=mode)
    if spec.provider == "local":
        return LocalProvider(spec)
    raise ConfigError(f"{spec.label} is not a model provider")
