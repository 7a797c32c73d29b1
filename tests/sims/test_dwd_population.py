"""Tests of simfer.sims.dwd_population: decay, seeding, bootstrap, catalogue."""

from concurrent.futures import ThreadPoolExecutor

import astropy.units as u
import numpy as np
import pandas as pd
import pytest

from simfer.sims import dwd_population as dp
from simfer.sims.binary_evolution import DWDSample
from simfer.sims.orbital_evolution import merger_time_circular, peters_beta

MSUN = u.Msun.to(u.kg)
RSUN = u.Rsun.to(u.m)
G = 6.67430e-11  # m^3 kg^-1 s^-2, CODATA 2018
BLOCK = 2**14  # small seed blocks so that tests exercise several blocks and chunks


@pytest.fixture(scope="module")
def assemble(everywhere):
    """``f(sample, **kwargs)``: assemble_population with small, fast defaults."""

    def _assemble(sample, **kwargs):
        if isinstance(sample, DWDSample):
            sample = everywhere(sample)
        options = {"seed": 7, "galaxy_fraction": 0.05, "chunk_size": 2 * BLOCK,
                   "seed_block_size": BLOCK, "n_bootstrap": 50}  # fmt: skip
        options.update(kwargs)
        return dp.assemble_population(sample, **options)

    return _assemble


def test_orbital_decay_inside_the_assembly_follows_peters(
    assemble, dwd_separation, make_dwd_sample
):
    m1, m2, t_dwd = 0.35, 0.30, 500.0  # Msun, Msun, Myr
    a0 = dwd_separation(2e-4, m1, m2)  # Rsun
    a_close = dwd_separation(5e-2, m1, m2)  # inside Roche-lobe contact (~0.02 Hz)
    beta = peters_beta(m1 * MSUN, m2 * MSUN)
    # row 0 merges 1.2 Gyr after formation: catalogued systems span its decay
    t_merge = merger_time_circular(a0 * RSUN, m1 * MSUN, m2 * MSUN)
    assert 1e9 * 3.156e7 < t_merge < 2e9 * 3.156e7
    sample = make_dwd_sample(
        {"mass_1": [m1, m1], "mass_2": [m2, m2], "sep": [a0, a_close],
         "ecc": [0.0, 0.0], "t_dwd": [t_dwd, t_dwd]},
        n_per_galaxy=4e5,
    )  # fmt: skip
    pop = assemble(sample, galaxy_fraction=0.1)
    cat = pop.catalogue
    assert len(cat) > 500  # ~ 1.5e3 row-0 systems alive expected: enough to test
    assert set(cat["sample_index"]) == {0}
    t = (cat["age"].to_numpy() * u.Gyr - t_dwd * u.Myr).to_value(u.s)
    expected = (((a0 * RSUN) ** 4 - 4 * beta * t) ** 0.25) / RSUN
    # Peters (1964) circular closed form; only float rounding separates them
    np.testing.assert_allclose(cat["sep"], expected, rtol=1e-12)
    assert cat["sep"].min() < 0.5 * a0  # some have decayed a long way
    f_orb = np.sqrt(G * (m1 + m2) * MSUN / (cat["sep"] * RSUN) ** 3) / (2 * np.pi)
    np.testing.assert_allclose(cat["f_gw"], 2 * f_orb, rtol=1e-12)  # n = 2 harmonic
    # every born row-0 system is alive and in band; every born row-1 one merged
    # (exact integer bookkeeping, weighted by 1 / fraction)
    assert pop.totals["in_band"].value == pytest.approx(len(cat) / 0.1, rel=1e-12)
    assert pop.totals["alive"].value == pop.totals["in_band"].value
    assert pop.totals["merged"].value > 0
    assert pop.counts_by_component["thin_disc"]["merged"] > 0


def test_counts_scale_with_galaxy_fraction_and_sample_size(
    assemble, make_dwd_sample, make_mixed_dwd_sample
):
    big = make_mixed_dwd_sample(n_rows=120, seed=5)
    # the first half of the rows with half the mass budget: a smaller sample
    half = make_dwd_sample(big.dwds.iloc[:60].to_dict("list"), n_per_galaxy=4e6)
    assert half.dwds_per_solar_mass == pytest.approx(big.dwds_per_solar_mass)
    a = assemble(big, galaxy_fraction=0.02, seed=1)
    b = assemble(big, galaxy_fraction=0.05, seed=2)
    c = assemble(half, galaxy_fraction=0.05, seed=3)
    for key in ("alive", "in_band", "detected_LISA", "detected_joint"):
        ea = a.totals.get(key) or a.counts[key]
        eb = b.totals.get(key) or b.counts[key]
        ec = c.totals.get(key) or c.counts[key]
        assert ea.value > 0
        # same COSMIC sample: only the realisation noise separates a and b (5 sigma)
        assert abs(ea.value - eb.value) < 5 * np.hypot(ea.poisson_std, eb.poisson_std)
        # another sample: its bootstrap error adds in (5 sigma)
        sigma = np.sqrt(eb.poisson_std**2 + ec.poisson_std**2 + ec.std**2 + eb.std**2)
        assert abs(eb.value - ec.value) < 5 * sigma


def test_same_seed_same_population_for_any_chunking_and_map(assemble, mixed_dwd_sample):
    ref = assemble(mixed_dwd_sample)
    assert len(ref.catalogue) > 1000  # enough rows for the comparison to mean much
    other_chunks = assemble(mixed_dwd_sample, chunk_size=5 * BLOCK)
    seen = []

    def progress(iterable, description, total):
        seen.append((description, total))
        return iter(iterable)

    with ThreadPoolExecutor(max_workers=2) as pool:
        threaded = assemble(
            mixed_dwd_sample, chunk_size=BLOCK, map_function=pool.map, progress=progress
        )
    assert len(seen) == 1 and seen[0][1] > 3  # one bar over all (several) chunks
    for pop in (other_chunks, threaded):
        pd.testing.assert_frame_equal(pop.catalogue, ref.catalogue)  # exact
        for key, estimate in {**ref.totals, **ref.counts}.items():
            other = {**pop.totals, **pop.counts}[key]
            assert other.value == estimate.value  # exact
            np.testing.assert_array_equal(other.replicates, estimate.replicates)
    different = assemble(mixed_dwd_sample, seed=8)
    assert len(different.catalogue) != len(ref.catalogue) or not np.array_equal(
        different.catalogue["f_gw"], ref.catalogue["f_gw"]
    )


def test_bootstrap_replicates_average_to_the_count(assemble, mixed_dwd_sample):
    pop = assemble(mixed_dwd_sample, n_bootstrap=200)
    for key, estimate in {**pop.totals, **pop.counts}.items():
        assert estimate.replicates.shape == (200,)
        # multinomial weights have mean 1, so the replicate mean estimates the
        # count with standard error std / sqrt(200): 5 standard errors
        error = 5 * estimate.std / np.sqrt(200) + 1e-9 * estimate.value
        assert abs(estimate.replicates.mean() - estimate.value) <= error, key
        assert estimate.p16 <= estimate.p84
    assert pop.counts["detected_joint"].std > 0  # the sample's composition matters


def test_qtable_units_and_summary(assemble, mixed_dwd_sample):
    pop = assemble(mixed_dwd_sample, galaxy_fraction=0.01)
    table = pop.to_qtable()
    assert table["f_gw"].unit == u.Hz
    assert table["distance"].unit == u.kpc
    assert table["fdot"].unit == u.Hz / u.s
    assert set(table["component"]) <= {"thin_disc", "thick_disc", "bulge"}
    assert np.all(pop.catalogue["f_gw"] >= 1e-4)  # the default cut, Hz
    assert np.all(pop.catalogue["fdot"] > 0)  # GR chirp of a detached binary
    summary = pop.summary()
    assert {"alive", "detected_joint"} <= set(summary.index)
    assert pop.system_weight == pytest.approx(100.0, rel=1e-12)  # 1 / 0.01


def test_an_empty_galaxy_gives_an_empty_catalogue(assemble, mixed_dwd_sample):
    # expected 4e6 * 1e-7 = 0.4 systems in all: this seed draws none
    pop = assemble(mixed_dwd_sample, galaxy_fraction=1e-7, seed=1)
    assert pop.totals["formed"].value == 0
    assert len(pop.catalogue) == 0
    assert {"component", "f_gw", "snr_joint", "snr_avg_TianQin"} <= set(
        pop.catalogue.columns
    )
    assert pop.counts["detected_joint"].value == 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"galaxy_fraction": 0.0}, "galaxy_fraction"),
        ({"galaxy_fraction": 1.5}, "galaxy_fraction"),
        ({"chunk_size": BLOCK + 1}, "multiple of seed_block_size"),
        ({"n_bootstrap": 1}, "n_bootstrap"),
        ({"f_min_catalogue": -1 * u.Hz}, "f_min_catalogue"),
    ],
)
def test_bad_arguments_are_rejected(assemble, mixed_dwd_sample, kwargs, match):
    with pytest.raises(ValueError, match=match):
        assemble(mixed_dwd_sample, **kwargs)


def test_chunks_run_on_a_dask_cluster_of_processes(assemble, mixed_dwd_sample):
    """The chunked stage runs unchanged on Dask worker processes (pickled inputs)."""
    distributed = pytest.importorskip("distributed")
    ref = assemble(mixed_dwd_sample, chunk_size=BLOCK)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_dask = assemble(mixed_dwd_sample, chunk_size=BLOCK, map_function=client.map)
    pd.testing.assert_frame_equal(on_dask.catalogue, ref.catalogue)  # exact
    assert on_dask.counts["detected_LISA"].value == ref.counts["detected_LISA"].value


def test_each_white_dwarf_cools_from_its_own_formation(
    assemble, dwd_separation, make_dwd_sample
):
    m1, m2 = 0.6, 0.3  # Msun
    sample = make_dwd_sample(
        {"mass_1": [m1], "mass_2": [m2], "sep": [dwd_separation(2e-4, m1, m2)],
         "ecc": [0.0], "t_dwd": [900.0], "t_wd_1": [150.0], "t_wd_2": [900.0]},
        n_per_galaxy=2e5,
    )  # fmt: skip
    cat = assemble(sample, galaxy_fraction=0.1).catalogue
    assert len(cat) > 50  # ~ hundreds in band: enough to test
    age = cat["age"].to_numpy()  # Gyr since birth
    # cooling ages count from each star's white-dwarf formation (COSMIC times)
    np.testing.assert_allclose(cat["cooling_age_1"], age - 0.150, rtol=0, atol=1e-12)
    np.testing.assert_allclose(cat["cooling_age_2"], age - 0.900, rtol=0, atol=1e-12)
