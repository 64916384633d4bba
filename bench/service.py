"""`extractor serve` against the in-process library, on the same articles in the same run.

1. `POST /v1/extract` throughput, p50/p95 latency and the server's CPU per request at 1, 8 and
   32 concurrent clients, next to `result_for` on one in-process `Extractor` at the same
   concurrency (goal: the service reaches >= 0.8 of the in-process rate).
2. A job of N articles through the API (submit, wait, download every line) next to `run_batch`
   (what `extractor batch` runs) on the same JSONL, in paired rounds (goal: the median job
   within 1.2x of batch).

Both sides use the same model: the offline baseline by default (no network), or
`--model openai:NAME --base-url URL` for a model server. The server runs in a subprocess with
`--no-auth` on loopback and a SQLite database in a temporary folder.
Usage: python bench/service.py [-n 400] [--job-articles 1000] [--rounds 3] [--clients 1 8 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from extractor.articles import iter_articles
from extractor.batch.engine import run_batch
from extractor.engine import Extractor, Options
from extractor.runner import result_for

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


def articles(n: int) -> list[dict[str, str]]:
    """n articles cycling through the seeds, each with its own id."""
    texts = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]
    return [
        {"id": f"bench-{i:05d}", "text": texts[i % len(texts)], "language": "de"} for i in range(n)
    ]


def cpu_seconds(pid: int) -> float:
    """A process's user + system CPU (Linux); NaN where /proc is missing."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def start_server(
    workdir: Path, model_args: list[str], concurrency: int
) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [
        sys.executable, "-c", "from extractor.cli import main; main()", "serve", "--no-auth",
        "--port", str(port), "--db", f"sqlite:///{workdir / 'bench.db'}",
        "--concurrency", str(concurrency), "--log-level", "warning", *model_args,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT), "EXTRACTOR_CACHE_DIR": str(workdir / "cache")}
    proc = subprocess.Popen(command, env=env, stderr=(workdir / "serve.log").open("wb"))
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"serve did not start: {(workdir / 'serve.log').read_text()[-2000:]}")


def http_client(url: str, clients: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    return httpx.AsyncClient(base_url=url, timeout=300, limits=limits)


async def over_http(
    http: httpx.AsyncClient, items: list[dict[str, str]], clients: int
) -> tuple[float, list[float]]:
    """`clients` callers on one connection pool, as a program that keeps its client would."""
    latencies: list[float] = []
    queue = list(reversed(items))

    async def client() -> None:
        while queue:
            item = queue.pop()
            started = time.perf_counter()
            answer = await http.post("/v1/extract", json=item)
            answer.raise_for_status()
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - started, latencies


async def in_process(
    extractor: Extractor, items: list[dict[str, str]], clients: int
) -> tuple[float, list[float]]:
    loaded = list(iter_articles_from(items))
    latencies: list[float] = []
    queue = list(reversed(loaded))

    async def client() -> None:
        while queue:
            item = queue.pop()
            started = time.perf_counter()
            await result_for(extractor, item)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - started, latencies


def iter_articles_from(items: list[dict[str, str]]):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "in.jsonl"
        path.write_text("".join(json.dumps(i) + "\n" for i in items), encoding="utf-8")
        yield from iter_articles([path])


def job_through_api(url: str, src: Path) -> float:
    with httpx.Client(base_url=url, timeout=600) as http:
        started = time.perf_counter()
        job = http.post(
            "/v1/jobs", content=src.read_bytes(), headers={"Content-Type": "application/x-ndjson"}
        ).json()
        with http.stream("GET", f"/v1/jobs/{job['id']}/results") as stream:
            lines = sum(1 for line in stream.iter_lines() if line)
        elapsed = time.perf_counter() - started
        status = http.get(f"/v1/jobs/{job['id']}").json()
    assert status["status"] == "succeeded" and lines == status["total"], (status, lines)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=400, help="articles per /v1/extract round")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--slices", type=int, default=5, help="alternations per round")
    parser.add_argument("--job-articles", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3, help="paired job / batch rounds")
    parser.add_argument("--concurrency", type=int, default=8, help="job / batch concurrency")
    parser.add_argument("--model", default="baseline")
    parser.add_argument("--base-url", default=None)
    args = parser.parse_args()
    model_args = ["--model", args.model, *(["--base-url", args.base_url] if args.base_url else [])]
    options = Options(model=args.model, base_url=args.base_url, use_cache=False)
    items = articles(args.n)

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        proc, url = start_server(workdir, [*model_args, "--no-cache"], args.concurrency)
        try:
            print(
                f"model {args.model}; {args.n} articles per round; server {url}; "
                f"load average {os.getloadavg()[0]:.2f}"
            )
            side = f"{'p50 ms':>7} {'p95 ms':>7} {'cpu ms':>6}"
            print(f"{'clients':>7} | {'service/s':>9} {side} | {'library/s':>9} {side} | ratio")

            async def rounds() -> None:
                async with Extractor(options) as extractor:
                    # warm both up: an extractor's first articles load its vocabularies
                    await in_process(extractor, items[:25], 1)
                    async with http_client(url, 1) as http:
                        await over_http(http, items[:25], 1)
                    for clients in args.clients:
                        http = http_client(url, clients)
                        await over_http(http, items[:clients], clients)  # open the connections
                        # alternate the two in slices, so that load from other processes on
                        # the machine falls on both alike
                        http_s = lib_s = http_cpu = lib_cpu = 0.0
                        http_lat: list[float] = []
                        lib_lat: list[float] = []
                        step = max(clients, len(items) // args.slices)
                        for at in range(0, len(items), step):
                            part = items[at : at + step]
                            cpu = cpu_seconds(proc.pid)
                            took, lat = await over_http(http, part, clients)
                            http_s, http_lat = http_s + took, http_lat + lat
                            http_cpu += cpu_seconds(proc.pid) - cpu
                            cpu = time.process_time()
                            took, lat = await in_process(extractor, part, clients)
                            lib_s, lib_lat = lib_s + took, lib_lat + lat
                            lib_cpu += time.process_time() - cpu
                        await http.aclose()
                        service_rate, library_rate = len(items) / http_s, len(items) / lib_s
                        print(
                            f"{clients:>7} | {service_rate:>9.1f} "
                            f"{statistics.median(http_lat) * 1000:>7.1f} "
                            f"{percentile(http_lat, 95) * 1000:>7.1f} "
                            f"{http_cpu / len(items) * 1000:>6.2f} | {library_rate:>9.1f} "
                            f"{statistics.median(lib_lat) * 1000:>7.1f} "
                            f"{percentile(lib_lat, 95) * 1000:>7.1f} "
                            f"{lib_cpu / len(items) * 1000:>6.2f} | "
                            f"{service_rate / library_rate:.2f}"
                        )

            asyncio.run(rounds())

            src = workdir / "job.jsonl"
            src.write_text(
                "".join(json.dumps(a) + "\n" for a in articles(args.job_articles)),
                encoding="utf-8",
            )

            async def batch() -> float:
                started = time.perf_counter()
                async with Extractor(options) as extractor:
                    await run_batch(
                        extractor, src, workdir / "out.jsonl", concurrency=args.concurrency,
                        resume=False, overwrite=True, progress=False,
                    )  # fmt: skip
                return time.perf_counter() - started

            # paired rounds, each job next to a batch, so that load from other processes on
            # the machine falls on both alike; the median ratio is the figure
            pairs = [(job_through_api(url, src), asyncio.run(batch())) for _ in range(args.rounds)]
        finally:
            proc.terminate()
            proc.wait(60)

        ratios = sorted(job_s / batch_s for job_s, batch_s in pairs)
        shown = ", ".join(f"{j:.1f}/{b:.1f} s" for j, b in pairs)
        print(
            f"job of {args.job_articles} articles, concurrency {args.concurrency}, API vs "
            f"run_batch (submit to last line): {shown}; median "
            f"{statistics.median(ratios):.2f}x (goal <= 1.2x)"
        )


if __name__ == "__main__":
    main()
