"""Tests of simfer.sims.dwd_chunks: normalisation, sample choice, chunks, band cut."""

import pickle

import astropy.units as u
import numpy as np
import pytest

from simfer.inference.snr import snr_averaged, snr_per_source
from simfer.sims import dwd_chunks as dc
from simfer.sims.detectors import get_detector
from simfer.sims.galaxy import MCMILLAN_2017
from simfer.sims.star_formation import MODEL_1

MSUN = u.Msun.to(u.kg)
PC = u.pc.to(u.m)
BLOCK = 2**14  # small seed blocks so that tests exercise several blocks and chunks


def test_expected_formed_is_rate_times_mass_and_draws_are_poisson(
    mixed_dwd_sample, everywhere
):
    fraction = 0.3
    samples = everywhere(mixed_dwd_sample)
    plan = dc.plan_chunks(samples, seed=11, galaxy_fraction=fraction,
                          chunk_size=4 * BLOCK, seed_block_size=BLOCK)  # fmt: skip
    for comp in MCMILLAN_2017.components:
        mass = MODEL_1.history(comp.name).total_mass.to_value(u.Msun)
        expected = mixed_dwd_sample.dwds_per_solar_mass * mass
        # the normalisation has no free factor: equal to rounding
        assert plan.expected_formed[comp.name] == pytest.approx(expected, rel=1e-12)
        mean = fraction * expected
        # a Poisson draw lies within 5 sigma of its mean
        assert abs(plan.n_simulated[comp.name] - mean) < 5 * np.sqrt(mean)
        n_chunks = sum(s.n_systems for s in plan.specs if s.component == comp.name)
        assert n_chunks == plan.n_simulated[comp.name]
    # Poisson totals do not depend on the chunking (exact)
    other = dc.plan_chunks(samples, seed=11, galaxy_fraction=fraction,
                           chunk_size=BLOCK, seed_block_size=BLOCK)  # fmt: skip
    assert other.n_simulated == plan.n_simulated


def test_specs_and_results_pickle_and_do_not_depend_on_order(
    mixed_dwd_sample, everywhere
):
    samples = dc.assign_samples(everywhere(mixed_dwd_sample), MCMILLAN_2017)
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


def test_metallicity_assignment(make_mixed_dwd_sample):
    solar = make_mixed_dwd_sample(metallicity=0.02)
    poor = make_mixed_dwd_sample(metallicity=0.006, seed=4)
    chosen = dc.assign_samples([solar, poor], MCMILLAN_2017)
    # nearest in log Z: components' Z = 0.02, 0.006, 0.02
    assert chosen == {"thin_disc": solar, "thick_disc": poor, "bulge": solar}
    with pytest.warns(dc.MetallicityMismatchWarning, match="thick_disc"):
        dc.assign_samples(solar, MCMILLAN_2017)
    with pytest.raises(ValueError, match="bulge"):
        dc.assign_samples({"thin_disc": solar, "thick_disc": poor}, MCMILLAN_2017)
