"""CLI commands for `runbook knowledge ...` (the semantic memory issue).

Keep imports here light (typer only): chromadb and the model load inside the commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from agent import cli_output as out
from agent.cli_options import current, with_global_options
from agent.commands import with_runtime
from memory.errors import UserError

if TYPE_CHECKING:
    from agent.runtime import Runtime
    from memory.recall import Recall

knowledge_app = typer.Typer(
    help="What runbook remembers: runbooks, postmortems and past deployments, searched by meaning.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level `runbook` app."""
    app.add_typer(knowledge_app, name="knowledge")


def _folder(runtime: Runtime) -> Path:
    from memory.recall import bundled_examples

    return runtime.recall_settings.folder or bundled_examples()


def _open(runtime: Runtime) -> Recall:
    from memory.recall import Recall

    settings = runtime.recall_settings
    try:
        return Recall.in_state_dir(settings.state_dir, embedding=settings.embedding, vocab_path=settings.vocab_path,
                                   server_url=settings.server_url)
    except FileNotFoundError as exc:
        raise UserError(str(exc)) from None


def _sync_scratchpad(runtime: Runtime, index: Recall) -> int:
    """Index the scratchpad's deployments and investigations."""
    return index.sync_from_scratchpad(runtime.store)


def _model_note(model: str) -> str:
    if model.startswith("hashing"):
        return (f"embedding: {model} (lexical: knowledge.embedding is 'hashing', or MiniLM's tokenizer"
                " is missing from this install)")
    return f"embedding: {model}"


@knowledge_app.command("add", epilog="\b\nExamples:\n  runbook knowledge add docs/runbooks/\n"
                                     "  runbook -o json knowledge add docs/postmortems/2024-05-oom.md")
@with_global_options
def add(
    path: Annotated[Path, typer.Argument(metavar="PATH", help="A markdown file, or a folder of them.")],
) -> None:
    """Index a markdown runbook or postmortem (or a folder of them), split into sections by heading."""

    def body(runtime: Runtime) -> int:
        if not path.exists():
            raise UserError(f"{path}: no such file or folder.")
        from memory.recall_docs import markdown_files

        files = markdown_files(path)
        if not files:
            raise UserError(f"{path}: no markdown (.md) files found.")
        index = _open(runtime)
        written = index.add_knowledge(path, max_chars=runtime.recall_settings.max_section_chars)
        out.say(f"Indexed {path}: {len(files)} file(s), {written} section(s) new or changed.")
        out.document("knowledge add", {"path": str(path), "files": len(files), "sections_changed": written,
                                       "model": index.model})
        return 0

    raise typer.Exit(with_runtime(current(), body, "knowledge add"))


@knowledge_app.command("sync", epilog="\b\nExamples:\n  runbook knowledge sync\n  runbook -o json knowledge sync")
@with_global_options
def sync() -> None:
    """Re-index the configured knowledge folder and the scratchpad's deployments and investigations."""

    def body(runtime: Runtime) -> int:
        folder = _folder(runtime)
        if not folder.is_dir():
            raise UserError(f"knowledge.folder {folder} is not a folder.")
        index = _open(runtime)
        sections = index.add_knowledge(folder, max_chars=runtime.recall_settings.max_section_chars)
        records = _sync_scratchpad(runtime, index)
        entries = index.count()
        out.say(f"Knowledge: {folder} — {sections} section(s) new or changed.")
        out.say(f"Scratchpad: {records} deployment(s)/investigation(s) new or changed.")
        out.say(f"Index: {entries} entries ({_model_note(index.model)}).")
        out.document("knowledge sync", {"folder": str(folder), "sections_changed": sections,
                                        "records_changed": records, "entries": entries, "model": index.model})
        return 0

    raise typer.Exit(with_runtime(current(), body, "knowledge sync"))


@knowledge_app.command("search", epilog="\b\nExamples:\n  runbook knowledge search \"redis connection errors\"\n"
                                        "  runbook knowledge search \"deploy payments-api\" -s payments-api -k runbook\n"
                                        "  runbook -o json knowledge search \"out of memory\" | jq '.hits[0].heading'")
@with_global_options
def search(
    query: Annotated[str, typer.Argument(metavar="QUERY", help='What to look for, e.g. "Redis connection errors".')],
    limit: Annotated[int, typer.Option("--limit", "-n", metavar="N", min=1, max=50, help="How many results (1-50).")] = 5,
    kind: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--kind", "-k", metavar="KIND", help="runbook, postmortem, deployment or investigation (repeatable)."),
    ] = None,
    service: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--service", "-s", metavar="SERVICE", help="Only entries about this service."),
    ] = None,
) -> None:
    """Search runbooks, postmortems and past deployments and investigations by meaning."""

    def body(runtime: Runtime) -> int:
        from memory.recall import KINDS

        bad = sorted(set(kind or []) - set(KINDS))
        if bad:
            raise UserError(f"unknown --kind {', '.join(bad)}; expected one of {', '.join(KINDS)}.")
        index = _open(runtime)
        folder = _folder(runtime)
        if folder.is_dir() and not index.has_root(folder):
            index.add_knowledge(folder, max_chars=runtime.recall_settings.max_section_chars)
        _sync_scratchpad(runtime, index)
        hits = index.recall(query, kinds=kind or None, service=service, limit=limit)
        if current().json:
            dumped = [h.model_dump(mode="json") for h in hits]
            out.document("knowledge search", {"query": query, "model": index.model, "hits": dumped})
            return 0
        if not hits:
            print("Nothing found.")
        for number, hit in enumerate(hits, 1):
            where = hit.deployment_id or hit.investigation_id or hit.source
            print(f"{number}. [{hit.kind}] {hit.heading}  (score {hit.score:.2f})")
            print(f"   {where}")
            snippet = " ".join(hit.text.split())
            print(f"   {snippet[:200]}{'…' if len(snippet) > 200 else ''}")
        out.note(_model_note(index.model))
        return 0

    raise typer.Exit(with_runtime(current(), body, "knowledge search"))
