"""Binary population synthesis of double white dwarfs (DWDs) with COSMIC.

Initial binaries are drawn with COSMIC's ``independent`` sampler, evolved with
BSE inside COSMIC, and reduced to one row per DWD at the moment both stars
have become white dwarfs. Each sample carries its stellar-mass budget, so it
scales to the stellar mass formed in a Galaxy component:
``sample.dwds_per_solar_mass`` DWDs form per solar mass of stars formed.

This module holds the settings, their single mapping onto COSMIC, the mass
budget, the sampling of initial binaries, the extraction of DWDs and
``evolve_dwd_sample``. BSE runs in killable worker processes with time limits
(``simfer.sims.cosmic_workers``); samples are stored, cached and shipped by
``simfer.sims.dwd_samples``, whose public names are re-exported here.

Columns of ``DWDSample.dwds`` (units in ``COLUMN_UNITS``): ``bin_num``;
``mass_1``, ``mass_2`` (Msun); ``kstar_1``, ``kstar_2`` (BSE type 10/11/12)
and ``type_1``, ``type_2`` ("He", "CO", "ONe"); ``sep`` (Rsun), ``porb``
(day), ``ecc``, all at DWD formation; ``t_dwd`` (Myr from ZAMS to DWD
formation); ``t_wd_1``, ``t_wd_2`` (Myr from ZAMS to each star's white-dwarf
formation, the later of them being ``t_dwd``); ``mass_zams_1``,
``mass_zams_2`` (Msun), ``porb_zams`` (day), ``ecc_zams`` at ZAMS. Star 1 is the
initially more massive star.

References
----------
Breivik K. et al., 2020, ApJ, 898, 71 (COSMIC).
Hurley J. R., Tout C. A., Pols O. R., 2002, MNRAS, 329, 897 (BSE).
Kroupa P., 2001, MNRAS, 322, 231 (IMF).
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import importlib
import importlib.metadata
import json
import logging
import math
import resource
import time
import warnings
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from simfer.sims.cosmic_workers import WD_TYPES, _evolve_with_timeouts, first_dwd_rows

if TYPE_CHECKING:  # re-exported at run time by __getattr__ below
    from simfer.sims.dwd_samples import (
        DWDSample,
        DWDSampleCache,
        load_shipped_sample,
        shipped_sample_labels,
    )

logger = logging.getLogger(__name__)

__all__ = [
    "COLUMN_UNITS",
    "COSMIC_BSE_DEFAULTS",
    "WD_TYPES",
    "BinaryPhysics",
    "CosmicArguments",
    "DWDSample",
    "DWDSampleCache",
    "InitialConditions",
    "PopulationSynthesisSettings",
    "cosmic_arguments",
    "evolve_dwd_sample",
    "expected_mass_per_binary",
    "first_dwd_rows",
    "load_shipped_sample",
    "metallicity_label",
    "sample_initial_binaries",
    "settings_hash",
    "shipped_sample_labels",
]

COLUMN_UNITS = {
    "bin_num": "", "mass_1": "Msun", "mass_2": "Msun", "kstar_1": "", "kstar_2": "",
    "type_1": "", "type_2": "", "sep": "Rsun", "porb": "day", "ecc": "",
    "t_dwd": "Myr", "t_wd_1": "Myr", "t_wd_2": "Myr", "mass_zams_1": "Msun",
    "mass_zams_2": "Msun", "porb_zams": "day", "ecc_zams": "",
}  # fmt: skip
# Part of settings_hash: samples of an older format are not reused.
# 2: adds t_wd_1, t_wd_2.
FORMAT_VERSION = 2

# COSMIC's documented defaults for every BSE flag (cosmic/data/cosmic-settings.json,
# COSMIC 4.3.3). alpha1, lambdaf and qcflag are set from BinaryPhysics instead.
COSMIC_BSE_DEFAULTS: dict[str, Any] = {
    "pts1": 0.001, "pts2": 0.01, "pts3": 0.02, "zsun": 0.014, "windflag": 3,
    "eddlimflag": 0, "neta": 0.5, "bwind": 0.0, "hewind": 0.5, "beta": 0.125,
    "xi": 0.5, "acc2": 1.5, "LBV_flag": 1, "alpha1": [1.0, 1.0], "lambdaf": 0.0,
    "ce2stageflag": 0, "ceflag": 0, "cekickflag": 2, "cemergeflag": 1,
    "cehestarflag": 0, "qcflag": 5, "qcrit_array": [0.0] * 16, "kickflag": 5,
    "sigma": 265.0, "bhflag": 1, "bhsigmafrac": 1.0, "sigmadiv": -20.0,
    "ecsn": 2.25, "ecsn_mlow": 1.6, "aic": 1, "ussn": 1, "polar_kick_angle": 90.0,
    "natal_kick_array": [[-100.0, -100.0, -100.0, -100.0, 0.0]] * 2,
    "mm_mu_ns": 400.0, "mm_mu_bh": 200.0, "remnantflag": 4, "fryer_mass_limit": 0,
    "mxns": 3.0, "fryer_fmix": 1.0, "fryer_mcrit_nsbh": 5.75,
    "rembar_massloss": 0.5, "wd_mass_lim": 1, "maltsev_mode": 0,
    "maltsev_fallback": 0.5, "maltsev_pf_prob": 0.1, "pisn": -2,
    "ppi_co_shift": 0.0, "ppi_extra_ml": 0.0, "bhspinflag": 0, "bhspinmag": 0.0,
    "grflag": 1, "eddfac": 10, "gamma": -2, "don_lim": -1, "acc_lim": [-1, -1],
    "smt_periastron_check": 0, "tflag": 1, "ST_tide": 1,
    "fprimc_array": [2.0 / 21.0] * 16, "ifflag": 1, "wdflag": 1, "epsnov": 0.001,
    "bdecayfac": 1, "bconst": 3000, "ck": 1000, "rejuv_fac": 1.0, "rejuvflag": 0,
    "bhms_coll_flag": 0, "htpmb": 1, "ST_cr": 1, "rtmsflag": 0,
}  # fmt: skip
_DEDICATED_BSE_KEYS = ("alpha1", "lambdaf", "qcflag")

# Piecewise power-law IMFs exactly as COSMIC's Sample.sample_primary draws them:
# break masses (Msun) and slopes alpha of dN/dm ~ m^-alpha between them.
_IMF_SHAPES: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "kroupa01": ((0.08, 0.5, 150.0), (1.3, 2.3)),
    "kroupa93": ((0.08, 0.5, 1.0, 150.0), (1.3, 2.2, 2.7)),
    "salpeter55": ((0.08, 150.0), (2.35,)),
}
# COSMIC keeps binaries whose masses can give final kstars 10-12: both masses in
# (0.5, 20) Msun (cosmic.utils.mass_min_max_select).
_COSMIC_WD_WINDOW = (0.5, 20.0)


def _frozen_config() -> ConfigDict:
    return ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class InitialConditions(BaseModel):
    """Zero-age distributions of the sampled binaries (COSMIC independent sampler).

    Primary masses follow the IMF over 0.08-150 Msun; a primary gets a companion
    with probability ``binary_fraction``; q = m2/m1 follows q**mass_ratio_power on
    [q_min, 1]. Only binaries with primary mass in [primary_mass_min,
    primary_mass_max] and secondary mass above secondary_mass_min are evolved,
    but the mass budget counts every star and companion drawn.

    References
    ----------
    Kroupa 2001, MNRAS 322, 231; Abt 1983, ARA&A 21, 343 (log-flat separations);
    Heggie 1975, MNRAS 173, 729 (thermal eccentricities); Sana et al. 2012,
    Science 337, 444; Raghavan et al. 2010, ApJS 190, 1; Nelemans et al. 2001,
    A&A 365, 491 (binary fraction 50 % fits the local white dwarfs).
    """

    model_config = _frozen_config()

    imf: Literal["kroupa01", "kroupa93", "salpeter55"] = Field(
        "kroupa01", description="Primary-mass IMF; Kroupa (2001) by default."
    )
    binary_fraction: float = Field(
        0.5,
        gt=0.0,
        le=1.0,
        description="Probability that a primary has a companion (> 0: with no "
        "binaries there are no double white dwarfs).",
    )
    q_min: float = Field(
        0.1, ge=0.0, lt=1.0, description="Lowest mass ratio m2/m1 drawn."
    )
    mass_ratio_power: float = Field(
        0.0, gt=-1.0, description="Exponent of dN/dq ~ q**power (0: flat in q)."
    )
    period_model: Literal["log_uniform", "sana12", "raghavan10", "renzo19"] = Field(
        "log_uniform",
        description="COSMIC porb_model; log_uniform is flat in log separation "
        "up to 1e5 Rsun (Abt 1983), the usual choice for low-mass binaries.",
    )
    eccentricity_model: Literal["thermal", "uniform", "sana12", "circular"] = Field(
        "thermal", description="COSMIC ecc_model; thermal f(e) = 2e (Heggie 1975)."
    )
    primary_mass_min: float = Field(
        0.85, description="Lowest ZAMS primary mass evolved [Msun]."
    )
    primary_mass_max: float = Field(
        10.0, description="Highest ZAMS primary mass evolved [Msun]."
    )
    secondary_mass_min: float = Field(
        0.5, description="Lowest ZAMS secondary mass evolved [Msun]."
    )
    metallicity: float = Field(
        0.02, ge=1e-4, le=0.03, description="Metal mass fraction Z (SSE: 1e-4-0.03)."
    )
    evolution_time: float = Field(
        13700.0, gt=0.0, le=13800.0, description="Time each binary is evolved [Myr]."
    )

    @model_validator(mode="after")
    def _check_mass_window(self) -> InitialConditions:
        low, high = _COSMIC_WD_WINDOW
        if not low <= self.primary_mass_min < self.primary_mass_max <= high:
            raise ValueError(
                "primary_mass_min/primary_mass_max must satisfy "
                f"{low} <= primary_mass_min < primary_mass_max <= {high} Msun, got "
                f"{self.primary_mass_min}, {self.primary_mass_max}"
            )
        if not low <= self.secondary_mass_min < self.primary_mass_max:
            raise ValueError(
                f"secondary_mass_min must lie in [{low}, primary_mass_max) Msun, "
                f"got {self.secondary_mass_min}"
            )
        return self


class BinaryPhysics(BaseModel):
    """Binary-interaction settings; all other BSE flags are COSMIC_BSE_DEFAULTS.

    References
    ----------
    Hurley et al. 2002, MNRAS 329, 897, eqs. (69)-(71) (alpha-lambda common
    envelope); Claeys et al. 2014, A&A 563, A83 (variable lambda); Neijssel et
    al. 2019, MNRAS 490, 3740 (qcflag 5, COSMIC's default).
    """

    model_config = _frozen_config()

    alpha_ce: float = Field(
        1.0, gt=0.0, description="Common-envelope efficiency alpha (COSMIC alpha1)."
    )
    lambda_ce: float | None = Field(
        None,
        gt=0.0,
        description="Fixed envelope binding-energy factor lambda; None uses the "
        "variable lambda of Claeys et al. 2014 (COSMIC lambdaf >= 0).",
    )
    lambda_ionisation_fraction: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="Fraction of recombination energy used with variable lambda.",
    )
    qcflag: Literal[0, 1, 2, 3, 4, 5] = Field(
        5, description="COSMIC critical-mass-ratio model for unstable mass transfer."
    )
    overrides: dict[str, Any] = Field(
        default_factory=dict, description="Other BSE flags to change from defaults."
    )

    @field_validator("overrides")
    @classmethod
    def _check_override_names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            if key in _DEDICATED_BSE_KEYS:
                raise ValueError(f"set {key!r} through its own field, not overrides")
            if key not in COSMIC_BSE_DEFAULTS:
                raise ValueError(f"{key!r} is not a COSMIC BSE setting")
        return value


class PopulationSynthesisSettings(BaseModel):
    """Everything that determines a DWD sample apart from its size and seed."""

    model_config = _frozen_config()

    initial_conditions: InitialConditions = Field(default_factory=InitialConditions)
    binary_physics: BinaryPhysics = Field(default_factory=BinaryPhysics)


class CosmicArguments(NamedTuple):
    """Keyword arguments for COSMIC's independent sampler and the BSEDict."""

    sampler_kwargs: dict[str, Any]
    bse_dict: dict[str, Any]


def cosmic_arguments(settings: PopulationSynthesisSettings) -> CosmicArguments:
    """Validate ``settings`` and map them onto COSMIC's sampler and BSEDict.

    Raises
    ------
    TypeError
        If ``settings`` is not a PopulationSynthesisSettings.
    ValueError
        (pydantic.ValidationError) naming the offending setting.
    """
    if not isinstance(settings, PopulationSynthesisSettings):
        raise TypeError(
            f"settings must be a PopulationSynthesisSettings, got {type(settings)}"
        )
    # Re-validate: catches instances built with model_construct.
    settings = PopulationSynthesisSettings.model_validate(settings.model_dump())
    ic, phys = settings.initial_conditions, settings.binary_physics
    sampler_kwargs = {
        "final_kstar1": [10, 11, 12],
        "final_kstar2": [10, 11, 12],
        "primary_model": ic.imf,
        "ecc_model": ic.eccentricity_model,
        "porb_model": ic.period_model,
        "binfrac_model": float(ic.binary_fraction),
        "qmin": float(ic.q_min),
        "q_power_law": float(ic.mass_ratio_power),
        "met": float(ic.metallicity),
        "SF_start": float(ic.evolution_time),
        "SF_duration": 0.0,
        "sampling_target": "size",
    }
    bse_dict = json.loads(json.dumps(COSMIC_BSE_DEFAULTS))
    bse_dict.update(json.loads(json.dumps(phys.overrides)))
    bse_dict["alpha1"] = [float(phys.alpha_ce)] * 2
    bse_dict["lambdaf"] = (
        -float(phys.lambda_ce)
        if phys.lambda_ce is not None
        else float(phys.lambda_ionisation_fraction)
    )
    bse_dict["qcflag"] = int(phys.qcflag)
    sampler_kwargs["zsun"] = float(bse_dict["zsun"])

    from cosmic import utils as cosmic_utils

    try:
        cosmic_utils.error_check(bse_dict, {"stellar_engine": "sse"})
    except ValueError as exc:
        raise ValueError(f"binary_physics rejected by COSMIC: {exc}") from exc
    return CosmicArguments(sampler_kwargs, bse_dict)


def settings_hash(settings: PopulationSynthesisSettings) -> str:
    """SHA-256 hex digest of the canonical JSON form of ``settings``."""
    payload = {"format_version": FORMAT_VERSION, "settings": settings.model_dump()}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def metallicity_label(metallicity: float) -> str:
    """File label of a metallicity, e.g. 0.02 -> ``"z0p02"``."""
    return "z" + f"{float(metallicity):g}".replace(".", "p")


# --------------------------------------------------------------------------- #
# Stellar-mass budget
# --------------------------------------------------------------------------- #
def _imf_moment(imf: str, low: float, high: float, power: float) -> float:
    """Integral of m**power * phi(m) dm over [low, high] (unnormalised IMF).

    phi(m) = c_i m^-alpha_i on each segment, continuous at the breaks.
    """
    breaks, slopes = _IMF_SHAPES[imf]
    total, coeff = 0.0, 1.0
    for i, alpha in enumerate(slopes):
        if i > 0:
            coeff *= breaks[i] ** (alpha - slopes[i - 1])
        lo, hi = max(low, breaks[i]), min(high, breaks[i + 1])
        if hi <= lo:
            continue
        exponent = power - alpha + 1.0
        if abs(exponent) < 1e-12:
            total += coeff * math.log(hi / lo)
        else:
            total += coeff * (hi**exponent - lo**exponent) / exponent
    return total


def expected_mass_per_binary(initial_conditions: InitialConditions) -> float:
    """Stellar mass formed per evolved binary, in Msun (closed form).

    Every primary drawn from the IMF phi over [0.08, 150] Msun, single or not,
    and every companion count. With binary fraction f_b and q ~ q**g on
    [q_min, 1], the mass per primary drawn is <m1> (1 + f_b <q>), and the
    probability that a draw is an evolved binary is
    f_b * int_a^b phi(m) P(q > m2_min / m) dm / int phi, where a, b bound the
    evolved primaries. Their ratio is the mass per evolved binary.

    References
    ----------
    Kroupa 2001, MNRAS 322, 231, eq. (2) (broken power-law IMF).
    """
    ic = initial_conditions
    imf, f_b, q_min, g = ic.imf, ic.binary_fraction, ic.q_min, ic.mass_ratio_power
    if f_b == 0.0:
        raise ValueError("binary_fraction is 0: no binaries to normalise by")
    m_lo, m_hi = _IMF_SHAPES[imf][0][0], _IMF_SHAPES[imf][0][-1]
    n_all = _imf_moment(imf, m_lo, m_hi, 0.0)
    mean_m1 = _imf_moment(imf, m_lo, m_hi, 1.0) / n_all
    norm = 1.0 - q_min ** (g + 1.0)
    mean_q = (g + 1.0) / (g + 2.0) * (1.0 - q_min ** (g + 2.0)) / norm

    # P(q > m2_min/m): partial where m2_min/m > q_min, 1 above m2_min/q_min.
    a, b, m2 = ic.primary_mass_min, ic.primary_mass_max, ic.secondary_mass_min
    m_full = m2 / q_min if q_min > 0 else math.inf
    lo, hi = max(a, m2), min(b, m_full)
    selected = 0.0
    if hi > lo:
        selected += (
            _imf_moment(imf, lo, hi, 0.0)
            - m2 ** (g + 1.0) * _imf_moment(imf, lo, hi, -(g + 1.0))
        ) / norm
    if b > max(a, m_full):
        selected += _imf_moment(imf, max(a, m_full), b, 0.0)
    p_selected = f_b * selected / n_all
    return mean_m1 * (1.0 + f_b * mean_q) / p_selected


@contextlib.contextmanager
def _seeded_global_numpy(seed: int):
    """COSMIC's sampler draws from numpy's global RNG: seed it, then restore."""
    # COSMIC offers no Generator argument, hence the legacy global-state calls.
    state = np.random.get_state()  # noqa: NPY002
    np.random.seed(seed)  # noqa: NPY002
    try:
        yield
    finally:
        np.random.set_state(state)  # noqa: NPY002


def sample_initial_binaries(
    settings: PopulationSynthesisSettings, n_binaries: int, seed: int
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Draw exactly ``n_binaries`` ZAMS binaries to evolve, with their mass budget.

    Returns COSMIC's initial binary table (bin_num 0..n-1, per-binary Fortran
    seeds set) and a dict with ``total_mass`` (Msun represented by the n
    binaries, singles and unevolved stars included), ``total_mass_analytic``
    (same from ``expected_mass_per_binary``), ``mass_singles``,
    ``mass_binaries`` (Msun, all draws), ``n_singles_drawn``,
    ``n_binaries_drawn`` and ``n_selected`` (binaries in the evolved window).
    The drawn mass is scaled by n_binaries / n_selected: the sampler overshoots
    and the surplus is cut.
    """
    if not isinstance(n_binaries, int | np.integer) or n_binaries < 1:
        raise ValueError(f"n_binaries must be a positive integer, got {n_binaries!r}")
    if not isinstance(seed, int | np.integer) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an integer in [0, 2**32), got {seed!r}")
    kwargs, _ = cosmic_arguments(settings)
    ic = settings.initial_conditions
    from cosmic.sample.initialbinarytable import InitialBinaryTable

    tables, budget = [], collections.Counter()
    n_selected = 0
    with _seeded_global_numpy(int(seed)), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        while n_selected < n_binaries:
            size = max(64, int(1.3 * (n_binaries - n_selected)))
            table, m_single, m_binary, n_single, n_binary = InitialBinaryTable.sampler(
                "independent", size=size, **kwargs
            )
            keep = (
                (table["mass_1"] >= ic.primary_mass_min)
                & (table["mass_1"] <= ic.primary_mass_max)
                & (table["mass_2"] >= ic.secondary_mass_min)
            )
            tables.append(table[keep])
            n_selected += int(keep.sum())
            budget.update(
                mass_singles=m_single, mass_binaries=m_binary,
                n_singles_drawn=n_single, n_binaries_drawn=n_binary,
            )  # fmt: skip
    table = pd.concat(tables, ignore_index=True).iloc[:n_binaries].copy()
    rng = np.random.default_rng([int(seed), 7])
    table["bin_num"] = np.arange(n_binaries)
    table["randomseed"] = rng.integers(1, np.iinfo(np.int32).max, size=n_binaries)
    mass_drawn = budget["mass_singles"] + budget["mass_binaries"]
    info = {key: float(value) for key, value in budget.items()}
    info["n_selected"] = float(n_selected)
    info["total_mass"] = float(mass_drawn * n_binaries / n_selected)
    info["total_mass_analytic"] = n_binaries * expected_mass_per_binary(ic)
    return table, info


# --------------------------------------------------------------------------- #
# DWD extraction and the full run
# --------------------------------------------------------------------------- #
def _dwd_table(
    dwd_rows: pd.DataFrame, initial: pd.DataFrame
) -> tuple[pd.DataFrame, int]:
    """Bound DWDs at formation joined with their ZAMS parameters.

    Also returns how many DWD rows were not bound binaries (sep <= 0 or NaN,
    e >= 1, or bin_state != 0); COSMIC gives NaN separations for some very
    wide (~1e5 Rsun) orbits widened by mass loss.
    """
    bound = (
        (dwd_rows["sep"] > 0.0)
        & (dwd_rows["ecc"] >= 0.0)
        & (dwd_rows["ecc"] < 1.0)
        & (dwd_rows["bin_state"] == 0)
    )
    n_not_bound = int((~bound).sum())
    if n_not_bound:
        logger.info("Excluded %d DWDs not bound at formation", n_not_bound)
    rows = dwd_rows.loc[bound].sort_values("bin_num")
    zams = initial.set_index("bin_num").loc[rows["bin_num"]]
    table = pd.DataFrame(
        {
            "bin_num": rows["bin_num"].to_numpy(dtype=np.int64),
            "mass_1": rows["mass_1"].to_numpy(dtype=float),
            "mass_2": rows["mass_2"].to_numpy(dtype=float),
            "kstar_1": rows["kstar_1"].to_numpy(dtype=np.int64),
            "kstar_2": rows["kstar_2"].to_numpy(dtype=np.int64),
            "type_1": [WD_TYPES[k] for k in rows["kstar_1"]],
            "type_2": [WD_TYPES[k] for k in rows["kstar_2"]],
            "sep": rows["sep"].to_numpy(dtype=float),
            "porb": rows["porb"].to_numpy(dtype=float),
            "ecc": rows["ecc"].to_numpy(dtype=float),
            "t_dwd": rows["tphys"].to_numpy(dtype=float),
            "t_wd_1": rows["t_wd_1"].to_numpy(dtype=float),
            "t_wd_2": rows["t_wd_2"].to_numpy(dtype=float),
            "mass_zams_1": zams["mass_1"].to_numpy(dtype=float),
            "mass_zams_2": zams["mass_2"].to_numpy(dtype=float),
            "porb_zams": zams["porb"].to_numpy(dtype=float),
            "ecc_zams": zams["ecc"].to_numpy(dtype=float),
        }
    )
    return table[list(COLUMN_UNITS)], n_not_bound


def _cosmic_version() -> str:
    return importlib.metadata.version("cosmic-popsynth")


def evolve_dwd_sample(
    settings: PopulationSynthesisSettings,
    n_binaries: int,
    seed: int,
    n_proc: int = 1,
    *,
    timeout_per_binary: float = 30.0,
    chunk_size: int = 250,
) -> DWDSample:
    """Sample ``n_binaries`` binaries, evolve them with COSMIC, keep the DWDs.

    Parameters
    ----------
    settings : PopulationSynthesisSettings
        Initial conditions and binary physics.
    n_binaries : int
        Binaries to evolve (inside the evolved mass window).
    seed : int
        Seed in [0, 2**32) for the sampler and BSE; same seed, same sample.
    n_proc : int
        Worker processes evolving binaries in parallel.
    timeout_per_binary : float
        Wall-clock limit in s for a binary re-run alone after its chunk
        overran; binaries exceeding it are dropped and counted.
    chunk_size : int
        Binaries sent to a worker at a time.

    Returns
    -------
    DWDSample
    """
    if not isinstance(n_proc, int) or n_proc < 1:
        raise ValueError(f"n_proc must be a positive integer, got {n_proc!r}")
    if not timeout_per_binary > 0:
        raise ValueError(f"timeout_per_binary must be > 0 s, got {timeout_per_binary}")
    if not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    from simfer.sims.dwd_samples import DWDSample

    _, bse_dict = cosmic_arguments(settings)
    start = time.perf_counter()
    cpu_start = resource.getrusage(resource.RUSAGE_CHILDREN)
    initial, budget = sample_initial_binaries(settings, n_binaries, seed)
    logger.info(
        "Evolving %d binaries (Z=%g) with COSMIC on %d process(es)",
        n_binaries, settings.initial_conditions.metallicity, n_proc,
    )  # fmt: skip
    result = _evolve_with_timeouts(
        initial, bse_dict, n_proc, chunk_size, timeout_per_binary
    )
    runtime = time.perf_counter() - start
    cpu_end = resource.getrusage(resource.RUSAGE_CHILDREN)
    worker_cpu = (cpu_end.ru_utime + cpu_end.ru_stime) - (
        cpu_start.ru_utime + cpu_start.ru_stime
    )

    all_bins = initial["bin_num"].to_numpy()
    missing = np.setdiff1d(
        all_bins, np.concatenate([result["evolved"], result["timed_out"]])
    )
    missing = np.setdiff1d(missing, result["failed"])
    dropped = np.unique(
        np.concatenate(
            [missing, result["errored"], result["timed_out"], result["failed"]]
        )
    )
    counts = {
        "n_timed_out": len(result["timed_out"]),
        "n_failed": len(result["failed"]),
        "n_missing_from_output": len(missing),
        "n_cosmic_error": len(result["errored"]),
    }
    if len(dropped):
        logger.warning(
            "Dropped %d of %d binaries: %s", len(dropped), n_binaries, counts
        )
    dwd_rows = result["dwd_rows"]
    dwd_rows = dwd_rows[~dwd_rows["bin_num"].isin(dropped)]
    dwds, n_not_bound = _dwd_table(dwd_rows, initial)
    n_ok = n_binaries - len(dropped)
    if n_ok == 0:
        raise RuntimeError(f"all {n_binaries} binaries were dropped: {counts}")
    provenance = {
        **counts,
        **budget,
        "n_dwd_not_bound": n_not_bound,
        "runtime_s": runtime,
        "seconds_per_binary": runtime / n_binaries,
        "worker_cpu_s": worker_cpu,
        "n_proc": n_proc,
        "simfer_version": importlib.metadata.version("simfer"),
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    sample = DWDSample(
        dwds=dwds,
        settings=settings,
        settings_hash=settings_hash(settings),
        seed=int(seed),
        n_binaries_sampled=n_binaries,
        n_dropped=len(dropped),
        total_mass_formed=budget["total_mass"] * n_ok / n_binaries,
        cosmic_version=_cosmic_version(),
        provenance=provenance,
    )
    logger.info(
        "%d DWDs from %d binaries in %.0f s (%.2e DWDs per Msun formed)",
        len(dwds), n_binaries, runtime, sample.dwds_per_solar_mass,
    )  # fmt: skip
    return sample


# Names kept in dwd_samples, which imports this module: re-exported lazily.
_STORAGE_NAMES = ("DWDSample", "DWDSampleCache", "load_shipped_sample",
                  "shipped_sample_labels")  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _STORAGE_NAMES:
        return getattr(importlib.import_module("simfer.sims.dwd_samples"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_STORAGE_NAMES])
