"""Run records: one directory per run, written atomically, resumable step by step.

A run directory holds

- ``config.yaml``: the resolved configuration (defaults filled in);
- ``provenance.json``: simfer version and git commit, library versions, platform,
  start and end times (UTC) and seeds;
- ``run.log``: the log of the run;
- ``summary.json``: a flat object of headline figures, units in the key names;
- ``tables/*.parquet``: result tables with their units (astropy Table round-trip);
- ``fields/*.nc``: gridded fields (xarray, NetCDF);
- ``figures/*.png``;
- ``steps.json``: for each completed step, the hash of its inputs and its outputs,
  so that ``--resume`` can skip it.

Every file is written under a temporary name and renamed into place, so an
interrupted run never leaves a half-written file behind a valid name.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from astropy.table import QTable, Table

import simfer

__all__ = ["RunRecord", "atomic_write", "content_hash", "provenance"]

logger = logging.getLogger(__name__)

#: Libraries whose versions every run records (absent ones are recorded as None).
RECORDED_PACKAGES = (
    "numpy",
    "scipy",
    "jax",
    "jaxlib",
    "torch",
    "sbi",
    "lalsuite",
    "astropy",
    "cosmic-popsynth",
    "pydantic",
    "pyarrow",
    "xarray",
)


@contextmanager
def atomic_write(path: str | Path, mode: str = "w") -> Iterator[Any]:
    """Open a temporary file beside ``path``; rename it onto ``path`` on success.

    On an exception the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
    )
    try:
        with os.fdopen(descriptor, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, _default_file_mode())  # mkstemp makes files 0600
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _default_file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_path(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(temporary_path)`` then rename the result onto ``path``.

    For writers (Parquet, NetCDF, PNG) that insist on opening the file themselves.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.stem}.tmp{os.getpid()}{path.suffix}")
    try:
        write(temporary)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def content_hash(obj: Any) -> str:
    """SHA-256 of the canonical JSON form of ``obj`` (sorted keys)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def provenance(seeds: dict[str, Any] | None = None) -> dict[str, Any]:
    """Collect what is needed to say how a run was produced."""
    versions = {}
    for package in RECORDED_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "simfer_version": simfer.__version__,
        "git": _git_state(Path(simfer.__file__).resolve().parent.parent),
        "packages": versions,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "seeds": seeds or {},
    }


def _git_state(directory: Path) -> dict[str, Any]:
    def git(*args: str) -> str | None:
        try:
            result = subprocess.run(
                ["git", "-C", str(directory), *args],
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return result.stdout.strip()

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status)}


@dataclass
class RunRecord:
    """The directory of one run and the only way a run writes files.

    Parameters
    ----------
    directory : pathlib.Path
        Where the run's files go; created if missing.
    resume : bool
        If true, completed steps whose input hash is unchanged are reused.
    """

    directory: Path
    resume: bool = False
    _steps: dict[str, dict[str, Any]] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.directory = Path(self.directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        steps_file = self.directory / "steps.json"
        if self.resume and steps_file.exists():
            self._steps = json.loads(steps_file.read_text())

    # -- plain files -----------------------------------------------------------

    def write_text(self, name: str, text: str) -> Path:
        """Write a text file atomically and return its path."""
        path = self.directory / name
        with atomic_write(path) as handle:
            handle.write(text)
        return path

    def write_json(self, name: str, obj: Any) -> Path:
        """Write ``obj`` as indented JSON atomically."""
        return self.write_text(name, json.dumps(obj, indent=2, default=str) + "\n")

    def write_yaml(self, name: str, obj: Any) -> Path:
        """Write ``obj`` as YAML atomically, keys in their given order."""
        return self.write_text(name, yaml.safe_dump(obj, sort_keys=False))

    # -- tables, fields, figures -----------------------------------------------

    def table_path(self, name: str) -> Path:
        """Path of the Parquet file of table ``name``."""
        return self.directory / "tables" / f"{name}.parquet"

    def write_table(self, name: str, table: Table) -> Path:
        """Write an astropy table as Parquet, units kept in the file's metadata."""
        path = self.table_path(name)
        table = Table(table, copy=False)
        for column_name in table.colnames:
            # pandas gives strings as object arrays; Parquet needs a string dtype
            if table[column_name].dtype == object:
                table[column_name] = np.asarray(table[column_name], dtype=str)
        atomic_path(
            path, lambda tmp: table.write(tmp, format="parquet", overwrite=True)
        )
        return path

    def read_table(self, name: str) -> QTable:
        """Read back a table written by :meth:`write_table`, with its units."""
        return QTable.read(self.table_path(name), format="parquet")

    def write_dataset(self, name: str, dataset: Any) -> Path:
        """Write an xarray Dataset as NetCDF."""
        path = self.directory / "fields" / f"{name}.nc"
        atomic_path(path, lambda tmp: dataset.to_netcdf(tmp, engine="h5netcdf"))
        return path

    def write_figure(self, name: str, figure: Any) -> Path:
        """Save a matplotlib figure as PNG."""
        path = self.directory / "figures" / f"{name}.png"
        atomic_path(path, lambda tmp: figure.savefig(tmp, dpi=120, format="png"))
        return path

    # -- resumable steps -------------------------------------------------------

    def step(
        self,
        name: str,
        inputs: Any,
        compute: Callable[[], dict[str, Table]],
    ) -> dict[str, QTable]:
        """Run a step producing tables, or reuse its outputs on ``--resume``.

        Parameters
        ----------
        name : str
            Step name, unique within the run.
        inputs : Any
            JSON-serialisable description of everything the step depends on
            (its resolved config, seeds, upstream hashes). Its hash decides
            whether stored outputs may be reused.
        compute : callable
            Returns the step's tables by name; called only when needed.

        Returns
        -------
        dict of str to astropy.table.QTable
        """
        key = content_hash(inputs)
        previous = self._steps.get(name)
        if self.resume and previous is not None:
            complete = all(self.table_path(t).exists() for t in previous["tables"])
            if previous["inputs_hash"] == key and complete:
                try:
                    tables = {t: self.read_table(t) for t in previous["tables"]}
                except (OSError, ValueError) as error:  # e.g. a truncated file
                    logger.warning("step %s: stored results unreadable (%s); "
                                   "recomputing", name, error)  # fmt: skip
                else:
                    logger.info(
                        "step %s: inputs unchanged, reusing stored results", name
                    )
                    return tables
            if previous["inputs_hash"] != key:
                logger.warning(
                    "step %s: inputs changed since the stored run; recomputing", name
                )

        self._steps.pop(name, None)
        self.write_json("steps.json", self._steps)
        tables = compute()
        for table_name, table in tables.items():
            self.write_table(table_name, table)
        self._steps[name] = {
            "inputs_hash": key,
            "tables": sorted(tables),
            "completed_utc": datetime.now(UTC).isoformat(),
        }
        self.write_json("steps.json", self._steps)
        return {t: self.read_table(t) for t in tables}
