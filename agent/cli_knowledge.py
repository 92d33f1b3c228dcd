"""CLI commands for `runbook knowledge ...` (the semantic memory issue).

Keep imports here light (typer only): chromadb and the model load inside the commands.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

if TYPE_CHECKING:
    from memory.recall import Recall
    from tools.config import RunbookConfig

knowledge_app = typer.Typer(
    help="What runbook remembers: runbooks, postmortems and past deployments, searched by meaning.",
    no_args_is_help=True,
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


class _Failed(Exception):
    pass


def _fail(message: str) -> None:
    print(f"Error: {message}", file=sys.stderr)
    raise typer.Exit(2)


def _config(path: Path | None) -> RunbookConfig:
    from tools.config import ConfigError, load_config

    try:
        return load_config(path)
    except ConfigError as exc:
        raise _Failed(str(exc)) from None


def _folder(config: RunbookConfig) -> Path:
    from memory.recall import bundled_examples

    folder = config.knowledge.folder
    if not folder:
        return bundled_examples()
    path = Path(folder).expanduser()
    return path if path.is_absolute() else Path.cwd() / path


def _open(config: RunbookConfig) -> Recall:
    from memory.recall import Recall

    knowledge = config.knowledge
    try:
        return Recall.in_state_dir(
            config.state_path(), embedding=knowledge.embedding, vocab_path=knowledge.vocab_path
        )
    except FileNotFoundError as exc:
        raise _Failed(str(exc)) from None


def _sync_scratchpad(config: RunbookConfig, index: Recall) -> int:
    """Index the scratchpad's deployments and investigations, if there is a scratchpad."""
    from memory._schema import DB_FILENAME
    from memory.scratchpad import Scratchpad

    if not (config.state_path() / DB_FILENAME).exists():
        return 0
    with Scratchpad.in_dir(config.state_path()) as pad:
        return index.sync_from_scratchpad(pad)


def _model_note(model: str) -> str:
    if model.startswith("hashing"):
        return (f"embedding: {model} (lexical: no WordPiece vocab.txt is installed for MiniLM;"
                " set knowledge.vocab_path to use it)")
    return f"embedding: {model}"


def _guard(body: Any) -> None:
    try:
        body()
    except _Failed as exc:
        _fail(str(exc))


@knowledge_app.command("add")
def add(
    path: Annotated[Path, typer.Argument(help="A markdown file, or a folder of them.")],
    config: ConfigOption = None,
) -> None:
    """Index a markdown runbook or postmortem (or a folder of them), split into sections by heading."""

    def body() -> None:
        if not path.exists():
            raise _Failed(f"{path}: no such file or folder.")
        loaded = _config(config)
        index = _open(loaded)
        from memory.recall_docs import markdown_files

        files = markdown_files(path)
        if not files:
            raise _Failed(f"{path}: no markdown (.md) files found.")
        written = index.add_knowledge(path, max_chars=loaded.knowledge.max_section_chars)
        print(f"Indexed {path}: {len(files)} file(s), {written} section(s) new or changed.")

    _guard(body)


@knowledge_app.command("sync")
def sync(config: ConfigOption = None) -> None:
    """Re-index the configured knowledge folder and the scratchpad's deployments and investigations."""

    def body() -> None:
        loaded = _config(config)
        folder = _folder(loaded)
        if not folder.is_dir():
            raise _Failed(f"knowledge.folder {folder} is not a folder.")
        index = _open(loaded)
        sections = index.add_knowledge(folder, max_chars=loaded.knowledge.max_section_chars)
        records = _sync_scratchpad(loaded, index)
        print(f"Knowledge: {folder} — {sections} section(s) new or changed.")
        print(f"Scratchpad: {records} deployment(s)/investigation(s) new or changed.")
        print(f"Index: {index.count()} entries ({_model_note(index.model)}).")

    _guard(body)


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

    def body() -> None:
        import json

        from memory.recall import KINDS

        fmt = output.lower()
        if fmt not in ("plain", "json", "auto", "rich"):
            raise _Failed(f"--output must be plain or json, not '{output}'.")
        bad = sorted(set(kind or []) - set(KINDS))
        if bad:
            raise _Failed(f"unknown --kind {', '.join(bad)}; expected one of {', '.join(KINDS)}.")
        loaded = _config(config)
        index = _open(loaded)
        folder = _folder(loaded)
        if folder.is_dir() and not index.has_root(folder):
            index.add_knowledge(folder, max_chars=loaded.knowledge.max_section_chars)
        _sync_scratchpad(loaded, index)
        hits = index.recall(query, kinds=kind or None, service=service, limit=limit)
        if fmt == "json":
            dumped = [h.model_dump(mode="json") for h in hits]
            payload = {"query": query, "model": index.model, "hits": dumped}
            print(json.dumps(payload, indent=2))
            return
        if not hits:
            print("Nothing found.")
        for number, hit in enumerate(hits, 1):
            where = hit.deployment_id or hit.investigation_id or hit.source
            print(f"{number}. [{hit.kind}] {hit.heading}  (score {hit.score:.2f})")
            print(f"   {where}")
            snippet = " ".join(hit.text.split())
            print(f"   {snippet[:200]}{'…' if len(snippet) > 200 else ''}")
        print(_model_note(index.model), file=sys.stderr)

    _guard(body)
