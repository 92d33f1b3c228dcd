"""CLI commands for `runbook knowledge ...` (the semantic memory issue).

Keep imports here light (typer only): chromadb and the model load inside the commands.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

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

ConfigOption = Annotated[
    Optional[Path],  # noqa: UP045 - typer needs Optional here
    typer.Option(
        "--config", "-c", dir_okay=False,
        help="Path to runbook.yaml (default: ./runbook.yaml, else the built-in sandbox).",
    ),
]


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


@knowledge_app.command("add")
def add(
    path: Annotated[Path, typer.Argument(help="A markdown file, or a folder of them.")],
    config: ConfigOption = None,
) -> None:
    """Index a markdown runbook or postmortem (or a folder of them), split into sections by heading."""

    def body(runtime: Runtime) -> int:
        if not path.exists():
            raise UserError(f"{path}: no such file or folder.")
        from memory.recall_docs import markdown_files

        files = markdown_files(path)
        if not files:
            raise UserError(f"{path}: no markdown (.md) files found.")
        written = _open(runtime).add_knowledge(path, max_chars=runtime.recall_settings.max_section_chars)
        print(f"Indexed {path}: {len(files)} file(s), {written} section(s) new or changed.")
        return 0

    raise typer.Exit(with_runtime(config, body))


@knowledge_app.command("sync")
def sync(config: ConfigOption = None) -> None:
    """Re-index the configured knowledge folder and the scratchpad's deployments and investigations."""

    def body(runtime: Runtime) -> int:
        folder = _folder(runtime)
        if not folder.is_dir():
            raise UserError(f"knowledge.folder {folder} is not a folder.")
        index = _open(runtime)
        sections = index.add_knowledge(folder, max_chars=runtime.recall_settings.max_section_chars)
        records = _sync_scratchpad(runtime, index)
        print(f"Knowledge: {folder} — {sections} section(s) new or changed.")
        print(f"Scratchpad: {records} deployment(s)/investigation(s) new or changed.")
        print(f"Index: {index.count()} entries ({_model_note(index.model)}).")
        return 0

    raise typer.Exit(with_runtime(config, body))


@knowledge_app.command("search")
def search(
    query: Annotated[str, typer.Argument(help='What to look for, e.g. "Redis connection errors".')],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=50, help="How many results.")] = 5,
    kind: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--kind", "-k", help="runbook, postmortem, deployment or investigation (repeatable)."),
    ] = None,
    service: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--service", "-s", help="Only entries about this service."),
    ] = None,
    output: Annotated[str, typer.Option("--output", "-o", help="plain or json.")] = "plain",
    config: ConfigOption = None,
) -> None:
    """Search runbooks, postmortems and past deployments and investigations by meaning."""

    def body(runtime: Runtime) -> int:
        import json

        from memory.recall import KINDS

        fmt = output.lower()
        if fmt not in ("plain", "json", "auto", "rich"):
            raise UserError(f"--output must be plain or json, not '{output}'.")
        bad = sorted(set(kind or []) - set(KINDS))
        if bad:
            raise UserError(f"unknown --kind {', '.join(bad)}; expected one of {', '.join(KINDS)}.")
        index = _open(runtime)
        folder = _folder(runtime)
        if folder.is_dir() and not index.has_root(folder):
            index.add_knowledge(folder, max_chars=runtime.recall_settings.max_section_chars)
        _sync_scratchpad(runtime, index)
        hits = index.recall(query, kinds=kind or None, service=service, limit=limit)
        if fmt == "json":
            dumped = [h.model_dump(mode="json") for h in hits]
            payload = {"query": query, "model": index.model, "hits": dumped}
            print(json.dumps(payload, indent=2))
            return 0
        if not hits:
            print("Nothing found.")
        for number, hit in enumerate(hits, 1):
            where = hit.deployment_id or hit.investigation_id or hit.source
            print(f"{number}. [{hit.kind}] {hit.heading}  (score {hit.score:.2f})")
            print(f"   {where}")
            snippet = " ".join(hit.text.split())
            print(f"   {snippet[:200]}{'…' if len(snippet) > 200 else ''}")
        print(_model_note(index.model), file=sys.stderr)
        return 0

    raise typer.Exit(with_runtime(config, body))
