"""Tests of simfer.sims.dwd_optical: eclipsing DWDs of a population block."""

import dataclasses

import astropy.units as u
import numpy as np
import pytest

from simfer.sims import dwd_population as dp
from simfer.sims.dwd_optical import (
    ECLIPSING_UNITS,
    OpticalSettings,
    eclipsing_columns,
    observe_eclipsing_systems,
    optical_count_keys,
)
from simfer.sims.galaxy import MCMILLAN_2017
from simfer.sims.surveys import GAIA, RUBIN
from simfer.sims.white_dwarfs import white_dwarf_radius

MSUN = u.Msun.to(u.kg)
RSUN = u.Rsun.to(u.m)
G = 6.67430e-11  # m^3 kg^-1 s^-2, CODATA 2018
BLOCK = 2**14


def _block(n, *, m1=0.3, m2=0.6, period_h=2.0, cooling_gyr=0.05, in_band=True):
    """``n`` identical systems as the chunk hands them to the optical stage."""
    a = np.cbrt(G * (m1 + m2) * MSUN * (period_h * 3600.0 / (2 * np.pi)) ** 2)
    drawn = {
        "sample_index": np.zeros(n, np.int32),
        "kstar_1": np.zeros(n, np.int8),
        "kstar_2": np.ones(n, np.int8),
        "mass_1": np.full(n, m1),
        "mass_2": np.full(n, m2),
        "f_gw": np.full(n, 2.0 / (period_h * 3600.0)),
        "sep": np.full(n, a / RSUN),
        "cooling_age_1": np.full(n, cooling_gyr),
        "cooling_age_2": np.full(n, cooling_gyr),
    }
    flags = np.full(n, in_band)
    return drawn, flags, a


def _placed(n, rng, *, distance_kpc=0.1, snr=0.0):
    return {
        "cos_i": rng.uniform(-1.0, 1.0, n),
        "distance": np.full(n, distance_kpc),
        "l": np.full(n, np.pi),  # anticentre, b = -60 deg: in Rubin's footprint
        "b": np.full(n, -np.pi / 3),
        "snr_LISA": np.full(n, snr),
        "snr_joint": np.full(n, snr),
    }


def _observe(drawn, flags, placed, seed=0, settings=None):
    return observe_eclipsing_systems(
        drawn, flags, placed, np.random.SeedSequence(seed, spawn_key=(3, 1, 0)),
        settings or OpticalSettings(), galaxy=MCMILLAN_2017, component="thin_disc",
        metallicity=0.02, n_rows=1, detector_names=["LISA"], snr_threshold=7.0,
    )  # fmt: skip


def test_eclipsing_fraction_matches_the_geometric_probability():
    n = 40_000
    drawn, flags, a = _block(n)
    placed = _placed(n, np.random.default_rng(1))
    counts, _ = _observe(drawn, flags, placed)
    p = (white_dwarf_radius(0.3 * MSUN) + white_dwarf_radius(0.6 * MSUN)) / a
    expected = n * p
    # cos i uniform: Binomial(n, (R1 + R2)/a); 5 standard deviations
    assert abs(counts["optical_eclipsing"][0] - expected) < 5 * np.sqrt(expected)


def test_nearby_hot_short_period_pair_is_detected_and_joint_counts_nest():
    n = 4000
    drawn, flags, _ = _block(n, period_h=1.0, cooling_gyr=0.02)
    placed = _placed(n, np.random.default_rng(2), distance_kpc=1.0, snr=20.0)
    counts, catalogue = _observe(drawn, flags, placed)
    n_eclipsing = counts["optical_eclipsing"][0]
    assert n_eclipsing > 20  # ~ 2 % of 4000 eclipse: enough to test
    # A 20 Myr-old pair at 1 kpc: bright but unsaturated, deep eclipses, many points
    # Rubin's 824 epochs catch all but the grazing eclipses (measured 87 %)
    assert counts["optical_rubin"][0] > 0.7 * n_eclipsing
    # Gaia's 70 transits give ~3 in-eclipse points at a 5 % duty cycle: marginal
    assert 0 < counts["optical_gaia"][0] < counts["optical_rubin"][0]
    for survey in ("gaia", "rubin"):
        both = counts[f"optical_{survey}_LISA"][0]
        assert both == counts[f"optical_{survey}"][0]  # all have SNR 20 > 7
        assert counts[f"optical_{survey}_joint"][0] == both
    assert set(catalogue) == set(eclipsing_columns(OpticalSettings(), ["LISA"])) - {
        "component"
    }
    assert len(catalogue["f_gw"]) == n_eclipsing  # all bright: all kept


def test_systems_outside_the_footprint_or_too_faint_are_not_detected():
    n = 4000
    drawn, flags, _ = _block(n, period_h=1.0, cooling_gyr=0.02)
    north = _placed(n, np.random.default_rng(3), distance_kpc=0.2)
    north["l"], north["b"] = np.zeros(n), np.full(n, np.pi / 2 - 0.2)  # dec ~ +27
    counts, _ = _observe(drawn, flags, north)
    assert counts["optical_rubin"][0] == 0  # Rubin's footprint ends at dec +2 deg
    assert counts["optical_gaia"][0] > 0  # Gaia sees the whole sky
    far = _placed(n, np.random.default_rng(3), distance_kpc=30.0)
    counts, catalogue = _observe(drawn, flags, far)
    assert counts["optical_gaia"][0] == counts["optical_rubin"][0] == 0
    assert len(catalogue["f_gw"]) == 0  # far beyond every limit + margin


def test_systems_below_the_gravitational_wave_cut_get_snr_zero_and_a_position():
    n = 3000
    drawn, flags, _ = _block(n, period_h=20.0, in_band=False)
    placed = {k: v[:0] for k, v in _placed(0, np.random.default_rng(4)).items()}
    counts, catalogue = _observe(drawn, flags, placed)
    assert counts["optical_eclipsing"][0] > 0
    assert np.all(catalogue["snr_LISA"] == 0)
    assert np.all(catalogue["distance"] > 0)  # placed by the Galaxy model


def test_same_seed_same_observation():
    drawn, flags, _ = _block(5000, period_h=3.0)
    placed = _placed(5000, np.random.default_rng(5), distance_kpc=0.5)
    first = _observe(drawn, flags, placed, seed=9)
    second = _observe(drawn, flags, placed, seed=9)
    for key in first[1]:
        np.testing.assert_array_equal(first[1][key], second[1][key])


def test_settings_reject_bad_values():
    with pytest.raises(ValueError, match="period_max"):
        OpticalSettings(period_max=-1.0)
    with pytest.raises(ValueError, match="distinct"):
        OpticalSettings(surveys=(GAIA, GAIA))
    with pytest.raises(ValueError, match="at least one"):
        OpticalSettings(surveys=())
    assert OpticalSettings().bands == ("G", "u", "g", "r", "i", "z", "y")
    assert "optical_rubin_joint" in optical_count_keys(OpticalSettings(), ["LISA"])


@pytest.fixture(scope="module")
def short_period_sample(make_dwd_sample, dwd_separation, everywhere):
    """Close He + CO pairs decaying through 0.3-30 h, every component (3e7 in the
    Galaxy, so that a 2 % fraction holds some within reach of the surveys)."""
    seps = [dwd_separation(f, 0.3, 0.6) for f in (2e-5, 5e-5, 2e-4)]
    return everywhere(make_dwd_sample(
        {"mass_1": [0.3] * 3, "mass_2": [0.6] * 3, "sep": seps, "ecc": [0.0] * 3,
         "t_dwd": [300.0] * 3},
        n_per_galaxy=3e7,
    ))  # fmt: skip


def _population(sample, **kwargs):
    options = {"seed": 11, "galaxy_fraction": 0.02, "chunk_size": 2 * BLOCK,
               "seed_block_size": BLOCK, "n_bootstrap": 20,
               "optical": OpticalSettings()}  # fmt: skip
    options.update(kwargs)
    return dp.assemble_population(sample, **options)


def test_population_optical_stage_is_reproducible_and_independent_of_chunking(
    short_period_sample,
):
    first = _population(short_period_sample)
    again = _population(short_period_sample, chunk_size=4 * BLOCK)
    assert len(first.eclipsing) > 0
    for key, value in first.optical_counts.items():
        assert again.optical_counts[key].value == value.value, key
    np.testing.assert_array_equal(
        first.eclipsing["period"].to_numpy(), again.eclipsing["period"].to_numpy()
    )
    table = first.eclipsing_qtable()
    for name, unit in ECLIPSING_UNITS.items():
        if name in table.colnames:
            assert table[name].unit == unit, name
    assert table["detected_rubin"].dtype == bool  # flags stay plain booleans
    assert table.meta["magnitude_systems"]["mag_G"].startswith("Vega")
    # Every kept system is eclipsing and below the period cut
    assert np.all(table["period"] <= 30 * u.hour)
    r_sum = table["radius_1"] + table["radius_2"]
    assert np.all(np.abs(table["cos_i"]) <= (r_sum / table["sep"]).decompose())


def test_optical_settings_leave_the_gravitational_wave_realisation_alone(
    short_period_sample,
):
    plain = _population(short_period_sample, optical=None)
    assert plain.optical_counts == {}
    assert len(plain.eclipsing) == 0
    other = OpticalSettings(surveys=(RUBIN,), period_max=2 * 3600.0)
    for optical in (OpticalSettings(), other):
        population = _population(short_period_sample, optical=optical)
        for key, value in {**plain.totals, **plain.counts}.items():
            counts = {**population.totals, **population.counts}
            assert counts[key].value == value.value, key  # identical, not close
        np.testing.assert_array_equal(
            population.catalogue["f_gw"], plain.catalogue["f_gw"]
        )


def test_changing_one_survey_or_the_period_cut_leaves_the_other_draws_alone(
    short_period_sample,
):
    both = _population(short_period_sample).eclipsing
    rubin_only = _population(
        short_period_sample, optical=OpticalSettings(surveys=(RUBIN,))
    ).eclipsing
    shorter = _population(
        short_period_sample, optical=OpticalSettings(period_max=10 * 3600.0)
    ).eclipsing
    assert len(both) > 10
    key = ["period", "distance", "cos_i"]
    common = both.merge(rubin_only, on=key, suffixes=("", "_r"))
    assert len(common) > 0  # systems within reach of Rubin in both runs
    # Rubin's epochs do not depend on whether Gaia is modelled
    np.testing.assert_array_equal(common["n_points_rubin"], common["n_points_rubin_r"])
    # the systems below 10 h are the same systems, at the same places
    short = both[both["period"] < 10]
    assert set(map(tuple, short[key].to_numpy())) <= set(
        map(tuple, shorter[key].to_numpy())
    )


def test_a_survey_override_changes_only_its_survey():
    strict = dataclasses.replace(RUBIN, detection_limit=16.5)
    settings = OpticalSettings(surveys=(GAIA, strict))
    drawn, flags, _ = _block(3000, period_h=1.0, cooling_gyr=0.02)
    placed = _placed(3000, np.random.default_rng(6), distance_kpc=0.2)
    counts, _ = _observe(drawn, flags, placed, settings=settings)
    assert counts["optical_rubin"][0] == 0  # nothing here is brighter than r = 16.5
    assert counts["optical_gaia"][0] > 0
