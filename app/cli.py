"""`quarry`: index folders and search them from the command line. No Qt is imported here."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from app.rerank_cli import add_check_parser, add_rerank_parser, cmd_models_check, cmd_rerank
from indexer.types import counted

log = logging.getLogger("quarry.cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="quarry", description="Local document search with a GGUF reranker.")
    parser.add_argument("--basedir", help="keep config, data, cache and logs under this folder (also $QUARRY_HOME)")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    parser.add_argument("--device", choices=["auto", "cpu", "gpu"], help="where models run (default: settings, auto)")
    parser.add_argument("--embedder", help="embedding model file name or path")
    parser.add_argument("--reranker", help="reranker model file name or path")
    parser.add_argument(
        "--index",
        help="the index: a folder, or s3://BUCKET/PREFIX for a shared one (also $QUARRY_INDEX, Settings → Shared index); "
        "credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL, AWS_ALLOW_HTTP",
    )
    parser.add_argument("--smoke-test", action="store_true", help="index a bundled sample, run one query, exit")
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser("index", help="index folders or files (incremental)")
    p.add_argument("paths", nargs="*", help="folders or files; none re-indexes the known folders")
    p.add_argument("--include", action="append", default=[], help="glob of files to include (repeatable)")
    p.add_argument("--exclude", action="append", default=[], help="glob of files or folders to leave out")
    p.add_argument(
        "--no-check", action="store_true", help="skip the reranker self-check on this collection after the run"
    )

    p = sub.add_parser("watch", help="index folders, then keep the index in step with changes until Ctrl+C")
    p.add_argument("paths", nargs="*", help="folders; none watches the known folders")

    p = sub.add_parser("search", help="search the index")
    p.add_argument("query")
    p.add_argument("-k", type=int, help="results to show (default: settings, 10)")
    p.add_argument("-n", type=int, help="first-stage candidates to rerank (default: settings, 50)")
    p.add_argument("--no-rerank", action="store_true", help="first-stage order only")
    p.add_argument(
        "--min-score",
        type=float,
        help="hits whose score (the calibrated chance of an answer, 0..1) is under this are not strong;"
        " nothing is hidden for it (default: settings, 0.5)",
    )
    p.add_argument("--explain", action="store_true", help="per hit: BM25 and vector ranks, rerank score, weight, score")
    p.add_argument(
        "--diversity", type=float, default=None, help="0..1: trade relevance for variety among the hits (MMR; default 0)"
    )
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")

    p = sub.add_parser("models", help="list catalogue and local models and the device; pull downloads one")
    p.add_argument("--json", action="store_true")
    models_sub = p.add_subparsers(dest="models_command")
    pull = models_sub.add_parser("pull", help="download a catalogue model (by name or preset) into your models folder")
    pull.add_argument("name", help="catalogue name, e.g. bge-reranker-v2-m3, or a preset: fast, balanced, quality")

    add_rerank_parser(sub)
    add_check_parser(models_sub)

    p = sub.add_parser("status", help="folders, documents, chunks and index size")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("eval", help="measure ranking quality on a BEIR-format dataset, or page-labelled questions")
    p.add_argument(
        "dataset", help="folder with corpus.jsonl, queries.jsonl and qrels/<split>.tsv; with --pages, the documents"
    )
    p.add_argument(
        "--pages",
        metavar="FILE",
        help="page-labelled questions (JSON lines: query, file, pages, kind) over the documents in DATASET",
    )
    p.add_argument("--split", default="dev", help="qrels file to judge by (default dev)")
    p.add_argument("--limit", type=int, help="evaluate a fixed random sample of this many queries")
    p.add_argument("-n", type=int, default=50, help="candidates reranked per query (default 50)")
    p.add_argument("--json", action="store_true", help="one JSON object: configuration -> metrics")

    p = sub.add_parser("mcp", help="serve the index to agents over the Model Context Protocol (stdio, or --http)")
    p.add_argument("--allow-index", action="store_true", help="offer the index_folder tool (default: read-only)")
    p.add_argument("--http", action="store_true", help="streamable HTTP on 127.0.0.1 with a bearer token, not stdio")
    p.add_argument("--port", type=int, default=8765, help="port for --http (default 8765)")
    p.add_argument("--deadline", type=float, help="seconds a rerank may take before first-stage order (default: settings)")

    p = sub.add_parser("remove", help="forget an indexed folder and its documents")
    p.add_argument("folder")
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    args = build_parser().parse_args(argv)
    from app.logs import configure
    from indexer.errors import Cancelled, QuarryError
    from indexer.paths import INDEX_ENV, AppPaths

    paths = AppPaths.default(args.basedir).ensure()
    configure(paths, args.verbose)
    args.saved = _settings(paths)  # read once; the command line's choices go over it
    paths = paths.with_index(args.index or os.environ.get(INDEX_ENV) or args.saved.shared_index)
    try:
        if args.smoke_test:
            from app.smoke import smoke_test

            return smoke_test(paths, _options(args))
        if args.command is None:
            build_parser().print_help(sys.stderr)
            return 2
        return int(COMMANDS[args.command](args, paths))
    except KeyboardInterrupt:
        print("quarry: interrupted", file=sys.stderr)
        return 130
    except Cancelled:
        print("quarry: cancelled", file=sys.stderr)
        return 130
    except QuarryError as exc:
        print(f"quarry: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        log.exception("unexpected error")
        print(f"quarry: unexpected error: {exc} (details in {paths.logs / 'quarry.log'})", file=sys.stderr)
        return 2


def _settings(paths: Any) -> Any:
    from indexer import settings

    loaded = settings.load(paths.settings_file)
    if loaded.notice:
        print(f"quarry: {loaded.notice}", file=sys.stderr)
    return loaded.settings


def _options(args: argparse.Namespace, **extra: Any) -> Any:
    """Engine options: the command line's choices over the saved settings."""
    from indexer.engine import EngineOptions

    saved = args.saved
    return EngineOptions(
        embedder=args.embedder or saved.embedder,
        reranker=args.reranker or saved.reranker,
        device=args.device or saved.device,
        threads=saved.threads,
        cpu_variant=saved.cpu_variant or None,
        # A model named on the command line goes over a remote endpoint in the settings.
        reranker_endpoint=None if args.reranker else saved.reranker_endpoint,
        embedder_endpoint=None if args.embedder else saved.embedder_endpoint,
        ocr=saved.ocr,
        index=paths_index(args),
        **extra,
    )


def paths_index(args: argparse.Namespace) -> str:
    """The index location chosen: --index, else $QUARRY_INDEX, else the settings' shared index."""
    from indexer.paths import INDEX_ENV

    return args.index or os.environ.get(INDEX_ENV) or args.saved.shared_index


def _progress_printer() -> Any:
    from indexer.types import Progress

    tty = sys.stderr.isatty()
    last = [0.0]

    def show(p: Progress) -> None:
        now = time.monotonic()
        if p.stage == "indexing" and p.total:
            if now - last[0] < (0.1 if tty else 2.0) and p.done < p.total:
                return
            last[0] = now
            line = f"[{p.done}/{p.total}] {p.label}"[:100]
            print(f"\r{line:<100}" if tty else line, end="" if tty else "\n", file=sys.stderr, flush=True)
        elif p.stage == "embedding" and p.total:
            if now - last[0] < (0.1 if tty else 2.0) and p.done < p.total:
                return
            last[0] = now
            line = f"searchable by keyword; embedding passages [{p.done}/{p.total}]"
            print(f"\r{line:<100}" if tty else line, end="" if tty else "\n", file=sys.stderr, flush=True)
        elif p.stage == "finishing" and tty:
            print("\r" + " " * 100 + "\r", end="", file=sys.stderr, flush=True)

    return show


def cmd_index(args: argparse.Namespace, paths: Any) -> int:
    from indexer.engine import Engine
    from indexer.errors import QuarryError
    from indexer.ingest.scan import ScanRules

    rules = ScanRules(include=tuple(args.include), exclude=tuple(args.exclude))
    engine = Engine(paths, _options(args, rules=rules, use_reranker=False))
    roots = [Path(p).expanduser().resolve() for p in args.paths] or [Path(r) for r in engine.store.roots]
    if not roots:
        raise QuarryError("nothing to index: give one or more folders")
    for root in roots:
        if not root.exists():
            raise QuarryError(f"{root} does not exist")
    print(f"Indexing {len(roots)} folder(s) on {engine.device_label}", file=sys.stderr)
    try:
        # One run at a time: a second `quarry index` on this index is refused (exit 1) and
        # names the run that holds it; a shared index's lease was taken when it was opened.
        with engine.store.write_lease():
            report = engine.indexer.run(roots, progress=_progress_printer())
        print(f"{report.summary()} — {report.chunks_embedded} passages embedded in {report.seconds:.1f} s", file=sys.stderr)
        for skipped in report.skipped:
            print(f"  skipped {skipped.path}: {skipped.reason}", file=sys.stderr)
        if not args.no_check and not report.cancelled and args.saved.use_reranker:
            _check_reranker(engine, args)  # before close: it needs the engine's inference worker
    finally:
        engine.close()
    return 0


def _check_reranker(engine: Any, args: argparse.Namespace) -> None:
    """The reranker self-check after an index run (indexer.search.selfcheck): resumed if a
    kill left it, skipped while its finding is current."""
    problem = engine.switch_reranker(args.reranker or args.saved.reranker, True, args.saved.reranker_endpoint)
    if problem:
        print(f"note: no reranker self-check: {problem}", file=sys.stderr)
        return

    tty = sys.stderr.isatty()

    def show(done: int, total: int) -> None:
        line = f"checking the reranker on this collection: {done} of {total}"
        if tty:
            print(f"\r{line}", end="", file=sys.stderr)
        elif done == total or done % 8 == 0:
            print(line, file=sys.stderr)

    finding = engine.check_reranker(progress=show)
    if finding is not None:
        if tty:
            print(file=sys.stderr)  # end the progress line
        print(finding.describe(), file=sys.stderr)


def cmd_watch(args: argparse.Namespace, paths: Any) -> int:
    import threading

    from indexer.cancel import CancelToken
    from indexer.engine import Engine
    from indexer.errors import QuarryError
    from indexer.ingest.watch import FolderWatcher

    engine = Engine(paths, _options(args, rules=args.saved.rules, use_reranker=False))
    roots = [Path(p).expanduser().resolve() for p in args.paths] or [Path(r) for r in engine.store.roots]
    if not roots:
        raise QuarryError("nothing to watch: give one or more folders")
    lock = threading.Lock()
    stop = CancelToken()  # Ctrl+C ends a run in progress instead of waiting for it

    def index(changed: list[Path]) -> None:
        with lock:
            report = engine.indexer.run(changed, stop)
        stamp = time.strftime("%H:%M:%S")
        print(f"{stamp} {report.summary()}, {report.chunks_embedded} passages embedded", flush=True)
        for skipped in report.skipped:
            print(f"  skipped {skipped.path}: {skipped.reason}", flush=True)

    # Watches first, then the catch-up run: a file that appears while the run scans, or
    # before the watches are placed, is then seen by one or the other, never by neither.
    lease = engine.store.write_lease()
    lease.__enter__()  # the whole watch is one writer: another index run is refused meanwhile
    watcher = FolderWatcher(roots, index).start()
    try:
        while not watcher.ready.wait(0.5):
            pass
        index(roots)
        print(f"Watching {', '.join(str(r) for r in roots)} (Ctrl+C to stop)", flush=True)
        while True:
            time.sleep(3600)
    finally:  # stop the run, the watcher and the inference worker before the interpreter exits
        stop.cancel()
        watcher.stop()
        lease.__exit__(None, None, None)
        engine.close()


def cmd_search(args: argparse.Namespace, paths: Any) -> int:
    from indexer.engine import Engine
    from indexer.search.explain import explain_hit

    saved = args.saved
    engine = Engine(paths, _options(args, use_reranker=not args.no_rerank, reset_on_mismatch=False, writer=False))
    options = replace(
        saved.search_options(),
        deadline_s=None,  # a command waits for the whole rerank; the window has the deadline
        rerank=not args.no_rerank,
        **{k: v for k, v in (("k", args.k), ("candidates", args.n), ("min_score", args.min_score)) if v is not None},
        **({"diversity": args.diversity} if args.diversity is not None else {}),
    )
    result = engine.searcher.search(args.query, options)
    if args.json:
        print(json.dumps(result_json(result), ensure_ascii=False, indent=1))
        return 0
    if result.notice:
        print(f"note: {result.notice}", file=sys.stderr)
    if result.readiness:
        print(f"note: {result.readiness} (keyword search covers every passage; `quarry index` embeds the rest)")
    if not result.hits:
        if not engine.store.stats().chunks:
            print("The index is empty: run `quarry index FOLDER` first.")
        else:
            print("No results.")
        return 0
    if result.weak:
        print(f"No strong matches — closest passages (none scored {result.min_score:.2f} or more):")
    for hit in result.hits:
        where = f"{hit.path} ({hit.where})" if hit.where else hit.path
        score = "—" if hit.score is None else f"{hit.score:.2f} {hit.strength}"
        print(f"{hit.rank:>2}. {score}  {where}")
        print(f"    {hit.snippet}")
        if args.explain:
            print(f"    why: {explain_hit(hit)}")
    print(f"({result.method}, {result.timings_ms['total']:.0f} ms)", file=sys.stderr)
    if result.check:
        print(f"({result.check})", file=sys.stderr)
    return 0


def cmd_mcp(args: argparse.Namespace, paths: Any) -> int:
    from app.mcp_server import Library, build_server, serve_http, write_token
    from indexer.engine import Engine

    saved = args.saved
    engine = Engine(paths, _options(args, use_reranker=saved.use_reranker, reset_on_mismatch=False))
    options = saved.search_options()
    if args.deadline is not None:
        from dataclasses import replace

        options = replace(options, deadline_s=args.deadline)
    try:
        server = build_server(Library(engine, options, allow_index=args.allow_index))
        if not args.http:
            log.info("MCP server on stdio (%s)", "may index" if args.allow_index else "read-only")
            server.run("stdio")
            return 0
        file, token = write_token(paths.config)
        print(f"Quarry MCP server at http://127.0.0.1:{args.port}/mcp", file=sys.stderr)
        print(f"  send 'Authorization: Bearer <token>'; the token is in {file} (mode 0600)", file=sys.stderr, flush=True)
        serve_http(server, args.port, token)
        return 0
    finally:
        engine.close()


def result_json(result: Any) -> dict[str, Any]:
    return {
        "query": result.query,
        "method": result.method,
        "notice": result.notice,
        "weak": result.weak,
        "min_score": result.min_score,
        "vectors_ready": round(result.vectors_ready, 4),
        "readiness": result.readiness,
        "reranked": result.reranked,
        "complete": result.complete,
        "check": result.check,
        "hits": [
            {
                "rank": h.rank,
                "score": None if h.score is None else round(h.score, 6),
                "strength": h.strength,
                "reranked": h.rerank_score is not None,
                "strong": h.strong,
                "path": h.path,
                "page": h.page,
                "location": h.where,
                "passage_id": h.chunk_id,
                "snippet": h.snippet,
                "ocr": h.ocr,
                "first_stage_rank": h.first_stage_rank,
                "bm25_rank": h.bm25_rank,
                "vector_rank": h.vector_rank,
                "first_stage_score": round(h.first_stage_score, 6),
                "rerank_score": None if h.rerank_score is None else round(h.rerank_score, 6),
                "topic_weight": round(h.topic_weight, 4),
                "rerank_weight": round(h.rerank_weight, 4),
            }
            for h in result.hits
        ],
        "timings_ms": {k: round(v, 2) for k, v in result.timings_ms.items()},
    }


def cmd_models(args: argparse.Namespace, paths: Any) -> int:
    if args.models_command == "pull":
        return _pull(args, paths)
    if args.models_command == "check":
        return cmd_models_check(args, paths)
    from indexer.models.catalogue import catalogue, choices
    from indexer.models.setup import ModelSetup

    with ModelSetup(paths, args.device or args.saved.device, cpu_variant=args.saved.cpu_variant or None) as setup:
        hardware, placement, models = setup.hardware, setup.placement, setup.models
        choice = setup.worker.choice
    cpu_bf16 = hardware.cpu_has_bf16
    on_disk = {c.name: c for kind in ("reranker", "embedder") for c in choices(kind, models) if c.entry}
    in_use = {kind: _in_use(args, kind, models) for kind in ("reranker", "embedder")}
    if args.json:
        print(
            json.dumps(
                {
                    "device": placement.label,
                    "cpu_model": hardware.cpu_model,
                    "cpu_variant": {
                        "name": choice.name if choice else "built in",
                        "forced": bool(choice and choice.forced),
                        "skipped": [{"name": n, "reason": r} for n, r in (choice.skipped if choice else ())],
                    },
                    "cpu_bf16": cpu_bf16,
                    "backends": list(hardware.backends),
                    "devices": [d.description for d in hardware.devices],
                    "model_dirs": [str(d) for d in paths.model_dirs()],
                    "in_use": in_use,
                    "catalogue": [
                        {
                            "name": e.name,
                            "kind": e.kind,
                            "repo": e.repo,
                            "file": e.filename,
                            "size_mb": e.size_mb,
                            "architecture": e.architecture,
                            "licence": e.licence,
                            "languages": list(e.languages),
                            "presets": list(e.presets),
                            "family": e.family,
                            "on_disk": on_disk[e.name].on_disk,
                            "path": str(on_disk[e.name].path) if on_disk[e.name].path else None,
                        }
                        for e in catalogue()
                    ],
                    "models": [
                        {
                            "path": str(m.path),
                            "kind": m.kind,
                            "architecture": m.info.architecture if m.info else None,
                            "family": m.family,
                            "size": m.path.stat().st_size,
                            "context": m.info.context_length if m.info else None,
                            "problem": m.problem,
                        }
                        for m in models
                    ],
                },
                indent=1,
            )
        )
        return 0
    print(f"Device: {placement.label}  (llama.cpp backends: {', '.join(hardware.backends)})")
    print(f"CPU: {hardware.cpu_model}; llama.cpp CPU variant: {choice.describe() if choice else 'built in'}")
    if not placement.on_gpu and cpu_bf16:
        print(
            f"This CPU has AVX512-BF16: f16 and f32 rerankers up to 1 GB run as bf16 copies kept in {paths.tuned_models}"
        )
    print(f"Model folders: {', '.join(str(d) for d in paths.model_dirs()) or '(none)'}")
    for kind, use in in_use.items():
        print(f"In use, {kind}: {use['model'] or '(none)'} — {use['why']}")
    print("\nCatalogue (quarry models pull NAME):")
    for e in catalogue():
        mark = "on disk" if on_disk[e.name].on_disk else f"{e.size_mb} MB to download"
        presets = f" [{', '.join(e.presets)}]" if e.presets else ""
        print(f"  {e.kind:<9} {e.name:<22}{presets:<26} {e.licence:<11} {', '.join(e.languages):<22} {mark}")
    print("\nLocal files:")
    if not models:
        print("  No GGUF models found.")
    for m in models:
        size = f"{m.path.stat().st_size / 1e6:.1f} MB"
        if m.info:
            what = m.family or m.info.architecture
            print(f"  {m.kind:<9} {what:<13} {size:>9}  ctx {m.info.context_length:<5} {m.path.name}")
        else:
            problem = m.problem if m.problem.startswith(m.path.name) else f"{m.path.name}: {m.problem}"
            print(f"  {'invalid':<9} {'':<13} {size:>9}  {'':<9} {problem}")
    return 0


def _in_use(args: argparse.Namespace, kind: str, models: list[Any]) -> dict[str, str | None]:
    """Which ``kind`` model a search would use now, and why: {"model": file path, the
    endpoint's host, or None, "why": in words}. The command line goes over the settings."""
    from indexer.errors import QuarryError
    from indexer.models.files import pick

    saved = args.saved
    named = getattr(args, kind)
    endpoint = None if named else getattr(saved, f"{kind}_endpoint")
    if kind == "reranker" and not named and not saved.use_reranker:
        return {"model": None, "why": "reranking is off in the settings"}
    if endpoint is not None:
        return {"model": endpoint.host, "why": "the remote endpoint in the settings"}
    wanted = named or getattr(saved, kind)
    try:
        path = pick(models, kind, wanted)
    except QuarryError as exc:
        return {"model": None, "why": str(exc)}
    why = "named on the command line" if named else "chosen in the settings" if wanted else "picked: the preferred one found"
    return {"model": str(path), "why": why}


def _pull(args: argparse.Namespace, paths: Any) -> int:
    from indexer.models.catalogue import entry
    from indexer.models.download import download
    from indexer.types import Progress

    wanted = entry(args.name)
    tty = sys.stderr.isatty()
    last = [0.0]

    def show(p: Progress) -> None:
        now = time.monotonic()
        if p.stage != "downloading" or (now - last[0] < (0.2 if tty else 5.0) and p.done < p.total):
            return
        last[0] = now
        share = f"{p.done / p.total:.0%}" if p.total else ""
        line = f"{wanted.name}: {p.done / 1e6:.1f} / {p.total / 1e6:.1f} MB {share}"
        print(f"\r{line:<70}" if tty else line, end="" if tty else "\n", file=sys.stderr, flush=True)

    print(f"Downloading {wanted.name} ({wanted.size_mb} MB) from {wanted.repo}", file=sys.stderr)
    path = download(wanted, paths.models, show)
    if tty:
        print(file=sys.stderr)
    print(f"Downloaded {wanted.name} to {path}")
    return 0


def cmd_status(args: argparse.Namespace, paths: Any) -> int:
    from indexer.store.lance import META_FILE, Store
    from indexer.store.location import Location

    location = Location.of(paths.index_location, paths.index)
    found = location.read(META_FILE)
    if found is None:
        empty = {"folders": [], "documents": 0, "chunks": 0, "passages": 0, "keyword_searchable": 0, "with_vectors": 0}
        print(json.dumps(empty) if args.json else "The index is empty.")
        return 0
    meta = json.loads(found[0].decode("utf-8"))
    store = Store(paths.index, int(meta["dimension"]), meta["fingerprint"], location=location, writer=False)
    stats = store.stats()
    counts = store.passage_counts()
    docs = store.all_documents().values()
    per_root = {root: documents for root, (documents, _) in store.folder_counts(docs).items()}
    skipped = [d for d in docs if not d.ok]
    partial = [d for d in docs if d.ok and d.reason]  # indexed, but some pages could not be decoded
    if args.json:
        print(
            json.dumps(
                {
                    "folders": [{"path": r, "documents": n} for r, n in per_root.items()],
                    "documents": stats.documents,
                    "chunks": stats.chunks,
                    "passages": counts.passages,
                    "keyword_searchable": counts.keyword,
                    "with_vectors": counts.vectors,
                    "vectors_ready": round(counts.vectors_ready, 4),
                    "skipped": [{"path": d.path, "reason": d.reason} for d in skipped],
                    "partly_skipped": [{"path": d.path, "reason": d.reason} for d in partial],
                    "bytes": stats.bytes_on_disk,
                    "embedder": stats.embedder,
                    "index": paths.index_location,
                },
                indent=1,
            )
        )
        return 0
    print(f"Index: {paths.index_location} ({stats.bytes_on_disk / 1e6:.1f} MB, embedder {stats.embedder})")
    for root, n in per_root.items():
        print(f"  {root}: {counted(n, 'document')}")
    print(f"{counted(stats.documents, 'document')}, {len(skipped)} skipped; {counts.describe()}")
    if counts.vectors < counts.passages:
        print("  meaning search waits for the rest: `quarry index` embeds them (an interrupted run resumes)")
    for d in skipped:
        print(f"  skipped {d.path}: {d.reason}")
    for d in partial:
        print(f"  partly skipped {d.path}: {d.reason}")
    return 0


def cmd_remove(args: argparse.Namespace, paths: Any) -> int:
    from indexer.engine import Engine

    engine = Engine(paths, _options(args, use_reranker=False))
    with engine.store.write_lease():
        removed = engine.store.remove_root(Path(args.folder).expanduser().resolve())
        engine.store.optimize()
    engine.close()
    print(f"Removed {counted(len(removed), 'document')}.")
    return 0


def cmd_eval(args: argparse.Namespace, paths: Any) -> int:
    from indexer.models.setup import ModelSetup
    from indexer.search.evaluation import CONFIGURATIONS, eval_store_dir, evaluate, index_corpus, load_beir
    from indexer.search.searcher import Searcher
    from indexer.store.lance import Store

    folder = Path(args.dataset).expanduser().resolve()
    if args.pages:
        return _eval_pages(args, paths, folder)
    dataset = load_beir(folder, args.split)
    setup = ModelSetup(paths, args.device or "auto", cpu_variant=args.saved.cpu_variant or None)
    placement = setup.placement
    embedder = setup.embedder(args.embedder)
    reranker = setup.reranker(args.reranker)
    store_dir = eval_store_dir(paths.cache, folder, embedder.fingerprint, len(dataset.corpus))
    store = Store(store_dir, embedder.dimension, embedder.fingerprint, reset_on_mismatch=True)
    started = time.perf_counter()
    if not (store_dir / "complete").exists():
        print(f"Indexing {len(dataset.corpus)} documents of {folder.name} on {placement.label}…", file=sys.stderr)
        store.delete_documents(list({r.doc_id for r in store.all_documents().values()}))
        index_corpus(dataset, store, embedder, progress=_progress_printer())
        (store_dir / "complete").write_text("ok")
    index_seconds = time.perf_counter() - started
    print(f"Evaluating {args.limit or len(dataset.queries)} queries ({args.split})…", file=sys.stderr)
    result = evaluate(dataset, Searcher(store, embedder, reranker), reranker, args.n, args.limit)
    if args.json:
        print(json.dumps(result.metrics))
        return 0
    print(
        f"{folder.name} {args.split}: {result.queries} queries, {len(dataset.corpus)} documents, "
        f"top {args.n} reranked, {placement.label}; indexing {index_seconds:.0f} s, evaluation {result.seconds:.0f} s"
    )
    print(f"{'configuration':<22} {'nDCG@10':>8} {'Recall@100':>11} {'MRR@10':>8} {'ms/query':>9}")
    for name in (*CONFIGURATIONS, "default"):
        m = result.metrics.get(name)
        if m:
            print(
                f"{name:<22} {m['ndcg@10']:>8.4f} {m['recall@100']:>11.4f} {m['mrr@10']:>8.4f} {m['latency_ms']:>9.1f}"
            )
    return 0


def _eval_pages(args: argparse.Namespace, paths: Any, folder: Path) -> int:
    """Page-level evaluation: index FOLDER into the app's index (incremental, as `quarry index`
    does), then run each question through every configuration in PAGE_CONFIGURATIONS."""
    from indexer.engine import Engine
    from indexer.search.evaluation import PAGE_CONFIGURATIONS, evaluate_pages, load_page_queries

    queries = load_page_queries(Path(args.pages).expanduser())
    if args.limit:
        queries = queries[: args.limit]
    engine = Engine(paths, _options(args, reset_on_mismatch=True))
    report = engine.indexer.run([folder], progress=_progress_printer())
    print(f"Index: {report.summary()}", file=sys.stderr)
    started = time.perf_counter()
    metrics = evaluate_pages(queries, engine.searcher, args.n)
    if args.json:
        print(json.dumps(metrics))
        return 0
    first = next(iter(metrics.values()))
    print(
        f"{Path(args.pages).name}: {first['answerable']} answerable questions, {first['off_topic']} off-topic, "
        f"top {args.n} reranked; evaluation {time.perf_counter() - started:.0f} s"
    )
    print(
        f"{'configuration':<22} {'hit@1':>6} {'hit@3':>6} {'MRR@10':>7} {'weak in-domain':>15} {'weak off-topic':>15}"
    )
    for name in PAGE_CONFIGURATIONS:
        m = metrics[name]
        print(
            f"{name:<22} {m['hit@1']:>6.3f} {m['hit@3']:>6.3f} {m['mrr@10']:>7.3f} "
            f"{m['weak_in_domain']:>15} {m['weak_off_topic']:>15}"
        )
    return 0


COMMANDS = {
    "index": cmd_index,
    "watch": cmd_watch,
    "search": cmd_search,
    "models": cmd_models,
    "status": cmd_status,
    "remove": cmd_remove,
    "mcp": cmd_mcp,
    "eval": cmd_eval,
    "rerank": cmd_rerank,
}

if __name__ == "__main__":
    sys.exit(main())
