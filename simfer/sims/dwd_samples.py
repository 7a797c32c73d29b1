"""Where DWD samples are kept: Parquet files, the cache and shipped samples.

A ``DWDSample`` is the table of DWDs at formation from one COSMIC run (see
``simfer.sims.binary_evolution`` for its columns) together with the run's
stellar-mass budget and provenance. It is stored as one Parquet file whose
schema metadata hold everything but the table, written atomically.
``DWDSampleCache`` keeps such files keyed by settings hash, size, seed and
COSMIC version, and falls back on the samples shipped in ``simfer/data``
(``shipped_sample_labels``, ``load_shipped_sample``) before evolving a new one.

References
----------
Breivik K. et al., 2020, ApJ, 898, 71 (COSMIC).
"""

from __future__ import annotations

import importlib.resources
import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from simfer.sims.binary_evolution import (
    COLUMN_UNITS,
    FORMAT_VERSION,
    PopulationSynthesisSettings,
    _cosmic_version,
    evolve_dwd_sample,
    metallicity_label,
    settings_hash,
)

logger = logging.getLogger(__name__)

__all__ = [
    "DWDSample",
    "DWDSampleCache",
    "load_shipped_sample",
    "shipped_sample_labels",
]

_METADATA_KEY = b"simfer.dwd_sample"


@dataclass(frozen=True)
class DWDSample:
    """DWDs at formation from one COSMIC run, with the run's mass budget.

    Attributes
    ----------
    dwds : pandas.DataFrame
        One row per DWD; columns and units in ``COLUMN_UNITS``.
    settings : PopulationSynthesisSettings
        Settings of the run.
    settings_hash : str
        ``settings_hash(settings)``.
    seed : int
        Seed of the run.
    n_binaries_sampled : int
        Binaries evolved (dropped ones included).
    n_dropped : int
        Binaries with no usable evolution: timed out, failed, missing from
        COSMIC's output or stopped by a COSMIC error (evol_type >= 100).
    total_mass_formed : float
        Stellar mass in Msun represented by the binaries that were evolved
        successfully, counting singles and stars outside the evolved mass
        window (dropped binaries are removed from the budget pro rata).
    cosmic_version : str
        Version of cosmic-popsynth that made the sample.
    provenance : dict
        Other counts and timings (``n_timed_out``, ``runtime_s``, ...).
    """

    dwds: pd.DataFrame
    settings: PopulationSynthesisSettings
    settings_hash: str
    seed: int
    n_binaries_sampled: int
    n_dropped: int
    total_mass_formed: float
    cosmic_version: str
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def dwds_per_solar_mass(self) -> float:
        """DWDs formed per solar mass of stars formed, in 1/Msun."""
        return len(self.dwds) / self.total_mass_formed

    def metadata(self) -> dict[str, Any]:
        """JSON-serialisable metadata (everything except the table)."""
        return {
            "format_version": FORMAT_VERSION,
            "settings": self.settings.model_dump(mode="json"),
            "settings_hash": self.settings_hash,
            "seed": int(self.seed),
            "n_binaries_sampled": int(self.n_binaries_sampled),
            "n_dropped": int(self.n_dropped),
            "total_mass_formed": float(self.total_mass_formed),
            "cosmic_version": self.cosmic_version,
            "column_units": COLUMN_UNITS,
            "provenance": self.provenance,
        }

    def to_parquet(self, path: str | os.PathLike) -> Path:
        """Write to Parquet atomically (temporary file, then ``os.replace``)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pandas(self.dwds, preserve_index=False)
        schema_meta = dict(table.schema.metadata or {})
        schema_meta[_METADATA_KEY] = json.dumps(self.metadata()).encode()
        table = table.replace_schema_metadata(schema_meta)
        handle, tmp = tempfile.mkstemp(dir=path.parent, suffix=".parquet.tmp")
        os.close(handle)
        umask = os.umask(0o022)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files
        try:
            pq.write_table(table, tmp, compression="zstd")
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        return path

    @classmethod
    def from_parquet(cls, path: str | os.PathLike) -> DWDSample:
        """Read a sample written by ``to_parquet``; checks the settings hash."""
        table = pq.read_table(path)
        meta = _read_metadata(table.schema, path)
        settings = PopulationSynthesisSettings.model_validate(meta["settings"])
        if settings_hash(settings) != meta["settings_hash"]:
            raise ValueError(f"{path}: stored settings do not match settings_hash")
        return cls(
            dwds=table.to_pandas(),
            settings=settings,
            settings_hash=meta["settings_hash"],
            seed=meta["seed"],
            n_binaries_sampled=meta["n_binaries_sampled"],
            n_dropped=meta["n_dropped"],
            total_mass_formed=meta["total_mass_formed"],
            cosmic_version=meta["cosmic_version"],
            provenance=meta["provenance"],
        )


def _read_metadata(schema: pa.Schema, path: str | os.PathLike) -> dict[str, Any]:
    raw = (schema.metadata or {}).get(_METADATA_KEY)
    if raw is None:
        raise ValueError(f"{path} is not a simfer DWD sample (no metadata)")
    meta = json.loads(raw)
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path} has format_version {meta.get('format_version')}, "
            f"expected {FORMAT_VERSION}"
        )
    return meta


_SHIPPED_FILE = "dwd_sample_{label}.parquet"


def _shipped_path(label: str):
    return importlib.resources.files("simfer").joinpath(
        "data", _SHIPPED_FILE.format(label=label)
    )


def shipped_sample_labels() -> list[str]:
    """Labels (e.g. ``"z0p02"``) of the DWD samples shipped with simfer."""
    data = importlib.resources.files("simfer").joinpath("data")
    if not data.is_dir():
        return []
    prefix, suffix = _SHIPPED_FILE.split("{label}")
    names = [p.name for p in data.iterdir() if p.name.startswith(prefix)]
    return sorted(n[len(prefix) : -len(suffix)] for n in names if n.endswith(suffix))


def load_shipped_sample(metallicity: str | float) -> DWDSample:
    """Load a shipped DWD sample by label (``"z0p02"``) or metallicity (0.02)."""
    label = (
        metallicity if isinstance(metallicity, str) else metallicity_label(metallicity)
    )
    available = shipped_sample_labels()
    if label not in available:
        raise ValueError(f"no shipped DWD sample {label!r}; available: {available}")
    with importlib.resources.as_file(_shipped_path(label)) as path:
        return DWDSample.from_parquet(path)


class DWDSampleCache:
    """Parquet cache of DWD samples keyed by settings hash, size, seed and COSMIC.

    Parameters
    ----------
    directory : str or os.PathLike
        Folder holding the cached files (created on first write).
    """

    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory)

    def path_for(
        self, settings: PopulationSynthesisSettings, n_binaries: int, seed: int
    ) -> Path:
        """File that holds (or will hold) the sample for these arguments."""
        version = _cosmic_version().replace(".", "p")
        name = (
            f"dwd_{settings_hash(settings)[:24]}_n{n_binaries}_s{seed}_cosmic{version}"
        )
        return self.directory / f"{name}.parquet"

    def get_or_create(
        self,
        settings: PopulationSynthesisSettings,
        n_binaries: int,
        seed: int,
        n_proc: int = 1,
    ) -> DWDSample:
        """Return the cached sample, a matching shipped one, or evolve and store."""
        key = (settings_hash(settings), int(n_binaries), int(seed), _cosmic_version())
        path = self.path_for(settings, n_binaries, seed)
        if path.exists():
            try:
                sample = DWDSample.from_parquet(path)
                if _sample_key(sample) == key:
                    logger.info("Loaded cached DWD sample %s", path)
                    return sample
                logger.warning(
                    "Cached file %s does not match its key; rebuilding", path
                )
            except (OSError, ValueError, pa.ArrowException) as exc:
                logger.warning("Unreadable cache file %s (%s); rebuilding", path, exc)
        for label in shipped_sample_labels():
            with importlib.resources.as_file(_shipped_path(label)) as shipped:
                meta = _read_metadata(pq.read_schema(shipped), shipped)
                shipped_key = (
                    meta["settings_hash"], meta["n_binaries_sampled"], meta["seed"],
                    meta["cosmic_version"],
                )  # fmt: skip
                if shipped_key == key:
                    logger.info("Using shipped DWD sample %s", label)
                    return DWDSample.from_parquet(shipped)
        sample = evolve_dwd_sample(settings, n_binaries, seed, n_proc=n_proc)
        sample.to_parquet(path)
        logger.info("Cached DWD sample in %s", path)
        return sample


def _sample_key(sample: DWDSample) -> tuple[str, int, int, str]:
    return (
        sample.settings_hash,
        sample.n_binaries_sampled,
        sample.seed,
        sample.cosmic_version,
    )
