"""Shared fixtures of the simfer.sims tests: synthetic double-white-dwarf samples.

The test modules run with ``--import-mode=importlib`` and cannot import each
other, so the synthetic ``DWDSample`` builders live here as fixtures.
"""

import astropy.units as u
import numpy as np
import pandas as pd
import pytest

from simfer.sims.binary_evolution import (
    COLUMN_UNITS,
    WD_TYPES,
    DWDSample,
    InitialConditions,
    PopulationSynthesisSettings,
    settings_hash,
)
from simfer.sims.galaxy import MCMILLAN_2017
from simfer.sims.star_formation import MODEL_1

MSUN = u.Msun.to(u.kg)
RSUN = u.Rsun.to(u.m)
G = 6.67430e-11  # m^3 kg^-1 s^-2, CODATA 2018
GALAXY_MASS = sum(MODEL_1.history(c.name).total_mass.to_value(u.Msun)
                  for c in MCMILLAN_2017.components)  # fmt: skip


def _separation(f_gw, m1, m2):
    """Kepler: separation in Rsun of a binary with GW frequency f_gw (Hz)."""
    return np.cbrt(G * (m1 + m2) * MSUN / (np.pi * f_gw) ** 2) / RSUN


def _sample(dwds: dict, n_per_galaxy: float, metallicity=0.02) -> DWDSample:
    """A DWDSample of the given rows whose Galaxy forms ``n_per_galaxy`` DWDs."""
    frame = pd.DataFrame(dwds)
    n = len(frame)
    frame["bin_num"] = np.arange(n)
    frame["kstar_1"] = np.where(frame["mass_1"] < 0.45, 10, 11)
    frame["kstar_2"] = np.where(frame["mass_2"] < 0.45, 10, 11)
    frame["type_1"] = [WD_TYPES[k] for k in frame["kstar_1"]]
    frame["type_2"] = [WD_TYPES[k] for k in frame["kstar_2"]]
    frame["porb"] = (
        2 * np.pi * np.sqrt((frame["sep"] * RSUN) ** 3
                            / (G * (frame["mass_1"] + frame["mass_2"]) * MSUN))
        / 86400.0
    )  # fmt: skip
    for key in ("t_wd_1", "t_wd_2"):
        if key not in frame:
            frame[key] = frame["t_dwd"]
    for key in ("mass_zams_1", "mass_zams_2", "porb_zams", "ecc_zams"):
        frame[key] = 1.0
    settings = PopulationSynthesisSettings(
        initial_conditions=InitialConditions(metallicity=metallicity)
    )
    return DWDSample(
        dwds=frame[list(COLUMN_UNITS)],
        settings=settings,
        settings_hash=settings_hash(settings),
        seed=0,
        n_binaries_sampled=n,
        n_dropped=0,
        total_mass_formed=n * GALAXY_MASS / n_per_galaxy,
        cosmic_version="synthetic",
    )


def _mixed_sample(n_rows=60, n_per_galaxy=4e6, seed=3, metallicity=0.02):
    """Close circular DWDs (f_gw 0.05-5 mHz at birth) and wide eccentric ones."""
    rng = np.random.default_rng(seed)
    m1 = rng.uniform(0.3, 0.9, n_rows)
    m2 = rng.uniform(0.2, 0.6, n_rows)
    close = np.arange(n_rows) % 2 == 0
    f0 = np.where(close, 10 ** rng.uniform(-4.3, -2.3, n_rows), 1e-7)
    return _sample(
        {
            "mass_1": m1,
            "mass_2": m2,
            "sep": _separation(f0, m1, m2),
            "ecc": np.where(close, 0.0, rng.uniform(0.1, 0.9, n_rows)),
            "t_dwd": rng.uniform(100.0, 6000.0, n_rows),
        },
        n_per_galaxy,
        metallicity,
    )


def _everywhere(sample):
    """The same sample for every component, chosen explicitly (no Z warning)."""
    return {comp.name: sample for comp in MCMILLAN_2017.components}


@pytest.fixture(scope="session")
def dwd_separation():
    """``f(f_gw, m1, m2)``: Kepler separation in Rsun (f_gw in Hz, masses in Msun)."""
    return _separation


@pytest.fixture(scope="session")
def make_dwd_sample():
    """``f(dwds, n_per_galaxy, metallicity=0.02)``: a synthetic ``DWDSample``."""
    return _sample


@pytest.fixture(scope="session")
def make_mixed_dwd_sample():
    """``f(n_rows=60, n_per_galaxy=4e6, seed=3, metallicity=0.02)``: mixed DWDs."""
    return _mixed_sample


@pytest.fixture(scope="module")
def mixed_dwd_sample():
    """The default mixed sample, built once per test module."""
    return _mixed_sample()


@pytest.fixture(scope="session")
def everywhere():
    """``f(sample)``: the mapping giving ``sample`` to every Galaxy component."""
    return _everywhere
