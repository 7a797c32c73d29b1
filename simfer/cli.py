"""The ``simfer`` command line: run, validate, list, show, schema.

Exit status 0 on success, 2 on a workflow file that does not validate (nothing is
written then), 1 on a failure during a run.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TypeVar

import typer
import yaml
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from simfer import __version__

app = typer.Typer(
    name="simfer",
    help="simfer: scientific simulation and inference workflows.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
error_console = Console(stderr=True)

T = TypeVar("T")

CONFIG_ERROR_EXIT = 2


def _configure_logging(verbose: bool = False) -> None:
    logger = logging.getLogger("simfer")
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    if not any(isinstance(h, RichHandler) for h in logger.handlers):
        handler = RichHandler(console=error_console, show_path=False)
        handler.setLevel(logging.DEBUG if verbose else logging.INFO)
        logger.addHandler(handler)


def _progress(items: Iterable[T], description: str, total: int | None) -> Iterator[T]:
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=error_console, transient=True) as progress:
        yield from progress.track(items, total=total, description=description)


def _report_config_error(error: Exception) -> None:
    # Plain lines rather than a table: key paths must never be wrapped or cut, so
    # that users (and scripts) can search for them.
    error_console.print(
        f"[bold red]invalid workflow[/] {error.source}: "
        f"{len(error.problems)} problem(s)",
        highlight=False,
    )
    for problem in error.problems:
        error_console.print(
            f"  - {problem}", markup=False, highlight=False, soft_wrap=True
        )


def _prepare_or_exit(path: Path, overrides: list[str]):
    from simfer.workflow.loading import WorkflowConfigError
    from simfer.workflow.runner import prepare

    try:
        return prepare(path, overrides)
    except WorkflowConfigError as error:
        _report_config_error(error)
        raise typer.Exit(CONFIG_ERROR_EXIT) from None


@app.command()
def run(
    workflow_file: Annotated[Path, typer.Argument(help="Workflow YAML file.")],
    out: Annotated[
        Path | None,
        typer.Option(help="Run directory [default: runs/<file>-<UTC time>]."),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a key: --set config.key.path=value."),
    ] = None,
    resume: Annotated[
        bool, typer.Option(help="Continue an interrupted run in --out.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Validate a workflow file, then run it into a run directory."""
    from simfer.workflow.jobs import JobInputError
    from simfer.workflow.runner import RunDirectoryExistsError
    from simfer.workflow.runner import run as run_workflow

    _configure_logging(verbose)
    prepared = _prepare_or_exit(workflow_file, set_ or [])
    if out is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        out = Path("runs") / f"{workflow_file.stem}-{stamp}"
    if resume and not (out / "config.yaml").exists():
        error_console.print(f"[yellow]nothing to resume in {out}; starting afresh")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        error_console.print(f"[bold red]error:[/] cannot use --out {out}: {error}")
        raise typer.Exit(CONFIG_ERROR_EXIT) from None
    try:
        directory = run_workflow(prepared, out, resume=resume, progress=_progress)
    except RunDirectoryExistsError as error:
        error_console.print(f"[bold red]error:[/] {error}")
        raise typer.Exit(CONFIG_ERROR_EXIT) from None
    except JobInputError as error:
        error_console.print(f"[bold red]error:[/] {error}")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        error_console.print(
            f"[yellow]interrupted[/]: completed steps are kept in {out}; "
            "rerun the same command with --resume to continue"
        )
        raise typer.Exit(130) from None
    console.print(f"[bold green]done[/]: results in {directory}")
    _print_summary(directory)


@app.command()
def validate(
    workflow_file: Annotated[Path, typer.Argument(help="Workflow YAML file.")],
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a key: --set config.key.path=value."),
    ] = None,
) -> None:
    """Check a workflow file and print it fully resolved (defaults filled in)."""
    _configure_logging()
    prepared = _prepare_or_exit(workflow_file, set_ or [])
    error_console.print(
        f"[bold green]valid[/] {workflow_file} (kind {prepared.job.name})"
    )
    typer.echo(yaml.safe_dump(prepared.resolved(), sort_keys=False), nl=False)


@app.command("list")
def list_kinds() -> None:
    """List the job kinds a workflow file can name."""
    from simfer.workflow.jobs import JOB_DESCRIPTIONS

    table = Table("kind", "description", header_style="bold")
    for name, description in sorted(JOB_DESCRIPTIONS.items()):
        table.add_row(name, description)
    console.print(table)


@app.command()
def show(
    run_dir: Annotated[Path, typer.Argument(help="A run directory.")],
) -> None:
    """Summarise a finished run: what ran, when, and its headline figures."""
    if not (run_dir / "config.yaml").exists():
        error_console.print(f"[bold red]error:[/] {run_dir} is not a run directory")
        raise typer.Exit(CONFIG_ERROR_EXIT)
    try:
        config = yaml.safe_load((run_dir / "config.yaml").read_text()) or {}
        console.print(
            f"[bold]{run_dir}[/]: kind {config.get('kind')}, seed {config.get('seed')}"
        )
        provenance_file = run_dir / "provenance.json"
        if provenance_file.exists():
            info = json.loads(provenance_file.read_text())
            git = info.get("git", {})
            console.print(
                f"simfer {info.get('simfer_version')} (commit {git.get('commit')}, "
                f"dirty {git.get('dirty')}), "
                f"{info.get('start_utc')} -> {info.get('end_utc')}"
            )
        else:
            console.print("[yellow]incomplete run: no provenance.json (use --resume)")
        _print_summary(run_dir)
    except (OSError, ValueError, AttributeError, yaml.YAMLError) as error:
        error_console.print(
            f"[bold red]error:[/] damaged run record in {run_dir}: {error}"
        )
        raise typer.Exit(CONFIG_ERROR_EXIT) from None
    for sub in ("tables", "fields", "figures"):
        files = sorted((run_dir / sub).glob("*")) if (run_dir / sub).exists() else []
        if files:
            console.print(f"{sub}: " + ", ".join(f.name for f in files))


def _print_summary(run_dir: Path) -> None:
    summary_file = run_dir / "summary.json"
    if not summary_file.exists():
        return
    summary = json.loads(summary_file.read_text())
    table = Table("figure", "value", header_style="bold")
    for key, value in summary.items():
        table.add_row(key, f"{value:.4g}" if isinstance(value, float) else str(value))
    console.print(table)


@app.command()
def schema(
    kind: Annotated[str, typer.Argument(help="A job kind (see `simfer list`).")],
) -> None:
    """Print the JSON Schema of a job kind's workflow file, for editors."""
    from simfer.workflow.jobs import JOB_DESCRIPTIONS, get_job_kind
    from simfer.workflow.runner import WorkflowFile

    if kind not in JOB_DESCRIPTIONS:
        error_console.print(
            f"[bold red]error:[/] unknown kind {kind!r}; known kinds: "
            + ", ".join(sorted(JOB_DESCRIPTIONS))
        )
        raise typer.Exit(CONFIG_ERROR_EXIT)
    document = WorkflowFile.model_json_schema()
    document["properties"]["kind"] = {"const": kind}
    config_schema = get_job_kind(kind).config_model.model_json_schema()
    document.setdefault("$defs", {}).update(config_schema.pop("$defs", {}))
    document["properties"]["config"] = config_schema
    document["title"] = f"simfer workflow: {kind}"
    console.print_json(json.dumps(document))


@app.callback(invoke_without_command=True)
def main(
    version: Annotated[bool, typer.Option("--version", help="Print version.")] = False,
) -> None:
    """simfer: scientific simulation and inference workflows."""
    if version:
        console.print(f"simfer {__version__}")
        raise typer.Exit()


if __name__ == "__main__":
    app()
