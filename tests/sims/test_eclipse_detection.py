"""Tests of simfer.sims.eclipse_detection: cadence sampling and eclipse detection."""

import dataclasses

import astropy.units as u
import numpy as np
import pytest

from simfer.sims.eclipse_detection import (
    count_eclipse_points,
    detect_eclipses,
    sample_epochs,
)
from simfer.sims.eclipses import eclipse_duration
from simfer.sims.orbital_evolution import separation_from_period
from simfer.sims.surveys import (
    GAIA,
    JULIAN_YEAR,
    RUBIN,
    SIDEREAL_DAY,
    Cadence,
)
from simfer.sims.white_dwarfs import white_dwarf_radius

MSUN = 1.98840987e30  # kg, astropy's IAU 2015 value
DAY = 86400.0


def _binary(period, n=1, cos_i=0.0):
    """A 0.6 + 0.3 Msun DWD: per-source arrays of period, radii and separation."""
    r1 = float(white_dwarf_radius(0.6 * MSUN))
    r2 = float(white_dwarf_radius(0.3 * MSUN))
    a = float(separation_from_period(period, 0.6 * MSUN, 0.3 * MSUN))
    full = np.full
    return {
        "period": full(n, float(period)),
        "cos_inclination": full(n, cos_i * (r1 + r2) / a),
        "radius_1": full(n, r1),
        "radius_2": full(n, r2),
        "separation": full(n, a),
    }


def _magnitudes(survey, n, m1=18.0, m2=18.5):
    shape = (n, len(survey.bands))
    return {"magnitudes_1": np.full(shape, m1), "magnitudes_2": np.full(shape, m2)}


def _count(survey, times, bands, phase0, binary):
    """count_eclipse_points for identical binaries of 18 + 18.5 mag in every band."""
    n = binary["period"].size
    return count_eclipse_points(
        survey, times, bands, phase0=phase0, **binary, **_magnitudes(survey, n)
    )


def _duty(binary):
    """Fraction 2T/P of the orbit spent in eclipse by the first binary."""
    first = {key: value[0] for key, value in binary.items()}
    return 2 * eclipse_duration(**first) / first["period"]


def _uniform_survey(n_epochs, baseline=JULIAN_YEAR):
    """One-band survey sampling epochs uniformly at random; any dip counts."""
    return dataclasses.replace(
        GAIA,
        baseline=baseline,
        band_visits=(n_epochs,),
        cadence=Cadence(
            n_groups=n_epochs, group_offsets=(0.0,), season_length=JULIAN_YEAR
        ),
        n_sigma=0.0,
    )


@pytest.mark.parametrize("survey", [GAIA, RUBIN], ids=lambda s: s.name)
def test_sampled_epochs_follow_the_cadence_model(survey):
    n = 500
    times, bands = sample_epochs(survey, n, np.random.default_rng(3))
    assert times.shape == bands.shape == (n, survey.n_epochs)
    # every source has exactly band_visits epochs in each band
    for b, visits in enumerate(survey.band_visits):
        assert np.all((bands == b).sum(axis=1) == visits)
    cadence = survey.cadence
    end = survey.baseline + cadence.day_length + cadence.night_window
    assert times.min() >= 0 and times.max() < end + max(cadence.group_offsets)
    # visits of a group are group_offsets apart (106.5 min / 30 min), rounding only
    groups = times.reshape(n, cadence.n_groups, len(cadence.group_offsets))
    offsets = np.broadcast_to(cadence.group_offsets, groups.shape)
    np.testing.assert_allclose(groups - groups[:, :, :1], offsets, atol=1e-6)
    # uniform group times fill the baseline: mean over all groups within 1%
    assert np.mean(groups[:, :, 0]) == pytest.approx(survey.baseline / 2, rel=0.01)


def test_rubin_epochs_fall_in_seasons_and_at_one_hour_angle():
    times, _ = sample_epochs(RUBIN, 200, np.random.default_rng(4))
    starts = times[:, ::2]

    def circular_span(values, period):
        # length of the shortest arc of the circle holding every value
        ordered = np.sort(np.mod(values, period), axis=1)
        gaps = np.diff(ordered, axis=1, append=ordered[:, :1] + period)
        return period - gaps.max(axis=1)

    cadence = RUBIN.cadence
    # time of year: within the 210-day season (+ up to a day from night rounding)
    assert circular_span(starts, JULIAN_YEAR).max() <= cadence.season_length + DAY
    # time of sidereal day: within the 6 h night window
    assert circular_span(starts, SIDEREAL_DAY).max() <= cadence.night_window + 1e-3
    # the 412 pairs are spread over the 10 seasons (each season holds some)
    years = np.floor(starts / JULIAN_YEAR)
    assert all(len(np.unique(row)) >= 10 for row in years)


def test_light_curve_sampling_count_matches_binomial_expectation():
    # Edge-on binary, epochs uniform over a year: each of N epochs is in eclipse
    # with probability 2T/P, so the count is binomial with mean N 2T/P.
    period, n_epochs, n_sources = 1234.5, 800, 4000
    survey = _uniform_survey(n_epochs)
    binary = _binary(period, n_sources)
    rng = np.random.default_rng(20261203)
    times, bands = sample_epochs(survey, n_sources, rng)
    points = _count(survey, times, bands, rng.random(n_sources), binary)

    duty = _duty(binary)
    expected = n_epochs * duty
    standard_error = np.sqrt(n_epochs * duty * (1 - duty) / n_sources)
    # mean of 4000 binomial counts: within 5 standard errors of N 2T/P
    assert abs(points.total.mean() - expected) < 5 * standard_error
    # primary and secondary eclipses last equally long: equal shares, 5 std errors
    difference = points.primary.mean() - points.secondary.mean()
    assert abs(difference) < 5 * np.sqrt(2 * expected / n_sources)
    # binomial spread, not all-or-nothing: variance within 10% of N p (1 - p)
    assert points.total.var() == pytest.approx(expected * (1 - duty), rel=0.1)


@pytest.mark.parametrize("survey", [GAIA, RUBIN], ids=lambda s: s.name)
def test_mean_count_equals_duty_cycle_for_any_cadence_with_random_phase(survey):
    # With phase0 uniform, every epoch is in eclipse with probability 2T/P
    # whatever the cadence: the mean count is N 2T/P for Gaia and Rubin alike.
    survey = dataclasses.replace(survey, n_sigma=0.0)
    period, n_sources = 3 * 3600.0 + 17.0, 4000
    binary = _binary(period, n_sources)
    rng = np.random.default_rng(5)
    times, bands = sample_epochs(survey, n_sources, rng)
    points = _count(survey, times, bands, rng.random(n_sources), binary)
    duty = _duty(binary)
    # the spread across sources can exceed binomial (aliasing), so bound the
    # mean by the sample standard error: 5 of them
    error = points.total.std() / np.sqrt(n_sources)
    assert abs(points.total.mean() - survey.n_epochs * duty) < 5 * error


def test_period_of_one_sidereal_day_aliases_to_all_or_nothing():
    # Nightly sampling at a fixed hour angle: P = 1 sidereal day puts every
    # epoch at the same phase. A duty-cycle model would give Binomial(N, 2T/P).
    cadence = Cadence(
        n_groups=300,
        group_offsets=(0.0,),
        season_length=200 * DAY,
        day_length=SIDEREAL_DAY,
        night_window=0.0,
    )
    survey = dataclasses.replace(
        RUBIN, band_visits=(0, 0, 300, 0, 0, 0), cadence=cadence, n_sigma=0.0
    )
    period, n_sources = SIDEREAL_DAY, 20000
    binary = _binary(period, n_sources)
    rng = np.random.default_rng(6)
    times, bands = sample_epochs(survey, n_sources, rng)
    counts = _count(survey, times, bands, rng.random(n_sources), binary).total
    # every source: all 300 epochs in eclipse or none (exact, phase repeats)
    assert set(np.unique(counts)) <= {0, 300}
    duty = _duty(binary)
    # the fraction of sources always in eclipse is the duty cycle: 5 std errors
    fraction = np.mean(counts == 300)
    assert abs(fraction - duty) < 5 * np.sqrt(duty * (1 - duty) / n_sources)


def test_deterministic_aliasing_at_the_rubin_pair_spacing_and_a_daily_grid():
    period = 1800.0  # s, the Rubin pair spacing
    binary = _binary(period, 2)
    survey = dataclasses.replace(RUBIN, n_sigma=0.0)
    nights = np.arange(100) * DAY  # nightly at a fixed time; DAY = 48 P
    times = np.ravel(np.column_stack([nights, nights + 1800.0]))
    bands = np.full(times.size, RUBIN.band_index("r"))
    points = _count(survey, times, bands, np.array([0.0, 0.25]), binary)
    # phase 0 at every epoch: all 200 points in the primary eclipse; phase 0.25
    # at every epoch (quadrature): none. Duty-cycle: 200 x 2T/P ~ 7 for both.
    assert points.primary.tolist() == [200, 0]
    assert points.total.tolist() == [200, 0]
    # phase 0.5 at every epoch: all in the secondary eclipse
    half = _count(survey, times, bands, np.array([0.5, 0.5]), binary)
    assert half.secondary.tolist() == [200, 200]


def test_rubin_pairs_sample_a_pair_spacing_period_twice_at_one_phase():
    # P = 30 min: the two visits of a pair share their phase, so counts are even
    survey = dataclasses.replace(RUBIN, n_sigma=0.0)
    n_sources = 2000
    rng = np.random.default_rng(8)
    times, bands = sample_epochs(survey, n_sources, rng)
    binary = _binary(1800.0, n_sources)
    counts = _count(survey, times, bands, rng.random(n_sources), binary).total
    # exact: pairs are 1800 s apart, phases differ by one whole cycle
    assert np.all(counts % 2 == 0)
    assert counts.max() > 0


def _population(n, survey, dec=-0.5, m1=18.0, m2=18.5, period=2 * 3600.0):
    binary = _binary(period, n)
    return {
        **binary,
        "phase0": np.linspace(0.0, 1.0, n, endpoint=False),
        **_magnitudes(survey, n, m1, m2),
        "declination": np.full(n, dec),
    }


def test_detection_requires_footprint_brightness_and_points():
    rubin_in = _population(50, RUBIN)
    result = detect_eclipses(RUBIN, np.random.default_rng(1), **rubin_in)
    # bright (r ~ 17.5), edge-on, 2 h period, in the footprint: ~824 x 2T/P
    # (~9) points each, most detected
    assert result.n_points.mean() > 3 and result.detected.mean() > 0.8
    # north of +2 deg: outside Rubin's footprint, nothing sampled
    rubin_north = {**rubin_in, "declination": np.full(50, 0.5)}
    north = detect_eclipses(RUBIN, np.random.default_rng(1), **rubin_north)
    assert not north.detected.any() and not north.n_points.any()
    # r = 24.3: fainter than the r <= 24 detection limit, yet inside m5 = 24.7
    faint = detect_eclipses(
        RUBIN, np.random.default_rng(1), **_population(50, RUBIN, m1=25.0, m2=25.0)
    )
    assert not faint.detected.any()
    # saturated out of eclipse (r ~ 14.5 < 16): no usable point, not detected
    bright = detect_eclipses(
        RUBIN, np.random.default_rng(1), **_population(50, RUBIN, m1=15.0, m2=15.5)
    )
    assert not bright.detected.any()
    # Gaia is all-sky: the northern sources are seen
    gaia = detect_eclipses(GAIA, np.random.default_rng(1), **_population(50, GAIA, 0.5))
    assert gaia.n_points.sum() > 0


def test_require_both_eclipses_rejects_a_dark_companion():
    # star 1 emits nothing: its eclipse (phase 0.5) hides no light
    population = _population(200, GAIA, m1=np.inf, m2=17.0)
    either = detect_eclipses(GAIA, np.random.default_rng(2), **population)
    both = detect_eclipses(
        dataclasses.replace(GAIA, require_both_eclipses=True),
        np.random.default_rng(2),
        **population,
    )
    # same seed, same epochs: some detected from the primary alone, none with both
    assert either.detected.any()
    assert not both.detected.any()
    np.testing.assert_array_equal(either.n_points, both.n_points)


def test_detection_is_reproducible_with_a_seed():
    population = _population(300, RUBIN)
    first = detect_eclipses(RUBIN, np.random.default_rng(9), **population)
    again = detect_eclipses(RUBIN, np.random.default_rng(9), **population)
    other = detect_eclipses(RUBIN, np.random.default_rng(10), **population)
    # same generator state: identical epochs and counts
    np.testing.assert_array_equal(first.n_points, again.n_points)
    np.testing.assert_array_equal(first.detected, again.detected)
    assert not np.array_equal(first.n_points, other.n_points)
    t1, _ = sample_epochs(GAIA, 10, np.random.default_rng(9))
    t2, _ = sample_epochs(GAIA, 10, np.random.default_rng(9))
    np.testing.assert_array_equal(t1, t2)


def test_bad_inputs_name_the_parameter():
    population = _population(4, RUBIN)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="period"):
        detect_eclipses(RUBIN, rng, **{**population, "period": -population["period"]})
    with pytest.raises(ValueError, match="magnitudes_1"):
        detect_eclipses(RUBIN, rng, **{**population, "magnitudes_1": np.zeros((4, 1))})
    with pytest.raises(ValueError, match="separation"):
        detect_eclipses(RUBIN, rng, **{**population, "separation": np.ones(3)})
    with pytest.raises(ValueError, match="declination"):
        detect_eclipses(RUBIN, rng, **{**population, "declination": np.full(4, 2.0)})
    with pytest.raises(TypeError, match="rng"):
        detect_eclipses(RUBIN, 42, **population)
    with pytest.raises(ValueError, match="n_sources"):
        sample_epochs(RUBIN, -1, rng)


def test_detection_accepts_quantities():
    population = _population(20, GAIA)
    in_units = {
        **population,
        "period": population["period"] / 3600.0 * u.hour,
        "radius_1": population["radius_1"] / 1e3 * u.km,
        "separation": population["separation"] * u.m,
        "declination": np.rad2deg(population["declination"]) * u.deg,
    }
    si = detect_eclipses(GAIA, np.random.default_rng(3), **population)
    converted = detect_eclipses(GAIA, np.random.default_rng(3), **in_units)
    # unit conversions only: same epochs, same counts
    np.testing.assert_array_equal(si.n_points, converted.n_points)
