"""Tests of simfer.sims.dwd_chunks: normalisation, sample choice, chunks, band cut."""

import pickle

import astropy.units as u
import numpy as np
import pandas as pd
import pytest

from simfer.inference.snr import snr_averaged, snr_per_source
from simfer.sims import dwd_chunks as dc
from simfer.sims.binary_evolution import (
    COLUMN_UNITS,
    WD_TYPES,
    DWDSample,
    InitialConditions,
    PopulationSynthesisSettings,
    settings_hash,
)
from simfer.sims.detectors import get_detector
from simfer.sims.galaxy import MCMILLAN_2017
from simfer.sims.star_formation import MODEL_1

MSUN = u.Msun.to(u.kg)
RSUN = u.Rsun.to(u.m)
PC = u.pc.to(u.m)
G = 6.67430e-11  # m^3 kg^-1 s^-2, CODATA 2018
GALAXY_MASS = sum(MODEL_1.history(c.name).total_mass.to_value(u.Msun)
                  for c in MCMILLAN_2017.components)  # fmt: skip
BLOCK = 2**14  # small seed blocks so that tests exercise several blocks and chunks


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


@pytest.fixture(scope="module")
def sample():
    return _mixed_sample()


def _everywhere(sample):
    """The same sample for every component, chosen explicitly (no Z warning)."""
    return {comp.name: sample for comp in MCMILLAN_2017.components}


def test_expected_formed_is_rate_times_mass_and_draws_are_poisson(sample):
    fraction = 0.3
    plan = dc.plan_chunks(
        _everywhere(sample), seed=11, galaxy_fraction=fraction, chunk_size=4 * BLOCK,
        seed_block_size=BLOCK,
    )  # fmt: skip
    for comp in MCMILLAN_2017.components:
        mass = MODEL_1.history(comp.name).total_mass.to_value(u.Msun)
        expected = sample.dwds_per_solar_mass * mass
        # the normalisation has no free factor: equal to rounding
        assert plan.expected_formed[comp.name] == pytest.approx(expected, rel=1e-12)
        mean = fraction * expected
        # a Poisson draw lies within 5 sigma of its mean
        assert abs(plan.n_simulated[comp.name] - mean) < 5 * np.sqrt(mean)
        n_chunks = sum(s.n_systems for s in plan.specs if s.component == comp.name)
        assert n_chunks == plan.n_simulated[comp.name]
    # Poisson totals do not depend on the chunking (exact)
    other = dc.plan_chunks(_everywhere(sample), seed=11, galaxy_fraction=fraction,
                           chunk_size=BLOCK, seed_block_size=BLOCK)  # fmt: skip
    assert other.n_simulated == plan.n_simulated


def test_specs_and_results_pickle_and_do_not_depend_on_order(sample):
    samples = dc.assign_samples(_everywhere(sample), MCMILLAN_2017)
    plan = dc.plan_chunks(samples, seed=4, galaxy_fraction=0.05,
                          chunk_size=BLOCK, seed_block_size=BLOCK)  # fmt: skip
    specs = [s for s in plan.specs if s.component == "thin_disc"][:2]
    assert len(specs) == 2
    detectors = [get_detector("LISA"), get_detector("TianQin")]

    def run(spec):
        return dc.simulate_chunk(spec, samples, MCMILLAN_2017, MODEL_1, detectors)

    # everything a process pool ships to its workers pickles
    inputs = pickle.loads(pickle.dumps((samples, MCMILLAN_2017, MODEL_1, detectors)))
    assert inputs[3] == detectors
    backward = [run(s) for s in reversed(specs)][::-1]
    for spec, result in zip(specs, backward, strict=True):
        assert pickle.loads(pickle.dumps(spec)) == spec
        copy = pickle.loads(pickle.dumps(run(spec)))
        assert copy.spec == spec
        for key, column in result.catalogue.items():
            assert type(copy.catalogue[key]) is np.ndarray  # no JAX arrays inside
            np.testing.assert_array_equal(copy.catalogue[key], column)
        for key, counts in result.counts.items():
            np.testing.assert_array_equal(copy.counts[key], counts)


@pytest.mark.parametrize("name", ["LISA", "TianQin"])
def test_snr_below_the_frequency_cut_is_negligible(name):
    detector = get_detector(name)
    mc = 2.0**-0.2 * MSUN  # chirp mass of a 1.0 + 1.0 Msun DWD, kg
    distance = 50 * PC  # ~ the nearest such system: a few DWDs live within 50 pc
    f = np.geomspace(1e-5, 1e-4, 20)
    averaged = snr_averaged(mc, f, distance, detector)
    # SNR rises with frequency below the cut: 1e-4 Hz bounds everything below
    assert np.all(np.diff(averaged) > 0)
    rng = np.random.default_rng(0)
    n = 20_000
    per_source = snr_per_source(
        mc, 1e-4, distance, detector, rng.uniform(-np.pi / 2, np.pi / 2, n),
        rng.uniform(0, 2 * np.pi, n), rng.uniform(0.9, 1.0, n) * rng.choice([-1, 1], n),
        rng.uniform(0, np.pi, n),
    )  # fmt: skip
    # even the best orientation of this massive, nearby binary is far below 7
    assert per_source.max() < 3.0


def test_metallicity_assignment():
    solar = _mixed_sample(metallicity=0.02)
    poor = _mixed_sample(metallicity=0.006, seed=4)
    chosen = dc.assign_samples([solar, poor], MCMILLAN_2017)
    # nearest in log Z: components' Z = 0.02, 0.006, 0.02
    assert chosen == {"thin_disc": solar, "thick_disc": poor, "bulge": solar}
    with pytest.warns(dc.MetallicityMismatchWarning, match="thick_disc"):
        dc.assign_samples(solar, MCMILLAN_2017)
    with pytest.raises(ValueError, match="bulge"):
        dc.assign_samples({"thin_disc": solar, "thick_disc": poor}, MCMILLAN_2017)
