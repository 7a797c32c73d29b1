"""Tests of simfer.sims.eclipses: eclipse geometry of circular binaries."""

import astropy.units as u
import numpy as np
import pytest

from simfer.sims.eclipses import (
    eclipse_duration,
    eclipse_probability,
    eclipsed_fraction,
    eclipses,
    in_eclipse,
    overlap_area,
)
from simfer.sims.orbital_evolution import separation_from_period
from simfer.sims.white_dwarfs import white_dwarf_radius

MSUN = u.Msun.to(u.kg)


def _dwd(period_s=600.0):
    """A 0.6 + 0.2 Msun double white dwarf: radii and separation in m."""
    r1 = white_dwarf_radius(0.6 * MSUN)
    r2 = white_dwarf_radius(0.2 * MSUN)
    a = separation_from_period(period_s, 0.6 * MSUN, 0.2 * MSUN)
    return float(r1), float(r2), float(a)


def _projected_separation(times, period, phase0, cos_i, a):
    """Sky-projected separation (m) of a circular orbit; phase 0 is a conjunction."""
    phi = 2 * np.pi * (times / period + phase0)
    return a * np.sqrt(np.sin(phi) ** 2 + cos_i**2 * np.cos(phi) ** 2)


@pytest.mark.parametrize("ratio", [0.01, 0.1, 0.5, 0.9])
def test_probability_equals_monte_carlo_fraction_of_isotropic_orientations(ratio):
    rng = np.random.default_rng(20261203)
    n = 1_000_000
    cos_i = rng.uniform(-1.0, 1.0, n)
    r1, a = 0.3 * ratio, 1.0
    fraction = np.mean(eclipses(cos_i, r1, ratio - r1, a))
    p = eclipse_probability(r1, ratio - r1, a)
    standard_error = np.sqrt(p * (1 - p) / n)
    # binomial fraction of 1e6 isotropic draws: within 5 standard errors
    assert abs(fraction - p) < 5 * standard_error


def test_probability_is_capped_at_one_and_broadcasts():
    p = eclipse_probability([1.0, 3.0, 10.0], 2.0, [30.0, 5.0, 1.0])
    # (R1 + R2)/a = 0.1, 1.0 and 12 -> min(1, .): exact arithmetic
    np.testing.assert_allclose(p, [0.1, 1.0, 1.0], rtol=1e-15)


def test_eclipse_condition_at_the_boundary_and_symmetry():
    ratio = 0.25
    result = eclipses([-0.3, -0.25, 0.0, 0.25, 0.3], 0.125, 0.125, 1.0)
    # |cos i| <= 0.25 eclipses, both hemispheres alike
    np.testing.assert_array_equal(result, [False, True, True, True, False])
    assert eclipse_probability(0.125, 0.125, 1.0) == ratio


def test_edge_on_duration_reduces_to_arcsine_of_radius_ratio():
    r1, r2, a = _dwd()
    period = 600.0
    duration = eclipse_duration(period, r1, r2, a, 0.0)
    # sin i = 1, cos i = 0: Winn (2010) eq. 14 -> (P/pi) arcsin((R1 + R2)/a)
    assert duration == pytest.approx(period / np.pi * np.arcsin((r1 + r2) / a), 1e-13)


def test_duration_accepts_quantities():
    r1, r2, a = _dwd()
    in_si = eclipse_duration(600.0, r1, r2, a, 0.01)
    in_units = eclipse_duration(
        10 * u.min, r1 / 1e3 * u.km, r2 / 1e3 * u.km, a / 1e3 * u.km, 0.01
    )
    # one unit conversion apart: rounding only
    assert in_units == pytest.approx(in_si, rel=1e-12)


@pytest.mark.parametrize("impact", [0.0, 0.5, 0.9, 0.99])
def test_duration_is_time_with_projected_separation_below_sum_of_radii(impact):
    r1, r2, a = _dwd()
    period = 600.0
    cos_i = impact * (r1 + r2) / a
    times = np.linspace(-0.25 * period, 0.25 * period, 2_000_001)
    inside = _projected_separation(times, period, 0.0, cos_i, a) < r1 + r2
    measured = inside.sum() * (times[1] - times[0])
    duration = eclipse_duration(period, r1, r2, a, cos_i)
    # exact geometry sampled on a 2.5e-4 s grid: two edges -> error <= 2 steps
    assert measured == pytest.approx(duration, abs=2 * (times[1] - times[0]))


def test_non_eclipsing_duration_is_zero_and_contact_is_half_period():
    durations = eclipse_duration(100.0, 1.0, 1.0, [10.0, 10.0, 1.5], [0.21, 1.0, 0.9])
    # |cos i| > (R1 + R2)/a -> 0; R1 + R2 >= a -> capped arcsine, P/2
    np.testing.assert_allclose(durations, [0.0, 0.0, 50.0], rtol=1e-15, atol=0)


@pytest.mark.parametrize(("impact", "phase0"), [(0.0, 0.0), (0.7, 0.37)])
def test_sampled_light_curve_fraction_matches_duty_cycle(impact, phase0):
    r1, r2, a = _dwd()
    period = 600.0
    cos_i = impact * (r1 + r2) / a
    duration = eclipse_duration(period, r1, r2, a, cos_i)
    rng = np.random.default_rng(7)
    n = 200_000
    times = rng.uniform(0.0, 1000 * period, n)

    flags = in_eclipse(times, period, phase0, duration)
    duty = 2 * duration / period
    standard_error = np.sqrt(duty * (1 - duty) / n)
    # binomial fraction of 2e5 random epochs over 1000 orbits: within 5 std errors
    assert abs(flags.mean() - duty) < 5 * standard_error

    geometric = _projected_separation(times, period, phase0, cos_i, a) < r1 + r2
    # same epochs classified by the sky-projected separation directly: identical
    # (a tie would need an epoch within rounding of a contact, probability ~1e-10)
    np.testing.assert_array_equal(flags, geometric)


def test_in_eclipse_centres_on_both_conjunctions_and_broadcasts():
    times = np.array([0.0, 24.0, 26.0, 500.0, 524.0, 526.0, 1000.0])
    flags = in_eclipse(times, 1000.0, 0.0, 50.0)
    # half width 25 s around t = 0, 500, 1000 s
    np.testing.assert_array_equal(flags, [1, 1, 0, 1, 1, 0, 1])

    per_binary = in_eclipse(times, [[1000.0], [1000.0]], [[0.0], [0.25]], [[50.0], [0]])
    assert per_binary.shape == (2, times.size)
    # second binary does not eclipse (duration 0)
    assert not per_binary[1].any()
    # phase0 shifts the eclipse: phase 0.25 at t = 0 -> centres at t = 250, 750 s
    assert in_eclipse([250.0, 750.0, 0.0], 1000.0, 0.25, 50.0).tolist() == [
        True,
        True,
        False,
    ]


def test_bad_inputs_name_the_parameter():
    with pytest.raises(ValueError, match="cos_inclination"):
        eclipses(1.5, 1.0, 1.0, 10.0)
    with pytest.raises(ValueError, match="radius_2"):
        eclipse_probability(1.0, -1.0, 10.0)
    with pytest.raises(ValueError, match="separation"):
        eclipse_duration(100.0, 1.0, 1.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="period"):
        eclipse_duration(-1.0, 1.0, 1.0, 10.0, 0.0)
    with pytest.raises(ValueError, match="duration"):
        in_eclipse([0.0], 100.0, 0.0, -1.0)
    with pytest.raises(ValueError, match="times"):
        in_eclipse([np.nan], 100.0, 0.0, 1.0)
    with pytest.raises(u.UnitConversionError, match="radius_1"):
        eclipses(0.0, 1.0 * u.s, 1.0, 10.0)


def test_overlap_area_limits_and_known_lens():
    # apart or touching: nothing hidden
    np.testing.assert_array_equal(overlap_area([3.0, 5.0], 2.0, 1.0), [0.0, 0.0])
    # small disc inside the large one, either in front: pi r_small^2 exactly
    inside = overlap_area([0.0, 0.5, 1.0], [2.0, 1.0, 0.5], [0.5, 2.0, 2.0])
    np.testing.assert_allclose(inside, np.pi * np.array([0.25, 1.0, 0.25]), rtol=1e-15)
    # equal discs of radius r at separation r: 2 r^2 (pi/3 - sqrt(3)/4) (geometry)
    r = 3.0
    lens = overlap_area(r, r, r)
    assert lens == pytest.approx(2 * r**2 * (np.pi / 3 - np.sqrt(3) / 4), rel=1e-14)
    # the lens is symmetric in the two radii: rounding only
    assert overlap_area(1.3, 1.0, 0.6) == pytest.approx(overlap_area(1.3, 0.6, 1.0))


def test_overlap_area_is_continuous_at_contacts_and_accepts_quantities():
    eps = 1e-9
    # external contact d = r1 + r2 -> 0; internal contact d = |r1 - r2| -> pi r2^2
    assert overlap_area(1.5 - eps, 1.0, 0.5) == pytest.approx(0.0, abs=1e-12)
    assert overlap_area(0.5 + eps, 1.0, 0.5) == pytest.approx(np.pi / 4, rel=1e-7)
    in_km = overlap_area(1.2 * u.km, 1000.0 * u.m, 0.6 * u.km)
    # one unit conversion: same area in m^2
    assert in_km == pytest.approx(overlap_area(1200.0, 1000.0, 600.0), rel=1e-14)


def test_overlap_area_matches_monte_carlo_sampling_of_the_back_disc():
    rng = np.random.default_rng(11)
    n = 400_000
    r_front, r_back, d = 0.7, 1.0, 1.2
    radius = r_back * np.sqrt(rng.random(n))
    angle = 2 * np.pi * rng.random(n)
    x, y = radius * np.cos(angle), radius * np.sin(angle)
    covered = np.mean((x - d) ** 2 + y**2 < r_front**2)
    expected = overlap_area(d, r_front, r_back) / (np.pi * r_back**2)
    # binomial fraction of 4e5 uniform points of the back disc: 5 std errors
    assert abs(covered - expected) < 5 * np.sqrt(expected * (1 - expected) / n)


def test_eclipsed_fraction_at_conjunctions_of_an_edge_on_binary():
    f1, f2, a = 3.0, 1.0, 50.0
    # phase 0, star 1 in front and larger: star 2 wholly hidden -> F2 / (F1 + F2)
    assert eclipsed_fraction(0.0, 0.0, 1.0, 0.5, a, f1, f2) == pytest.approx(0.25)
    # phase 0, star 1 smaller (transit): (R1/R2)^2 F2 / (F1 + F2)
    transit = eclipsed_fraction(0.0, 0.0, 0.5, 1.0, a, f1, f2)
    assert transit == pytest.approx(0.25**2, rel=1e-14)
    # phase 0.5: star 2 in front; larger star 2 hides all of star 1
    assert eclipsed_fraction(0.5, 0.0, 0.5, 1.0, a, f1, f2) == pytest.approx(0.75)
    # quadrature: discs 50 radii apart, nothing hidden
    assert eclipsed_fraction(0.25, 0.0, 0.5, 1.0, a, f1, f2) == 0.0


def test_eclipsed_fraction_vanishes_exactly_outside_the_eclipse_duration():
    r1, r2, a = _dwd()
    period, cos_i = 600.0, 0.6 * (r1 + r2) / a
    duration = eclipse_duration(period, r1, r2, a, cos_i)
    half = duration / (2 * period)
    phases = np.array([0.0, 0.999 * half, 1.001 * half, 0.5 - 0.999 * half, 0.5])
    lost = eclipsed_fraction(phases, cos_i, r1, r2, a, 2.0, 1.0)
    # inside T/2 of a conjunction: light lost; just outside: none (Winn 2010 eq. 14)
    assert np.all(lost[[0, 1, 3, 4]] > 0)
    assert lost[2] == 0.0
    # symmetric about conjunction and periodic: same geometry, rounding only
    np.testing.assert_allclose(
        eclipsed_fraction(
            [-0.3 * half, 0.3 * half, 1 + 0.3 * half], cos_i, r1, r2, a, 2.0, 1.0
        ),
        eclipsed_fraction(0.3 * half, cos_i, r1, r2, a, 2.0, 1.0),
        rtol=1e-9,
    )


def test_eclipsed_fraction_broadcasts_sources_against_epochs():
    phases = np.linspace(-0.01, 0.01, 7)
    lost = eclipsed_fraction(
        phases[None, :],
        [[0.0], [0.01]],
        1.0,
        1.0,
        [[100.0], [100.0]],
        1.0,
        [[1.0], [0.0]],
    )
    assert lost.shape == (2, 7)
    # second binary: star 2 dark, so the primary eclipse (star 2 hidden) loses nothing
    assert np.all(lost[1] == 0.0)


def test_eclipsed_fraction_bad_inputs_name_the_parameter():
    with pytest.raises(ValueError, match="phase"):
        eclipsed_fraction(np.nan, 0.0, 1.0, 1.0, 10.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="flux_2"):
        eclipsed_fraction(0.0, 0.0, 1.0, 1.0, 10.0, 1.0, -1.0)
    with pytest.raises(ValueError, match="flux_1 \\+ flux_2"):
        eclipsed_fraction(0.0, 0.0, 1.0, 1.0, 10.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="separation_on_sky"):
        overlap_area(-1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="r_back"):
        overlap_area(1.0, 1.0, 0.0)
