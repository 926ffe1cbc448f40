"""`quarry mcp` driven by the MCP SDK's own client, in a process of its own, over stdio and
streamable HTTP, against a real index (real LanceDB, the shared GGUF models)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import GOLDEN, MODELS, PDFS, ROOT, quarry

pytestmark = pytest.mark.slow
BOOK = "The-Man-Without-A-Body.pdf"


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An index of one PDF and one text file; a symlink out of the folder added afterwards."""
    base = tmp_path_factory.mktemp("mcp")
    docs = base / "docs"
    docs.mkdir()
    shutil.copy(PDFS / BOOK, docs)
    shutil.copy(GOLDEN / "sourdough.txt", docs)
    done = quarry(base / "home", "index", str(docs), env={**os.environ, "QUARRY_MODEL_DIRS": str(MODELS)})
    assert done.returncode == 0, done.stderr
    (docs / "passwd-link").symlink_to("/etc/passwd")
    return {"home": base / "home", "docs": docs.resolve(), "base": base}


def _params(home: Path, *extra: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "app.cli", "--basedir", str(home), "mcp", *extra],
        env=dict(os.environ),
        cwd=str(ROOT),
    )


def session(home: Path, body: Callable[[ClientSession], Awaitable[None]], *extra: str) -> None:
    async def main() -> None:
        async with stdio_client(_params(home, *extra)) as (read, write), ClientSession(read, write) as client:
            await client.initialize()
            await body(client)

    anyio.run(main)


async def call(client: ClientSession, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    return result.structured_content


async def refused(client: ClientSession, tool: str, **arguments: Any) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.is_error, result.structured_content
    return result.content[0].text


def test_every_read_tool(library):
    docs = library["docs"]
    pdf = str(docs / BOOK)

    async def body(client: ClientSession) -> None:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert set(tools) == {"search", "read_passage", "read_page", "list_folders", "status"}  # no index_folder
        assert tools["search"].input_schema["required"] == ["query"]
        assert tools["search"].description

        found = await call(client, "search", query="sending a man by telegraph", k=3)
        assert found["hits"] and len(found["hits"]) <= 3
        top = found["hits"][0]
        assert top["path"] == pdf and top["page"] >= 1 and top["passage_id"] and top["snippet"]
        assert "+" in found["method"] and top["reranked"]  # the cross-encoder ran
        assert found["readiness"] == ""  # every passage has its vector

        # The same search through `quarry search --json`: same hits, same scores.
        cli = json.loads(quarry(library["home"], "search", "sending a man by telegraph", "-k", "3", "--json").stdout)
        assert [(h["passage_id"], h["score"]) for h in cli["hits"]] == [
            (h["passage_id"], h["score"]) for h in found["hits"]
        ]

        plain = await call(client, "search", query="sourdough starter", rerank=False, folder=str(docs))
        assert plain["hits"][0]["path"] == str(docs / "sourdough.txt") and not plain["hits"][0]["reranked"]

        passage = await call(client, "read_passage", passage_id=top["passage_id"], neighbours=1)
        asked = [p for p in passage["passages"] if p["asked"]]
        assert len(asked) == 1 and asked[0]["text"] and 2 <= len(passage["passages"]) <= 3

        page = await call(client, "read_page", path=pdf, page=top["page"])
        assert asked[0]["text"][:200] in page["text"] and top["passage_id"] in page["passage_ids"]
        relative = await call(client, "read_page", path="sourdough.txt")
        assert "starter" in relative["text"].lower()

        folders = await call(client, "list_folders")
        assert folders["folders"] == [
            {"path": str(docs), "documents": 2, "passages": folders["folders"][0]["passages"]}
        ]
        status = await call(client, "status")
        assert status["documents"] == 2 and status["read_only"] and status["meaning_search_ready"] == 1.0

    session(library["home"], body, "--deadline", "600")  # the CLI has no deadline: the same rerank


def test_a_rerank_past_its_deadline_gives_first_stage_order(library):
    async def body(client: ClientSession) -> None:
        found = await call(client, "search", query="sending a man by telegraph", k=3)
        assert "deadline" in found["notice"] and found["hits"]

    session(library["home"], body, "--deadline", "0.001")


def test_outside_paths_and_bad_calls_are_tool_errors(library, tmp_path):
    docs = library["docs"]
    outside = tmp_path / "secret.txt"
    outside.write_text("the secret is 42")

    async def body(client: ClientSession) -> None:
        for path in (
            "/etc/passwd",
            str(docs / ".." / "home" / "x"),
            "../secret.txt",
            str(docs / "passwd-link"),
            str(outside),
        ):
            message = await refused(client, "read_page", path=path)
            assert "root:" not in message and "secret is" not in message
        assert "'..'" in await refused(client, "read_page", path=f"{docs}/../docs/sourdough.txt")
        assert "indexed folder" in await refused(client, "search", query="secret", folder="/etc")
        # Wrong types, missing and out-of-range arguments, unknown ids: errors, and the server lives on.
        await refused(client, "search", query=42)
        await refused(client, "search")
        await refused(client, "search", query="x", k=-1)
        await refused(client, "read_passage", passage_id="'; DROP TABLE chunks; --")
        await refused(client, "read_passage", passage_id="0123456789abcdef-00001")
        await refused(client, "read_page", path=str(docs / BOOK), page=10_000)
        await refused(client, "read_page", path=str(docs / BOOK))  # which page?
        assert (await call(client, "status"))["documents"] == 2

    session(library["home"], body)


def test_index_folder_only_with_allow_index(library, tmp_path):
    more = tmp_path / "more"
    more.mkdir()
    shutil.copy(GOLDEN / "boiler-maintenance.md", more)
    home = library["base"] / "home-writable"
    shutil.copytree(library["home"], home)

    async def read_only(client: ClientSession) -> None:
        assert "index_folder" in await refused(client, "index_folder", path=str(more))

    async def writable(client: ClientSession) -> None:
        assert "index_folder" in {t.name for t in (await client.list_tools()).tools}
        assert "'..'" in await refused(client, "index_folder", path=f"{more}/../more")
        report = await call(client, "index_folder", path=str(more))
        assert report["added"] == 1 and not report["skipped"]
        found = await call(client, "search", query="boiler pressure", k=1)
        assert found["hits"][0]["path"] == str(more.resolve() / "boiler-maintenance.md")
        assert str(more.resolve()) in [f["path"] for f in (await call(client, "list_folders"))["folders"]]

    session(home, read_only)
    session(home, writable, "--allow-index")


def test_search_sees_what_an_index_run_writes(library, tmp_path):
    home = library["base"] / "home-concurrent"
    shutil.copytree(library["home"], home)
    later = tmp_path / "later"
    later.mkdir()
    shutil.copy(GOLDEN / "insurance-claim.md", later)

    async def body(client: ClientSession) -> None:
        before = await call(client, "search", query="insurance claim", k=5, rerank=False)
        assert all("insurance-claim" not in h["path"] for h in before["hits"])
        writer = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "--basedir", str(home), "index", str(later)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            searches = 0
            while writer.poll() is None:  # searching while the run writes: answers, never errors
                await call(client, "search", query="insurance claim", k=3, rerank=False)
                searches += 1
        finally:
            writer.wait(timeout=300)
        assert writer.returncode == 0, writer.stderr.read() if writer.stderr else ""
        assert searches >= 1
        after = await call(client, "search", query="insurance claim", k=3)
        assert after["hits"][0]["path"] == str(later.resolve() / "insurance-claim.md")  # no restart
        assert str(later.resolve()) in [f["path"] for f in (await call(client, "list_folders"))["folders"]]

    session(home, body)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_http_transport_needs_the_token(library):
    home = library["home"]
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "--basedir", str(home), "mcp", "--http", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        token_file = home / "config" / "mcp-token"
        for _ in range(600):  # the models load first; the server says where the token is
            try:
                if httpx2.get(url, timeout=1).status_code == 401:
                    break
            except httpx2.TransportError:
                time.sleep(0.2)
        assert token_file.stat().st_mode & 0o777 == 0o600
        token = token_file.read_text().strip()
        hello = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
        assert httpx2.post(url, json=hello, timeout=10).status_code == 401
        wrong = httpx2.post(url, json=hello, headers={"Authorization": "Bearer nope"}, timeout=10)
        assert wrong.status_code == 401

        async def main() -> dict[str, Any]:
            headers = {"Authorization": f"Bearer {token}"}
            async with (
                httpx2.AsyncClient(headers=headers, timeout=60) as http,
                streamable_http_client(url, http_client=http) as (read, write),
                ClientSession(read, write) as client,
            ):
                await client.initialize()
                return await call(client, "search", query="sending a man by telegraph", k=2)

        found = anyio.run(main)
        assert found["hits"][0]["path"] == str(library["docs"] / BOOK)
    finally:
        server.terminate()
        server.wait(timeout=30)
