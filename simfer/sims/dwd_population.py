"""The Galaxy's double white dwarfs (DWDs) today: catalogue, SNRs and counts.

:func:`assemble_population` is the driver. It assigns a COSMIC sample to each
Galactic component, plans chunks of simulated systems, maps
:func:`~simfer.sims.dwd_chunks.simulate_chunk` over them with any ``map``
(builtin, ``concurrent.futures``, Dask) and gathers the chunks' catalogue columns
and per-row counts into a :class:`GalacticPopulation`. What a chunk does
(normalisation, ages, orbital decay, sky positions, SNRs), the frequency cut and
the seeding are described in :mod:`simfer.sims.dwd_chunks`: the population depends
on ``seed``, ``galaxy_fraction`` and ``seed_block_size`` only. Peak memory grows
with ``chunk_size`` plus the catalogue (about 180 bytes per catalogued system).

Uncertainty. The counts carry a bootstrap over the COSMIC sample (Efron 1979):
each replicate reweights the sample rows by multinomial weights (B replicates,
seeded by ``spawn_key=(2,)``) and recounts. This measures how the finite COSMIC
sample's composition moves the counts; the statistical noise of the DWD rate
itself (1/sqrt(rows)) is not included. ``poisson_std`` gives the Monte Carlo noise
of the simulated realisation, ``sqrt(n) / galaxy_fraction``.

The chunk-level API of :mod:`simfer.sims.dwd_chunks` (:class:`ChunkSpec`,
:class:`ChunkPlan`, :class:`ChunkResult`, :func:`plan_chunks`,
:func:`simulate_chunk`, :func:`assign_samples`, :class:`MetallicityMismatchWarning`,
``SEED_BLOCK_SIZE``, ``DEFAULT_CHUNK_SIZE``) is re-exported here.

References
----------
Efron B., 1979, Ann. Stat., 7, 1 (bootstrap).
Nelemans G. et al., 2001, A&A, 375, 890; Korol V. et al., 2017, MNRAS, 470, 1894
(Galactic DWD populations assembled from population synthesis).
Jin et al., 2025, MNRAS, 536, 2770 (LISA and TianQin DWD detections).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import astropy.units as u
import numpy as np
import pandas as pd
from astropy.table import QTable

from simfer.sims.detectors import Detector
from simfer.sims.dwd_chunks import (
    _CHUNK_STAGES,
    _TYPE_NAMES,
    DEFAULT_CHUNK_SIZE,
    DEFAULT_F_MIN,
    SEED_BLOCK_SIZE,
    ChunkPlan,
    ChunkResult,
    ChunkSpec,
    MetallicityMismatchWarning,
    _metallicity,
    _resolve_detectors,
    _root_entropy,
    _seed_sequence,
    assign_samples,
    plan_chunks,
    simulate_chunk,
)
from simfer.sims.dwd_optical import (
    ECLIPSING_UNITS,
    MAGNITUDE_SYSTEMS,
    OpticalSettings,
    eclipsing_columns,
    optical_count_keys,
)
from simfer.sims.dwd_samples import DWDSample
from simfer.sims.galaxy import MCMILLAN_2017, MilkyWayModel
from simfer.sims.star_formation import MODEL_1, StarFormationModel

logger = logging.getLogger(__name__)

__all__ = [
    "CATALOGUE_UNITS",
    "DEFAULT_CHUNK_SIZE",
    "SEED_BLOCK_SIZE",
    "ChunkPlan",
    "ChunkResult",
    "ChunkSpec",
    "CountEstimate",
    "GalacticPopulation",
    "MetallicityMismatchWarning",
    "assemble_population",
    "assign_samples",
    "plan_chunks",
    "simulate_chunk",
]

_TOTAL_KEYS = ("formed", "not_yet_dwd", "alive", "merged", "in_band")

#: Units of the catalogue columns (SNRs, cos_i, ecc and labels are dimensionless).
CATALOGUE_UNITS = {
    "mass_1": u.Msun, "mass_2": u.Msun, "chirp_mass": u.Msun, "f_gw": u.Hz,
    "fdot": u.Hz / u.s, "sep": u.Rsun, "age": u.Gyr, "distance": u.kpc,
    "l": u.rad, "b": u.rad, "lon_ecl": u.rad, "lat_ecl": u.rad, "psi": u.rad,
    "phase": u.rad, "cooling_age_1": u.Gyr, "cooling_age_2": u.Gyr,
}  # fmt: skip


# -------------------------------------------------------------------- results
@dataclass(frozen=True)
class CountEstimate:
    """A Galactic count with its uncertainties.

    Attributes
    ----------
    value : float
        Weighted count of the simulated realisation (systems / galaxy_fraction).
    std : float
        Standard deviation over the bootstrap replicates of the COSMIC sample.
    p16, p84 : float
        16th and 84th percentiles of the bootstrap replicates.
    poisson_std : float
        Monte Carlo noise of the realisation, ``sqrt(n) / galaxy_fraction``.
    replicates : numpy.ndarray
        The bootstrap replicate counts.
    """

    value: float
    std: float
    p16: float
    p84: float
    poisson_std: float
    replicates: np.ndarray = field(repr=False)


@dataclass
class GalacticPopulation:
    """The Galaxy's DWDs today: catalogue above the frequency cut and counts.

    Attributes
    ----------
    catalogue : pandas.DataFrame
        One row per simulated system with ``f_gw >= f_min_catalogue``; units in
        :data:`CATALOGUE_UNITS` (masses Msun, ``f_gw`` Hz, ``fdot`` Hz/s (GR
        chirp), ``sep`` Rsun, ``age`` Gyr (lookback time of birth),
        ``distance`` kpc, angles rad); ``snr_<det>`` per-source and
        ``snr_avg_<det>`` sky/orientation-averaged SNRs, ``_joint`` for the
        network. Each row stands for ``system_weight`` Galactic systems.
    counts : dict of str to CountEstimate
        ``detected_<det>`` and ``detected_joint``: per-source SNR above threshold.
    totals : dict of str to CountEstimate
        ``formed`` (DWD progenitors formed), ``not_yet_dwd``, ``alive`` (detached
        DWDs today), ``merged`` (reached contact or merged), ``in_band``
        (``alive`` with ``f_gw >= f_min_catalogue``).
    counts_by_component : dict
        Component -> count name -> weighted count.
    expected_formed : dict
        Component -> mean number of DWD progenitors formed in the whole Galaxy.
    component_samples : dict
        Component -> metallicity of the DWD sample it used.
    system_weight : float
        ``1 / galaxy_fraction``.
    timings : dict
        Seconds per stage (chunk stages summed over chunks).
    settings : dict
        Seed, fraction, thresholds, chunking and model names of the run.
    optical_counts : dict of str to CountEstimate
        With optical surveys: ``optical_eclipsing`` (detached, below the period
        cut, eclipsing geometry), ``optical_<survey>`` (detected by the survey)
        and ``optical_<survey>_<det>`` (also detected by detector ``<det>`` or
        the ``joint`` network); empty without them.
    eclipsing : pandas.DataFrame
        With optical surveys: the eclipsing systems within reach of a survey (see
        :mod:`simfer.sims.dwd_optical` for the columns); each row stands for
        ``system_weight`` systems. Empty without them.
    """

    catalogue: pd.DataFrame
    counts: dict[str, CountEstimate]
    totals: dict[str, CountEstimate]
    counts_by_component: dict[str, dict[str, float]]
    expected_formed: dict[str, float]
    component_samples: dict[str, float]
    system_weight: float
    timings: dict[str, float]
    settings: dict[str, Any]
    optical_counts: dict[str, CountEstimate] = field(default_factory=dict)
    eclipsing: pd.DataFrame = field(default_factory=pd.DataFrame)

    def to_qtable(self) -> QTable:
        """The catalogue as an astropy QTable with units."""
        return _frame_to_qtable(self.catalogue, CATALOGUE_UNITS, self.system_weight)

    def eclipsing_qtable(self) -> QTable:
        """The eclipsing catalogue as an astropy QTable with units."""
        table = _frame_to_qtable(self.eclipsing, ECLIPSING_UNITS, self.system_weight)
        table.meta["magnitude_systems"] = {
            f"mag_{band}": system
            for band, system in MAGNITUDE_SYSTEMS.items()
            if f"mag_{band}" in table.colnames
        }
        return table

    def summary(self) -> pd.DataFrame:
        """Every count with its bootstrap and Monte Carlo uncertainties."""
        items = {**self.totals, **self.counts, **self.optical_counts}
        return pd.DataFrame(
            {
                "count": [c.value for c in items.values()],
                "bootstrap_std": [c.std for c in items.values()],
                "p16": [c.p16 for c in items.values()],
                "p84": [c.p84 for c in items.values()],
                "poisson_std": [c.poisson_std for c in items.values()],
            },
            index=list(items),
        )


def _frame_to_qtable(frame: pd.DataFrame, units: dict, weight: float) -> QTable:
    table = QTable()
    for name in frame.columns:
        column = frame[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            table[name] = column.astype(str).to_numpy()
        elif name in units:
            table[name] = column.to_numpy() * units[name]
        elif column.dtype.kind in "biu":  # flags, indices, counts: plain columns
            table[name] = column.to_numpy()
        else:
            table[name] = column.to_numpy() * u.dimensionless_unscaled
    table.meta["system_weight"] = weight
    return table


# --------------------------------------------------------------------- driver
def _identity_progress(iterable: Iterable, description: str, total: int) -> Iterator:
    return iter(iterable)


def _resolved(item: Any) -> ChunkResult:
    """A ChunkResult, or a future of one (e.g. from Dask's Client.map)."""
    if isinstance(item, ChunkResult):
        return item
    if callable(getattr(item, "result", None)):
        return item.result()
    raise TypeError(f"map_function returned {type(item).__name__}, not a ChunkResult")


def _bootstrap(totals, chosen, weight, n_bootstrap, entropy):
    """CountEstimates from per-row counts, with multinomial bootstrap replicates."""
    rng = np.random.default_rng(_seed_sequence(entropy, 2))
    weights: dict[int, np.ndarray] = {}
    for sample in chosen.values():
        if id(sample) not in weights:
            n_rows = len(sample.dwds)
            weights[id(sample)] = rng.multinomial(
                n_rows, np.full(n_rows, 1.0 / n_rows), size=n_bootstrap
            )
    out = {}
    for key in next(iter(totals.values())):
        reps = np.zeros(n_bootstrap)
        n = 0
        for comp, per_row in totals.items():
            reps += weights[id(chosen[comp])] @ per_row[key]
            n += int(per_row[key].sum())
        reps *= weight
        p16, p84 = np.percentile(reps, [16, 84]) if n_bootstrap else (np.nan,) * 2
        out[key] = CountEstimate(
            value=n * weight,
            std=float(reps.std(ddof=1)) if n_bootstrap > 1 else np.nan,
            p16=float(p16),
            p84=float(p84),
            poisson_std=math.sqrt(n) * weight,
            replicates=reps,
        )
    return out


class _GrowingColumns:
    """Catalogue columns appended chunk by chunk into large, growing buffers.

    Copying each small chunk array into one large buffer per column (grown by
    half when full) keeps the big allocations out of the heap, so the memory of
    the buffers is returned when they are replaced, and the final trim needs one
    column of extra memory instead of a second catalogue.
    """

    def __init__(self) -> None:
        self.columns: dict[str, np.ndarray] = {}
        self.size = 0

    def append(self, piece: dict[str, np.ndarray]) -> None:
        n = len(piece["f_gw"])
        if n == 0:  # nothing to keep; buffers are sized by the first real rows
            return
        capacity = len(self.columns["f_gw"]) if self.columns else 0
        if self.size + n > capacity:
            capacity = max(2**16, (3 * (self.size + n)) // 2)
            for name, value in piece.items():
                grown = np.empty(capacity, value.dtype)
                if name in self.columns:
                    grown[: self.size] = self.columns.pop(name)[: self.size]
                self.columns[name] = grown
        for name, value in piece.items():
            self.columns[name][self.size : self.size + n] = value
        self.size += n

    def finish(self) -> dict[str, np.ndarray]:
        names = list(self.columns)
        return {name: self.columns.pop(name)[: self.size].copy() for name in names}


def _catalogue_columns(detectors: Sequence[str]) -> list[str]:
    """Column names of an empty GW catalogue."""
    snrs = [f"snr{kind}_{d}" for d in [*detectors, "joint"] for kind in ("_avg", "")]
    return ["component", "sample_index", "kstar_1", "kstar_2", *CATALOGUE_UNITS,
            "ecc", "cos_i", *snrs]  # fmt: skip


def _catalogue_frame(columns: dict[str, np.ndarray], components, empty_names):
    """The catalogue DataFrame; codes become categoricals, no float copies."""
    if not columns:
        columns = {name: np.zeros(0) for name in empty_names}
    frame = {}
    for name, column in columns.items():
        if name == "component":
            column = pd.Categorical.from_codes(column.astype(np.int8), components)
        elif name.startswith("kstar_"):
            name = "type_" + name[-1]
            column = pd.Categorical.from_codes(column.astype(np.int8), _TYPE_NAMES)
        frame[name] = column
    return pd.DataFrame(frame, copy=False)


def assemble_population(
    samples: DWDSample | Sequence[DWDSample] | Mapping[str, DWDSample],
    galaxy: MilkyWayModel = MCMILLAN_2017,
    star_formation: StarFormationModel = MODEL_1,
    detectors: Sequence[Detector | str] = ("LISA", "TianQin"),
    *,
    seed: int | np.random.SeedSequence,
    galaxy_fraction: float = 1.0,
    snr_threshold: float = 7.0,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    seed_block_size: int = SEED_BLOCK_SIZE,
    f_min_catalogue: u.Quantity | float = DEFAULT_F_MIN * u.Hz,
    catalogue_snr_min: float = 0.0,
    n_bootstrap: int = 200,
    optical: OpticalSettings | None = None,
    map_function: Callable[..., Iterable] = map,
    progress: Callable[[Iterable, str, int], Iterator] | None = None,
) -> GalacticPopulation:
    """Assemble the Galactic DWD population today and count its detections.

    Parameters
    ----------
    samples : DWDSample, sequence of DWDSample, or mapping of str to DWDSample
        COSMIC DWD samples; see :func:`assign_samples` for the metallicity choice.
    galaxy : MilkyWayModel
        Component densities, metallicities and the Sun's position.
    star_formation : StarFormationModel
        Each component's history: mass formed (Msun) and ages.
    detectors : sequence of Detector or str
        Detectors for the SNRs; the network SNR is their quadrature sum.
    seed : int or numpy.random.SeedSequence
        Root seed (see the module notes on what the result depends on).
    galaxy_fraction : float
        Fraction in (0, 1] of the Galaxy's DWDs to simulate; each weighs
        ``1 / galaxy_fraction`` in counts.
    snr_threshold : float
        Per-source SNR above which a system is detected.
    chunk_size : int
        Simulated systems per chunk, a multiple of ``seed_block_size``; bounds the
        working memory per chunk in flight (~15 bytes per simulated system with
        the shipped samples: 64 MB at the default 2**22).
    seed_block_size : int
        Systems per seed block; part of the seed definition.
    f_min_catalogue : Quantity or float
        Gravitational-wave frequency (Hz if a float) above which systems are
        located and catalogued.
    catalogue_snr_min : float
        Only keep catalogue rows with joint SNR at least this (counts unchanged).
    n_bootstrap : int
        Bootstrap replicates over the COSMIC sample.
    optical : OpticalSettings, optional
        Optical surveys of the eclipsing systems (see
        :mod:`simfer.sims.dwd_optical`); ``None`` skips them.
    map_function : callable
        ``map_function(func, specs)`` returning an iterable of results (or of
        futures, as Dask's ``Client.map``), in the order of ``specs``: builtin
        ``map``, ``concurrent.futures.Executor.map``, ...
    progress : callable, optional
        ``progress(iterable, description, total)`` wrapping the chunk results.

    Returns
    -------
    GalacticPopulation
    """
    start_all = time.perf_counter()
    f_min = u.Quantity(f_min_catalogue, u.Hz).to_value(u.Hz)
    if not f_min > 0:
        raise ValueError(f"f_min_catalogue: expected > 0 Hz, got {f_min_catalogue}")
    if not snr_threshold > 0:
        raise ValueError(f"snr_threshold: expected > 0, got {snr_threshold}")
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, int):
        raise ValueError(f"n_bootstrap: expected an integer >= 2, got {n_bootstrap!r}")
    if n_bootstrap < 2:
        raise ValueError(f"n_bootstrap: expected an integer >= 2, got {n_bootstrap}")
    detectors = _resolve_detectors(detectors)
    chosen = assign_samples(samples, galaxy)
    plan = plan_chunks(
        chosen, galaxy, star_formation, seed=seed, galaxy_fraction=galaxy_fraction,
        chunk_size=chunk_size, seed_block_size=seed_block_size,
    )  # fmt: skip
    weight = 1.0 / plan.galaxy_fraction
    logger.info(
        "Simulating %d DWD progenitors (fraction %g of %.3g) in %d chunks",
        sum(plan.n_simulated.values()), plan.galaxy_fraction,
        sum(plan.expected_formed.values()), len(plan.specs),
    )  # fmt: skip

    func = partial(
        simulate_chunk, samples=chosen, galaxy=galaxy, star_formation=star_formation,
        detectors=detectors, f_min_catalogue=f_min, snr_threshold=snr_threshold,
        catalogue_snr_min=catalogue_snr_min, optical=optical,
    )  # fmt: skip
    components = [c.name for c in galaxy.components]
    detected_keys = [*(f"detected_{d.name}" for d in detectors), "detected_joint"]
    optical_keys = (
        []
        if optical is None
        else optical_count_keys(optical, [d.name for d in detectors])
    )
    per_row = {
        c: {
            key: np.zeros(len(chosen[c].dwds), np.int64)
            for key in (
                "formed",
                "alive",
                "merged",
                "in_band",
                *detected_keys,
                *optical_keys,
            )
        }
        for c in components
    }
    timings = dict.fromkeys(_CHUNK_STAGES, 0.0)
    buffer, eclipsing = _GrowingColumns(), _GrowingColumns()
    start = time.perf_counter()
    wrap = progress or _identity_progress
    for item in wrap(map_function(func, plan.specs), "DWD chunks", len(plan.specs)):
        result = _resolved(item)
        for key, value in result.counts.items():
            rows = per_row[result.spec.component]
            rows[key] = rows[key] + value if key in rows else value.astype(np.int64)
        for key, value in result.timings.items():
            timings[key] += value
        code = components.index(result.spec.component)
        piece = {"component": np.full(len(result.catalogue["f_gw"]), code, np.int8)}
        buffer.append({**piece, **result.catalogue})
        if result.eclipsing:
            piece = {"component": np.full(len(result.eclipsing["f_gw"]), code, np.int8)}
            eclipsing.append({**piece, **result.eclipsing})
        del result, item
    timings["chunks_wall"] = time.perf_counter() - start

    start = time.perf_counter()
    catalogue = _catalogue_frame(
        buffer.finish(), components, _catalogue_columns([d.name for d in detectors])
    )
    eclipsing_frame = (
        _catalogue_frame(
            eclipsing.finish(),
            components,
            eclipsing_columns(optical, [d.name for d in detectors]),
        )
        if optical is not None
        else pd.DataFrame()
    )
    timings["catalogue"] = time.perf_counter() - start

    start = time.perf_counter()
    for rows in per_row.values():
        rows["not_yet_dwd"] = rows["formed"] - rows["alive"] - rows["merged"]
    entropy = _root_entropy(seed)
    estimates = _bootstrap(per_row, chosen, weight, n_bootstrap, entropy)
    timings["bootstrap"] = time.perf_counter() - start
    timings["total"] = time.perf_counter() - start_all

    population = GalacticPopulation(
        catalogue=catalogue,
        counts={k: v for k, v in estimates.items() if k.startswith("detected_")},
        optical_counts={
            k: v for k, v in estimates.items() if k.startswith("optical_")
        },
        eclipsing=eclipsing_frame,
        totals={k: estimates[k] for k in _TOTAL_KEYS},
        counts_by_component={
            c: {k: float(v.sum()) * weight for k, v in rows.items()}
            for c, rows in per_row.items()
        },
        expected_formed=plan.expected_formed,
        component_samples={c: _metallicity(s) for c, s in chosen.items()},
        system_weight=weight,
        timings=timings,
        settings={
            "seed_entropy": entropy, "galaxy_fraction": plan.galaxy_fraction,
            "snr_threshold": float(snr_threshold), "f_min_catalogue_hz": f_min,
            "catalogue_snr_min": float(catalogue_snr_min), "chunk_size": chunk_size,
            "seed_block_size": seed_block_size, "n_bootstrap": n_bootstrap,
            "galaxy": galaxy.name, "star_formation": star_formation.name,
            "detectors": [d.name for d in detectors],
            "optical": None if optical is None else optical.describe(),
        },
    )  # fmt: skip
    logger.info(
        "DWDs alive today %.4g, in band %.4g; detected: %s (%.1f s)",
        population.totals["alive"].value, population.totals["in_band"].value,
        ", ".join(f"{k[9:]} {v.value:.4g} +- {v.std:.2g}"
                  for k, v in population.counts.items()),
        timings["total"],
    )  # fmt: skip
    if population.optical_counts:
        logger.info(
            "Eclipsing DWDs (P < %.3g h) %.4g; detected: %s",
            optical.period_max / 3600.0, population.optical_counts[
                "optical_eclipsing"].value,
            ", ".join(f"{k[8:]} {v.value:.4g} +- {v.std:.2g}"
                      for k, v in population.optical_counts.items()
                      if k != "optical_eclipsing"),
        )  # fmt: skip
    return population
