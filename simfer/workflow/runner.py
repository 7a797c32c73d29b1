"""The workflow runner: validate a workflow file completely, then run it into a record.

Nothing is written until the whole file has validated. A run goes into one
directory (see :mod:`simfer.workflow.records`); ``resume=True`` reuses the steps of
an interrupted run whose inputs are unchanged.
"""

from __future__ import annotations

import logging
import warnings
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field

from simfer.workflow.jobs import JOB_DESCRIPTIONS, JobKind, get_job_kind
from simfer.workflow.loading import (
    ConfigProblem,
    LoadedYaml,
    WorkflowConfigError,
    apply_overrides,
    load_yaml_with_lines,
    validate_model,
)
from simfer.workflow.records import RunRecord, provenance

__all__ = [
    "PreparedRun",
    "RunContext",
    "RunDirectoryExistsError",
    "WorkflowFile",
    "prepare",
    "run",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")
ProgressFactory = Callable[[Iterable[T], str, int | None], Iterator[T]]


class WorkflowFile(BaseModel):
    """The top level of a workflow file."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(description="The job kind; `simfer list` shows them.")
    seed: int = Field(
        default=0,
        ge=0,
        description="Root seed; every random step derives its own seed from it.",
    )
    description: str = Field(default="", description="Free text kept in the record.")
    config: dict[str, Any] = Field(
        default_factory=dict, description="Settings of the job kind."
    )


@dataclass
class PreparedRun:
    """A workflow file that has validated completely and can be run."""

    workflow: WorkflowFile
    job: JobKind
    config: BaseModel
    source: str

    def resolved(self) -> dict[str, Any]:
        """The fully resolved workflow (defaults filled in), as plain data."""
        return {
            "kind": self.workflow.kind,
            "seed": self.workflow.seed,
            "description": self.workflow.description,
            "config": self.config.model_dump(mode="json"),
        }


class RunDirectoryExistsError(FileExistsError):
    """The output directory holds a run already and ``resume`` was not asked for."""


def prepare(path: str | Path, overrides: Iterable[str] = ()) -> PreparedRun:
    """Read and validate a workflow file with ``key.path=value`` overrides.

    Raises
    ------
    WorkflowConfigError
        Listing every problem, each with its key path and line.
    """
    loaded = apply_overrides(load_yaml_with_lines(path), list(overrides))
    with warnings.catch_warnings():
        warnings.showwarning = _log_warning
        return prepare_loaded(loaded)


def prepare_loaded(loaded: LoadedYaml) -> PreparedRun:
    """Validate an already parsed workflow; see :func:`prepare`."""
    workflow = validate_model(WorkflowFile, loaded.data, loaded)
    if workflow.kind not in JOB_DESCRIPTIONS:
        raise WorkflowConfigError(
            loaded.source,
            [
                ConfigProblem(
                    "kind",
                    loaded.line_of(("kind",)),
                    "one of " + ", ".join(sorted(JOB_DESCRIPTIONS)),
                    repr(workflow.kind),
                )
            ],
        )
    job = get_job_kind(workflow.kind)
    config = validate_model(job.config_model, workflow.config, loaded, ("config",))
    return PreparedRun(workflow=workflow, job=job, config=config, source=loaded.source)


@dataclass
class RunContext:
    """What a job sees of the run: seeds, resumable steps, outputs, progress.

    Jobs write files only through :attr:`record`.
    """

    record: RunRecord
    seed: int
    progress: ProgressFactory = field(default=lambda items, _d, _t: iter(items))
    seeds_used: dict[str, int] = field(default_factory=dict)

    def seed_sequence(self, step: str) -> np.random.SeedSequence:
        """A seed sequence for ``step``, derived from the root seed and its name.

        The derivation depends on the step's name only, not on the order in which
        steps run, so adding a step does not change the others' random numbers.
        """
        step_key = zlib.crc32(step.encode())
        self.seeds_used[step] = step_key
        return np.random.SeedSequence(entropy=self.seed, spawn_key=(step_key,))

    def rng(self, step: str) -> np.random.Generator:
        """A numpy Generator for ``step``; see :meth:`seed_sequence`."""
        return np.random.default_rng(self.seed_sequence(step))


def _changed_keys(old: Any, new: Any, path: str = "") -> list[str]:
    """Dotted key paths whose values differ between two plain-data trees."""
    if isinstance(old, dict) and isinstance(new, dict):
        changed = []
        for key in sorted(set(old) | set(new), key=str):
            child = f"{path}.{key}" if path else str(key)
            changed += _changed_keys(old.get(key), new.get(key), child)
        return changed
    return [] if old == new else [path or "<top level>"]


def _json_safe(summary: dict[str, Any]) -> dict[str, Any]:
    """NaN and infinities are not JSON: write them as null."""
    return {
        key: None if isinstance(value, float) and not np.isfinite(value) else value
        for key, value in summary.items()
    }


def _log_warning(message, category, filename, lineno, file=None, line=None):
    logging.getLogger("simfer.warnings").warning("%s: %s", category.__name__, message)


def run(
    prepared: PreparedRun,
    out_dir: str | Path,
    *,
    resume: bool = False,
    progress: ProgressFactory | None = None,
) -> Path:
    """Run a prepared workflow into ``out_dir`` and return the run directory.

    Raises
    ------
    RunDirectoryExistsError
        If ``out_dir`` already holds a run and ``resume`` is false.
    """
    out_dir = Path(out_dir)
    stored_config = out_dir / "config.yaml"
    if stored_config.exists() and not resume:
        raise RunDirectoryExistsError(
            f"{out_dir} already holds a run; pass --resume to continue it, "
            "or choose another --out"
        )
    if stored_config.exists() and resume:
        stored = yaml.safe_load(stored_config.read_text())
        if stored != prepared.resolved():
            changed = _changed_keys(stored, prepared.resolved())
            raise RunDirectoryExistsError(
                f"{out_dir} holds a run of a different configuration "
                f"({', '.join(changed[:5])} differ); --resume continues only the "
                "same configuration, so results of two configurations never mix. "
                "Choose another --out."
            )

    record = RunRecord(out_dir, resume=resume)
    log_handler = logging.FileHandler(record.directory / "run.log", encoding="utf-8")
    log_handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    simfer_logger = logging.getLogger("simfer")
    simfer_logger.addHandler(log_handler)
    previous_level = simfer_logger.level
    if simfer_logger.getEffectiveLevel() > logging.INFO:
        simfer_logger.setLevel(logging.INFO)

    started = datetime.now(UTC)
    context = RunContext(record=record, seed=prepared.workflow.seed)
    if progress is not None:
        context.progress = progress
    try:
        logger.info(
            "running %s (kind %s) into %s",
            prepared.source,
            prepared.job.name,
            out_dir,
        )
        record.write_yaml("config.yaml", prepared.resolved())
        with warnings.catch_warnings():
            # warnings raised during the run go to the log (and so to run.log)
            warnings.showwarning = _log_warning
            try:
                summary = prepared.job.run(prepared.config, context)
            except Exception:
                logger.exception("run failed; completed steps are kept for --resume")
                raise
        record.write_json("summary.json", _json_safe(summary))
        info = provenance({"root": prepared.workflow.seed, "steps": context.seeds_used})
        info["start_utc"] = started.isoformat()
        info["end_utc"] = datetime.now(UTC).isoformat()
        info["workflow_file"] = prepared.source
        record.write_json("provenance.json", info)
        logger.info("results written to %s", out_dir)
    finally:
        simfer_logger.removeHandler(log_handler)
        simfer_logger.setLevel(previous_level)
        log_handler.close()
    return record.directory
