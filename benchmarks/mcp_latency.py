"""`quarry mcp` tool-call latency against `quarry search`, on one index (issue 29).

    python benchmarks/mcp_latency.py --home DIR [--queries benchmarks/queries/books-unseen.jsonl]
        [--rounds 2] [--concurrent 4]

``DIR`` is a Quarry basedir whose index is built already (``quarry --basedir DIR index
../shared/data/pdfs``). One `quarry mcp` process is started over stdio with the MCP SDK's own
client and kept for every call, as an agent host keeps it; each query is then asked:

- as an MCP ``search`` call (rerank on, k=10): wall time from the client's call to its answer;
- with ``rerank=False`` (first stage only);
- as ``quarry search --json`` in a process of its own (what a script calling the CLI pays:
  start-up and model load included).

Last, ``--concurrent`` searches are sent at once, to show whether one call waits for another.
Prints p50/p95 in ms and the machine. Not a test: numbers go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import anyio
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import MODELS, ROOT, machine, table
from benchmarks.worker import percentile


def row(name: str, values: list[float]) -> list[object]:
    return [name, len(values), f"{percentile(values, 0.5):.0f}", f"{percentile(values, 0.95):.0f}"]


async def mcp_calls(home: Path, queries: list[str], rounds: int, concurrent: int) -> dict[str, list[float]]:
    env = {**os.environ, "QUARRY_MODEL_DIRS": str(MODELS)}
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "app.cli", "--basedir", str(home), "mcp"], env=env, cwd=str(ROOT)
    )
    times: dict[str, list[float]] = {"mcp search": [], "mcp search, rerank off": [], "mcp search, concurrent": []}
    notices: list[str] = []
    async with stdio_client(params) as (read, write), ClientSession(read, write) as client:
        await client.initialize()
        await client.call_tool("search", {"query": "warm up", "k": 10})  # models load on first use

        async def one(name: str, query: str, rerank: bool) -> None:
            start = time.perf_counter()
            result = await client.call_tool("search", {"query": query, "k": 10, "rerank": rerank})
            times[name].append((time.perf_counter() - start) * 1000)
            if result.is_error:
                raise RuntimeError(result.content)
            if result.structured_content.get("notice"):
                notices.append(result.structured_content["notice"])

        for _ in range(rounds):
            for query in queries:
                await one("mcp search", query, True)
                await one("mcp search, rerank off", query, False)
        for start in range(0, len(queries), concurrent):
            async with anyio.create_task_group() as group:
                for query in queries[start : start + concurrent]:
                    group.start_soon(one, "mcp search, concurrent", query, True)
    print(f"{len(notices)} of {sum(map(len, times.values()))} MCP calls fell back (a rerank deadline)", file=sys.stderr)
    return times


def cli_calls(home: Path, queries: list[str]) -> dict[str, list[float]]:
    env = {**os.environ, "QUARRY_MODEL_DIRS": str(MODELS)}
    wall = []
    for query in queries:
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "app.cli", "--basedir", str(home), "search", "--json", query],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        wall.append((time.perf_counter() - start) * 1000)
        json.loads(done.stdout)  # it answered
    return {"quarry search --json (a process: start-up, model load, search)": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="a Quarry basedir with its index built")
    parser.add_argument("--queries", type=Path, default=ROOT / "benchmarks" / "queries" / "books-unseen.jsonl")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrent", type=int, default=4)
    parser.add_argument("--limit", type=int, default=24, help="queries used from the file")
    args = parser.parse_args()
    queries = [json.loads(line)["query"] for line in args.queries.read_text().splitlines() if line.strip()][
        : args.limit
    ]
    times: dict[str, list[float]] = anyio.run(mcp_calls, args.home, queries, args.rounds, args.concurrent)
    times.update(cli_calls(args.home, queries))
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f}")
    print(table(["call", "n", "p50 ms", "p95 ms"], [row(name, values) for name, values in times.items()]))


if __name__ == "__main__":
    main()
