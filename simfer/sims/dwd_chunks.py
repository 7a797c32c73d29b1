"""Chunks of the Galactic double white dwarf (DWD) population: plan and simulation.

:func:`~simfer.sims.dwd_population.assemble_population` cuts the Galaxy's simulated
DWDs into chunks; this module chooses each component's COSMIC sample
(:func:`assign_samples`), plans the chunks (:func:`plan_chunks`) and simulates one
(:func:`simulate_chunk`), which is what a distributed executor runs.

Per Galactic component (thin disc, thick disc, bulge):

1. **Normalisation.** A COSMIC sample (:class:`~simfer.sims.dwd_samples.DWDSample`)
   forms ``sample.dwds_per_solar_mass`` DWDs per solar mass of stars formed, so the
   component forms on average ``dwds_per_solar_mass * M_formed`` of them, with
   ``M_formed`` the ``total_mass`` of the component's star-formation history. No
   other factor enters. A run simulates a random fraction ``galaxy_fraction`` of
   them: the number simulated is Poisson with mean ``galaxy_fraction`` times that,
   and each simulated system stands for ``1 / galaxy_fraction`` Galactic ones.
2. **Which DWD.** Every simulated system is a uniformly chosen row of the sample
   (each row stands for the same stellar mass), drawn as multinomial counts per row.
3. **Today.** A system born at lookback time ``age`` (drawn from the component's
   star-formation history) has been a DWD for ``age - t_dwd`` if that is positive;
   its orbit has since shrunk by gravitational radiation (Peters 1964, circular
   closed form, eccentric orbits along Peters' track). It has left the detached
   population when its periastron reached Roche-lobe contact (Eggleton 1983 lobe,
   Nauenberg 1972 zero-temperature radius) or it merged; such systems are counted
   as ``merged``.
4. **Sky.** Systems whose gravitational-wave frequency exceeds ``f_min_catalogue``
   get a position from the component's density, sky coordinates, an isotropic
   orientation (``cos_i`` uniform in [-1, 1], polarisation ``psi`` uniform in
   [0, pi), phase uniform in [0, 2 pi)) and SNRs in each detector.
5. **Optical.** Optionally, the systems with orbital periods below 48 h go to
   the eclipsing-binary stage (:mod:`simfer.sims.dwd_optical`), on streams of
   their own. Systems are drawn down to that period (``2 / 48 h`` in frequency)
   whether or not the stage runs, so the gravitational-wave realisation never
   depends on it.

The gravitational-wave frequency is ``f_gw = 2 f_orb`` (the n = 2 harmonic), also
for the few eccentric systems (most close DWDs are circularised by common-envelope
evolution; none of the shipped sample's eccentric DWDs come near the band).

Frequency cut and exact shortcuts. Only systems above ``f_min_catalogue`` (default
1e-4 Hz) are placed on the sky: below it even a 1 + 1 Msun DWD at 50 pc has LISA
SNR < 1 (tested), and the SNR falls steeply with frequency there. Rows of the
sample that stay below the cut even after the longest possible decay (the oldest
age of the history minus ``t_dwd``) cannot be in band or merge; for them only the
number alive today is needed, drawn as Binomial(n, P(age > t_dwd)) per row, which
has exactly the distribution of the per-system draw. Every other system gets its
own age; a circular one younger (as a DWD) than the time its orbit needs to reach
the cut or contact (Peters' closed form) is alive and below the cut, and only the
rest are evolved with :func:`~simfer.sims.orbital_evolution.evolve_orbit`.

Seeding and chunks. Each component's simulated systems are cut into blocks of
``seed_block_size`` (default 2**22); block ``k`` of component ``c`` draws from
``SeedSequence(seed, spawn_key=(1, crc32(c), k))`` and the Poisson totals from
``spawn_key=(0, crc32(c))``, so the population depends on ``seed``,
``galaxy_fraction`` and ``seed_block_size`` only: not on ``chunk_size`` (a
multiple of the block size), on how chunks are mapped, or on their order. A chunk
(:class:`ChunkSpec`) is a run of consecutive blocks; :func:`simulate_chunk` is a
pure, picklable function of it, so any ``map`` (builtin, ``concurrent.futures``,
Dask) can run the chunks. A chunk's working memory grows with ``chunk_size``.

References
----------
Peters P. C., 1964, Phys. Rev., 136, B1224 (orbital decay).
Eggleton P. P., 1983, ApJ, 268, 368 (Roche-lobe radius).
Nauenberg M., 1972, ApJ, 175, 417 (white-dwarf mass-radius relation).
Nelemans G. et al., 2001, A&A, 375, 890; Korol V. et al., 2017, MNRAS, 470, 1894
(Galactic DWD populations assembled from population synthesis).
"""

from __future__ import annotations

import logging
import math
import threading
import time
import warnings
import weakref
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import astropy.units as u
import numpy as np
from astropy import constants

from simfer import SimferWarning
from simfer.inference.snr import gr_fdot, snr_averaged, snr_network, snr_per_source
from simfer.sims.cosmic_workers import WD_TYPES
from simfer.sims.detectors import Detector, get_detector
from simfer.sims.dwd_optical import (
    DRAW_F_MIN,
    OpticalSettings,
    observe_eclipsing_systems,
)
from simfer.sims.dwd_samples import DWDSample
from simfer.sims.galaxy import MCMILLAN_2017, MilkyWayModel
from simfer.sims.orbital_evolution import evolve_orbit, peters_beta
from simfer.sims.star_formation import MODEL_1, StarFormationModel

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "SEED_BLOCK_SIZE",
    "ChunkPlan",
    "ChunkResult",
    "ChunkSpec",
    "MetallicityMismatchWarning",
    "assign_samples",
    "plan_chunks",
    "simulate_chunk",
]

G = constants.G.si.value
MSUN = u.Msun.to(u.kg)
RSUN = u.Rsun.to(u.m)
KPC = u.kpc.to(u.m)
GYR = u.Gyr.to(u.s)
MYR = u.Myr.to(u.s)

#: Simulated systems per independently seeded block (part of the seed definition).
SEED_BLOCK_SIZE = 2**22
#: Default simulated systems per chunk (a multiple of SEED_BLOCK_SIZE).
DEFAULT_CHUNK_SIZE = 2**22
DEFAULT_F_MIN = 1e-4  # Hz
_MIN_PADDED = 4096
_CHANDRASEKHAR = 1.44  # Msun, in Nauenberg's (1972) fit
_MISMATCH_DEX = 0.1
_TYPE_CODES = {kstar: i for i, kstar in enumerate(sorted(WD_TYPES))}
_TYPE_NAMES = [WD_TYPES[k] for k in sorted(WD_TYPES)]
_CHUNK_STAGES = ("prepare", "draw", "orbits", "positions", "snr", "optical")


class MetallicityMismatchWarning(SimferWarning):
    """A Galactic component uses a DWD sample of clearly different metallicity."""


# --------------------------------------------------------------------- samples
def _metallicity(sample: DWDSample) -> float:
    return float(sample.settings.initial_conditions.metallicity)


def assign_samples(
    samples: DWDSample | Sequence[DWDSample] | Mapping[str, DWDSample],
    galaxy: MilkyWayModel,
) -> dict[str, DWDSample]:
    """Choose the DWD sample of each Galactic component.

    Parameters
    ----------
    samples : DWDSample, sequence of DWDSample, or mapping of str to DWDSample
        A mapping is taken as given (component name -> sample). Otherwise each
        component takes the sample whose metallicity Z is nearest to its own in
        ``|log Z|`` (first in order on ties); a
        :class:`MetallicityMismatchWarning` is issued when they differ by more
        than 0.1 dex.
    galaxy : MilkyWayModel
        Components and their metallicities.

    Returns
    -------
    dict
        Component name -> DWDSample, in the galaxy's component order.
    """
    names = [c.name for c in galaxy.components]
    if isinstance(samples, Mapping):
        missing = [n for n in names if n not in samples]
        if missing:
            raise ValueError(f"samples: no DWD sample for components {missing}")
        chosen = {n: samples[n] for n in names}
    else:
        pool = [samples] if isinstance(samples, DWDSample) else list(samples)
        if not pool:
            raise ValueError("samples: expected at least one DWDSample")
        if not all(isinstance(s, DWDSample) for s in pool):
            raise TypeError("samples: expected DWDSample objects")
        chosen = {}
        for comp in galaxy.components:
            dex = [abs(math.log10(_metallicity(s) / comp.metallicity)) for s in pool]
            best = int(np.argmin(dex))
            chosen[comp.name] = pool[best]
            if dex[best] > _MISMATCH_DEX:
                warnings.warn(
                    f"component {comp.name!r} (Z={comp.metallicity:g}) uses the DWD "
                    f"sample with Z={_metallicity(pool[best]):g}; supply a sample "
                    "closer in metallicity",
                    MetallicityMismatchWarning,
                    stacklevel=2,
                )
    for name, sample in chosen.items():
        if not isinstance(sample, DWDSample) or len(sample.dwds) == 0:
            raise TypeError(f"samples: {name!r} needs a non-empty DWDSample")
    return chosen


def _wd_radius(mass: np.ndarray) -> np.ndarray:
    """Zero-temperature white-dwarf radius (Nauenberg 1972), m; mass in kg."""
    x = np.minimum(mass / MSUN / _CHANDRASEKHAR, 0.999)
    return 0.0112 * RSUN * np.sqrt(x ** (-2.0 / 3.0) - x ** (2.0 / 3.0))


def _roche_lobe_fraction(q: np.ndarray) -> np.ndarray:
    """Roche-lobe radius over separation for mass ratio q = donor/accretor.

    Eggleton P. P., 1983, ApJ, 268, 368, eq. (2).
    """
    q23 = np.cbrt(q) ** 2
    return 0.49 * q23 / (0.6 * q23 + np.log1p(np.cbrt(q)))


def _f_gw(a: np.ndarray, total_mass: np.ndarray) -> np.ndarray:
    """Twice the Keplerian orbital frequency, Hz (a in m, mass in kg)."""
    return np.sqrt(G * total_mass / a**3) / np.pi


@dataclass(frozen=True)
class _Rows:
    """SI arrays of a sample and, per row, what the component's history allows."""

    m1: np.ndarray
    m2: np.ndarray
    a0: np.ndarray
    e0: np.ndarray
    t_dwd: np.ndarray
    t_wd_1: np.ndarray
    t_wd_2: np.ndarray
    kstar_1: np.ndarray
    kstar_2: np.ndarray
    a_contact: np.ndarray
    candidate: np.ndarray
    p_alive: np.ndarray
    t_quiet: np.ndarray


def _prepare_rows(sample: DWDSample, history: Any, f_min: float) -> _Rows:
    d = sample.dwds
    m1 = d["mass_1"].to_numpy(float) * MSUN
    m2 = d["mass_2"].to_numpy(float) * MSUN
    a0 = d["sep"].to_numpy(float) * RSUN
    e0 = d["ecc"].to_numpy(float)
    t_dwd = d["t_dwd"].to_numpy(float) * MYR
    a_contact = np.maximum(
        _wd_radius(m1) / _roche_lobe_fraction(m1 / m2),
        _wd_radius(m2) / _roche_lobe_fraction(m2 / m1),
    )
    # The oldest star bounds every system's decay time; f_gw only grows with time.
    oldest = float(history.age_limits[1].to_value(u.s)) * (1.0 + 1e-9)
    t_max = np.clip(oldest - t_dwd, 0.0, None)
    a_end, e_end = evolve_orbit(a0, e0, m1, m2, t_max)
    reach = (a_end * (1.0 - e_end) <= a_contact) | (
        _f_gw(np.maximum(a_end, 1.0), m1 + m2) >= f_min
    )
    p_alive = 1.0 - np.asarray(history.cdf(t_dwd * u.s), dtype=float)
    # Circular rows stay detached and below the cut until a^4 = a0^4 - 4 beta t
    # falls to the larger of a_contact^4 and a_band^4 (Peters 1964); systems
    # younger than that need no orbit. A 1e-9 margin leaves rounding to
    # evolve_orbit. Eccentric rows always take the full evolution (t_quiet = 0).
    a_band = np.cbrt(G * (m1 + m2) / (np.pi * f_min) ** 2)
    beta = peters_beta(m1, m2)
    t_quiet = (a0**4 - np.maximum(a_contact, a_band) ** 4) / (4.0 * beta)
    t_quiet = np.where(e0 > 0, 0.0, np.clip(t_quiet * (1.0 - 1e-9), 0.0, None))
    return _Rows(
        m1, m2, a0, e0, t_dwd,
        d["t_wd_1"].to_numpy(float) * MYR, d["t_wd_2"].to_numpy(float) * MYR,
        d["kstar_1"].map(_TYPE_CODES).to_numpy(np.int8),
        d["kstar_2"].map(_TYPE_CODES).to_numpy(np.int8),
        a_contact, (t_max > 0) & reach, np.clip(p_alive, 0.0, 1.0), t_quiet,
    )  # fmt: skip


# (id(sample), id(history), f_min) -> (weak refs to both, rows). Chunks of a run
# share one sample and history, so a process prepares each pair once; the weak
# references make a recycled id miss instead of returning stale rows.
_ROWS_CACHE: dict[tuple[int, int, float], tuple[Any, Any, _Rows]] = {}
_ROWS_LOCK = threading.Lock()


def _cached_rows(sample: DWDSample, history: Any, f_min: float) -> _Rows:
    key = (id(sample), id(history), f_min)
    with _ROWS_LOCK:
        hit = _ROWS_CACHE.get(key)
    if hit is not None and hit[0]() is sample and hit[1]() is history:
        return hit[2]
    rows = _prepare_rows(sample, history, f_min)
    with _ROWS_LOCK:
        for stale in [k for k, v in _ROWS_CACHE.items() if v[0]() is None]:
            del _ROWS_CACHE[stale]
        _ROWS_CACHE[key] = (weakref.ref(sample), weakref.ref(history), rows)
    return rows


# ----------------------------------------------------------------------- plan
@dataclass(frozen=True)
class ChunkSpec:
    """One unit of work: consecutive seed blocks of one Galactic component.

    Attributes
    ----------
    component : str
        Component name.
    chunk_index : int
        Position of the chunk among the component's chunks.
    first_block : int
        Index of the chunk's first seed block.
    n_systems : int
        Simulated systems in the chunk.
    entropy : int
        Root seed entropy (``SeedSequence(seed).entropy``).
    seed_block_size : int
        Systems per seed block.
    """

    component: str
    chunk_index: int
    first_block: int
    n_systems: int
    entropy: int
    seed_block_size: int

    def blocks(self) -> list[tuple[int, int]]:
        """``(block index, systems)`` of each seed block in the chunk."""
        out, left, k = [], self.n_systems, self.first_block
        while left > 0:
            out.append((k, min(left, self.seed_block_size)))
            left -= self.seed_block_size
            k += 1
        return out


@dataclass(frozen=True)
class ChunkPlan:
    """Chunks covering the simulated Galaxy and the numbers behind them.

    Attributes
    ----------
    specs : tuple of ChunkSpec
        In component order, then chunk order.
    expected_formed : dict
        Component -> mean number of DWD progenitor binaries formed in the whole
        Galaxy, ``dwds_per_solar_mass * total_mass`` (exact).
    n_simulated : dict
        Component -> Poisson number simulated (mean ``galaxy_fraction`` times the
        above).
    galaxy_fraction : float
        Simulated fraction; each system weighs ``1 / galaxy_fraction``.
    """

    specs: tuple[ChunkSpec, ...]
    expected_formed: dict[str, float]
    n_simulated: dict[str, int]
    galaxy_fraction: float


def _seed_sequence(entropy: int, *key: int) -> np.random.SeedSequence:
    return np.random.SeedSequence(entropy, spawn_key=key)


def _component_key(name: str) -> int:
    return zlib.crc32(name.encode())


def _root_entropy(seed: int | np.random.SeedSequence) -> int:
    if isinstance(seed, np.random.SeedSequence):
        return int(seed.entropy)
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
        return int(seed)
    raise TypeError(f"seed: expected a non-negative int or SeedSequence, got {seed!r}")


def plan_chunks(
    samples: DWDSample | Sequence[DWDSample] | Mapping[str, DWDSample],
    galaxy: MilkyWayModel = MCMILLAN_2017,
    star_formation: StarFormationModel = MODEL_1,
    *,
    seed: int | np.random.SeedSequence,
    galaxy_fraction: float = 1.0,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    seed_block_size: int = SEED_BLOCK_SIZE,
) -> ChunkPlan:
    """Draw how many systems each component simulates and cut them into chunks.

    Parameters
    ----------
    samples, galaxy, star_formation
        As in :func:`~simfer.sims.dwd_population.assemble_population`.
    seed : int or numpy.random.SeedSequence
        Root seed.
    galaxy_fraction : float
        Fraction in (0, 1] of the Galaxy's DWDs to simulate.
    chunk_size : int
        Systems per chunk, a positive multiple of ``seed_block_size``.
    seed_block_size : int
        Systems per seed block (changing it changes the realisation).

    Returns
    -------
    ChunkPlan
    """
    if not isinstance(galaxy_fraction, (int, float)) or not 0 < galaxy_fraction <= 1:
        raise ValueError(f"galaxy_fraction: expected 0 < f <= 1, got {galaxy_fraction}")
    for name, value in (
        ("seed_block_size", seed_block_size),
        ("chunk_size", chunk_size),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    if chunk_size % seed_block_size:
        raise ValueError(
            f"chunk_size ({chunk_size}) must be a multiple of seed_block_size "
            f"({seed_block_size}) so that chunking does not change the draws"
        )
    entropy = _root_entropy(seed)
    chosen = assign_samples(samples, galaxy)
    specs, expected, simulated = [], {}, {}
    blocks_per_chunk = chunk_size // seed_block_size
    for comp in galaxy.components:
        mass = star_formation.history(comp.name).total_mass.to_value(u.Msun)
        expected[comp.name] = chosen[comp.name].dwds_per_solar_mass * mass
        rng = np.random.default_rng(
            _seed_sequence(entropy, 0, _component_key(comp.name))
        )
        n = int(rng.poisson(galaxy_fraction * expected[comp.name]))
        simulated[comp.name] = n
        for i, start in enumerate(range(0, n, chunk_size)):
            specs.append(
                ChunkSpec(
                    comp.name, i, i * blocks_per_chunk, min(chunk_size, n - start),
                    entropy, seed_block_size,
                )
            )  # fmt: skip
    return ChunkPlan(tuple(specs), expected, simulated, float(galaxy_fraction))


# ---------------------------------------------------------------------- chunk
@dataclass(frozen=True)
class ChunkResult:
    """What one chunk contributes; numpy only, so it pickles cheaply.

    Attributes
    ----------
    spec : ChunkSpec
    catalogue : dict of str to numpy.ndarray
        Unweighted catalogue columns of the chunk's systems above the frequency
        cut (``kstar_1``/``kstar_2`` as type codes 0 He, 1 CO, 2 ONe).
    counts : dict of str to numpy.ndarray
        Per sample row: ``formed``, ``alive``, ``merged``, ``in_band``,
        ``detected_<detector>`` and ``detected_joint`` (unweighted integers).
    timings : dict of str to float
        Seconds spent per stage.
    eclipsing : dict of str to numpy.ndarray
        Catalogue columns of the eclipsing systems the optical stage kept
        (empty without it; see :mod:`simfer.sims.dwd_optical`).
    """

    spec: ChunkSpec
    catalogue: dict[str, np.ndarray]
    counts: dict[str, np.ndarray]
    timings: dict[str, float]
    eclipsing: dict[str, np.ndarray] = field(default_factory=dict)


def _resolve_detectors(detectors: Iterable[Detector | str]) -> tuple[Detector, ...]:
    out = tuple(d if isinstance(d, Detector) else get_detector(d) for d in detectors)
    names = [d.name for d in out]
    if not out or len(set(names)) != len(names):
        raise ValueError(f"detectors: expected distinct detectors, got {names}")
    return out


def _draw_block(n, rng, rows, history, f_min, f_draw, timings):
    """Today's state of ``n`` systems: per-row counts and the systems above ``f_draw``.

    ``in_band`` counts the systems above ``f_min``; ``f_draw <= f_min`` also
    returns the slower systems the optical stage needs (``rows`` prepared for
    ``f_draw``).
    """
    start = time.perf_counter()
    n_rows = rows.m1.size
    formed = rng.multinomial(n, np.full(n_rows, 1.0 / n_rows))
    alive = np.zeros(n_rows, np.int64)
    other = ~rows.candidate
    alive[other] = rng.binomial(formed[other], rows.p_alive[other])
    idx = np.repeat(np.flatnonzero(rows.candidate), formed[rows.candidate])
    age = history.sample_ages(idx.size, rng).to_value(u.s)
    t_decay = age - rows.t_dwd[idx]
    quiet = (t_decay > 0) & (t_decay < rows.t_quiet[idx])
    alive += np.bincount(idx[quiet], minlength=n_rows)
    active = t_decay >= np.maximum(rows.t_quiet[idx], np.nextafter(0.0, 1.0))
    idx, age, t_decay = idx[active], age[active], t_decay[active]
    timings["draw"] += time.perf_counter() - start

    start = time.perf_counter()
    m1, m2 = rows.m1[idx], rows.m2[idx]
    a, e = evolve_orbit(rows.a0[idx], rows.e0[idx], m1, m2, t_decay)
    detached = a * (1.0 - e) > rows.a_contact[idx]
    merged = np.bincount(idx[~detached], minlength=n_rows)
    alive += np.bincount(idx[detached], minlength=n_rows)
    f = np.zeros_like(a)
    f[detached] = _f_gw(a[detached], m1[detached] + m2[detached])
    band = detached & (f >= f_draw)
    timings["orbits"] += time.perf_counter() - start
    counts = {
        "formed": formed,
        "alive": alive,
        "merged": merged,
        "in_band": np.bincount(idx[detached & (f >= f_min)], minlength=n_rows),
    }
    m1, m2 = m1[band] / MSUN, m2[band] / MSUN
    system = {
        "sample_index": idx[band].astype(np.int32),
        "kstar_1": rows.kstar_1[idx[band]],
        "kstar_2": rows.kstar_2[idx[band]],
        "mass_1": m1,
        "mass_2": m2,
        "chirp_mass": (m1 * m2) ** 0.6 / (m1 + m2) ** 0.2,
        "f_gw": f[band],
        "sep": a[band] / RSUN,
        "ecc": e[band],
        "age": age[band] / GYR,
    }
    # Time since each white dwarf formed (its cooling age), Gyr.
    for star, t_wd in (("1", rows.t_wd_1), ("2", rows.t_wd_2)):
        system[f"cooling_age_{star}"] = (age[band] - t_wd[idx[band]]) / GYR
    return counts, system


def _place_and_detect(system, rng, component, galaxy, detectors, threshold, timings):
    """Sky positions, orientations and SNRs of the in-band systems of a block."""
    start = time.perf_counter()
    n = system["f_gw"].size
    if n:
        sky = galaxy.sample(component, n, rng)
        system["distance"] = sky.distance.to_value(u.kpc)
        for key in ("l", "b", "lon_ecl", "lat_ecl"):
            system[key] = getattr(sky, key).to_value(u.rad)
    else:
        for key in ("distance", "l", "b", "lon_ecl", "lat_ecl"):
            system[key] = np.zeros(0)
    system["cos_i"] = rng.uniform(-1.0, 1.0, n)
    system["psi"] = rng.uniform(0.0, np.pi, n)
    system["phase"] = rng.uniform(0.0, 2.0 * np.pi, n)
    timings["positions"] += time.perf_counter() - start

    start = time.perf_counter()
    # JAX compiles its eager operations once per array shape: pad every block to
    # a power of two (with copies of its first, physical, system) so that a run
    # compiles a handful of shapes instead of one per block.
    size = max(_MIN_PADDED, 1 << max(n - 1, 0).bit_length())
    names = ("chirp_mass", "f_gw", "distance", "lat_ecl", "lon_ecl", "cos_i", "psi")
    mc, f, d, lat, lon, cos_i, psi = (
        np.concatenate([system[k], np.full(size - n, system[k][0])]) if n else None
        for k in names
    )
    if n:
        mc, d = mc * MSUN, d * KPC
        system["fdot"] = np.asarray(gr_fdot(mc, f))[:n]
    else:
        system["fdot"] = np.zeros(0)
    averaged, per_source = [], []
    for det in detectors:
        if n:
            avg = snr_averaged(mc, f, d, det)[:n]
            snr = snr_per_source(mc, f, d, det, lat, lon, cos_i, psi)[:n]
        else:
            avg = snr = np.zeros(0)
        system[f"snr_avg_{det.name}"] = np.asarray(avg)
        system[f"snr_{det.name}"] = np.asarray(snr)
        averaged.append(avg)
        per_source.append(snr)
    system["snr_avg_joint"] = snr_network(*averaged) if n else np.zeros(0)
    system["snr_joint"] = snr_network(*per_source) if n else np.zeros(0)
    timings["snr"] += time.perf_counter() - start
    detected = {
        f"detected_{name}": system[f"snr_{name}"] > threshold
        for name in [d.name for d in detectors] + ["joint"]
    }
    return detected


def simulate_chunk(
    spec: ChunkSpec,
    samples: Mapping[str, DWDSample],
    galaxy: MilkyWayModel,
    star_formation: StarFormationModel,
    detectors: Sequence[Detector | str],
    *,
    f_min_catalogue: float = DEFAULT_F_MIN,
    snr_threshold: float = 7.0,
    catalogue_snr_min: float = 0.0,
    optical: OpticalSettings | None = None,
) -> ChunkResult:
    """Simulate one chunk: ages, orbits, positions and SNRs of its systems.

    A pure function of its arguments (all picklable): the same spec gives the
    same result in any process and order.

    Parameters
    ----------
    spec : ChunkSpec
        From :func:`plan_chunks`.
    samples : mapping of str to DWDSample
        Component -> sample (see :func:`assign_samples`).
    galaxy : MilkyWayModel
        Positions and the observer.
    star_formation : StarFormationModel
        Ages of each component.
    detectors : sequence of Detector or str
        Detectors for the SNRs (names use their defaults).
    f_min_catalogue : float
        Gravitational-wave frequency above which systems are catalogued, Hz.
    snr_threshold : float
        Per-source SNR above which a system counts as detected.
    catalogue_snr_min : float
        Keep only catalogue rows with joint SNR (per-source or averaged) at least
        this; 0 keeps every system above ``f_min_catalogue``. Counts are unaffected.
    optical : OpticalSettings, optional
        Also find the eclipsing systems below ``optical.period_max`` and what the
        optical surveys detect (:mod:`simfer.sims.dwd_optical`); their catalogue
        and counts go to ``ChunkResult.eclipsing`` and ``counts["optical_*"]``.
        Systems are always drawn down to 48 h orbital periods, so turning it on
        or changing its settings leaves the gravitational-wave realisation as
        it is.

    Returns
    -------
    ChunkResult
    """
    detectors = _resolve_detectors(detectors)
    sample = samples[spec.component]
    history = star_formation.history(spec.component)
    start = time.perf_counter()
    f_min = float(f_min_catalogue)
    # Drawn down to the optical stage's longest period whether or not it runs:
    # the realisation then does not depend on the optical settings.
    f_draw = min(f_min, DRAW_F_MIN)
    rows = _cached_rows(sample, history, f_draw)
    timings = dict.fromkeys(_CHUNK_STAGES, 0.0)
    timings["prepare"] = time.perf_counter() - start
    counts: dict[str, np.ndarray] = {}
    columns: dict[str, list[np.ndarray]] = {}
    eclipsing: dict[str, list[np.ndarray]] = {}
    for block, n in spec.blocks():
        key = (1, _component_key(spec.component), block)
        rng = np.random.default_rng(_seed_sequence(spec.entropy, *key))
        block_counts, drawn = _draw_block(n, rng, rows, history, f_min, f_draw, timings)
        in_band = drawn["f_gw"] >= f_min
        system = {k: v[in_band] for k, v in drawn.items()}
        detected = _place_and_detect(
            system, rng, spec.component, galaxy, detectors, snr_threshold, timings
        )
        for name, flag in detected.items():
            block_counts[name] = np.bincount(
                system["sample_index"][flag], minlength=rows.m1.size
            )
        if optical is not None:
            start = time.perf_counter()
            # Streams of their own, so the gravitational-wave draws above do not
            # depend on the optical settings.
            optical_seed = _seed_sequence(
                spec.entropy, 3, _component_key(spec.component), block
            )
            optical_counts, optical_columns = observe_eclipsing_systems(
                drawn, in_band, system, optical_seed, optical,
                galaxy=galaxy, component=spec.component,
                metallicity=_metallicity(sample), n_rows=rows.m1.size,
                detector_names=[d.name for d in detectors],
                snr_threshold=snr_threshold,
            )  # fmt: skip
            block_counts.update(optical_counts)
            for name, value in optical_columns.items():
                eclipsing.setdefault(name, []).append(value)
            timings["optical"] += time.perf_counter() - start
        keep = np.maximum(system["snr_joint"], system["snr_avg_joint"])
        keep = keep >= catalogue_snr_min
        for name, value in block_counts.items():
            counts[name] = counts[name] + value if name in counts else value
        for name, value in system.items():
            columns.setdefault(name, []).append(value[keep])
    catalogue = {name: np.concatenate(parts) for name, parts in columns.items()}
    logger.debug(
        "chunk %s/%d: %d systems, %d catalogued",
        spec.component, spec.chunk_index, spec.n_systems, len(catalogue["f_gw"]),
    )  # fmt: skip
    return ChunkResult(
        spec, catalogue, counts, timings,
        {name: np.concatenate(parts) for name, parts in eclipsing.items()},
    )  # fmt: skip
