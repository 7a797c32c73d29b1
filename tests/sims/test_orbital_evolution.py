"""Tests of simfer.sims.orbital_evolution against independent integrations."""

import astropy.units as u
import legwork.evol
import numpy as np
import pytest
from astropy import constants
from scipy.integrate import quad, solve_ivp

from simfer.sims import orbital_evolution as oe

MSUN = constants.M_sun.si.value
M1, M2 = 0.6 * MSUN, 0.4 * MSUN
YEAR = 365.25 * 86400.0


def _peters_ode(t_end, a0, e0, m1=M1, m2=M2):
    """Integrate Peters' (5.6)-(5.7) in time with an explicit Runge-Kutta method."""

    def rhs(_t, y):
        da, de = oe.peters_rates(y[0], max(y[1], 0.0), m1, m2)
        return [da, de]

    sol = solve_ivp(
        rhs, (0.0, t_end), [a0, e0], method="DOP853", rtol=1e-12, atol=[1e-3, 1e-18]
    )
    assert sol.success
    return sol.y[0, -1], sol.y[1, -1]


def test_kepler_earth_year():
    a = (1 * u.au).to_value(u.m)
    m_earth = constants.M_earth.si.value
    period = oe.period_from_separation(a, MSUN, m_earth)
    # sidereal year 365.25636 d; the au and GM_sun of astropy fix it to ~1e-6
    assert period / 86400.0 == pytest.approx(365.25636, rel=2e-6)


def test_kepler_round_trip_and_quantities():
    periods = np.geomspace(60.0, 1e6, 50)
    a = oe.separation_from_period(periods, M1, M2)
    # exact inverse functions: agreement to rounding
    np.testing.assert_allclose(
        oe.period_from_separation(a, M1, M2), periods, rtol=1e-13
    )
    a_q = oe.separation_from_period(periods * u.s, 0.6 * u.Msun, 0.4 * u.Msun)
    # Quantity inputs are converted to SI once: identical to rounding
    np.testing.assert_allclose(a_q, a, rtol=1e-13)


def test_circular_decay_matches_ode():
    a0 = oe.separation_from_period(600.0, M1, M2)
    t_merge = oe.merger_time_circular(a0, M1, M2)
    times = t_merge * np.array([0.1, 0.5, 0.9, 0.999])

    sol = solve_ivp(
        lambda _t, y: [-oe.peters_beta(M1, M2) / y[0] ** 3],
        (0.0, times[-1]),
        [a0],
        method="DOP853",
        t_eval=times,
        rtol=1e-12,
        atol=1e-6,
    )
    closed = oe.separation_after_circular(a0, M1, M2, times)
    # rtol 1e-12 ODE solution; loss near merger from a^4 cancellation ~1e-9
    np.testing.assert_allclose(closed, sol.y[0], rtol=1e-8)


def test_circular_merger_time_closed_form_and_legwork():
    a0 = np.geomspace(1e7, 1e9, 20)
    expected = (5.0 / 256.0) * oe.C**5 * a0**4 / (oe.G**3 * M1 * M2 * (M1 + M2))
    got = oe.merger_time_circular(a0, M1, M2)
    # same formula rearranged (Peters 1964 eq. 5.10): rounding only
    np.testing.assert_allclose(got, expected, rtol=1e-13)
    lw = legwork.evol.get_t_merge_circ(
        m_1=np.full(20, 0.6) * u.Msun, m_2=np.full(20, 0.4) * u.Msun, a_i=a0 * u.m
    )
    # LEGWORK uses the same astropy constants; only unit-conversion rounding differs
    np.testing.assert_allclose(got, lw.to_value(u.s), rtol=1e-10)
    # past the merger time the binary is gone
    assert oe.separation_after_circular(a0[0], M1, M2, 2 * got[0]) == 0.0


@pytest.mark.parametrize("e0", [0.05, 0.3, 0.6, 0.9])
def test_eccentric_merger_time_matches_time_integration(e0):
    a0 = oe.separation_from_period(3 * 3600.0, M1, M2)
    t_merge = oe.merger_time(a0, e0, M1, M2)

    # Integrate until a has shrunk 100-fold, then add the circular remainder:
    # by then e < 1e-3 (a ~ e^(12/19)), so the remainder's eccentric correction is
    # ~e^2 of a 1e-8 fraction of the total.
    def hit(_t, y):
        return y[0] - 0.01 * a0

    hit.terminal = True

    def rhs(_t, y):
        da, de = oe.peters_rates(y[0], max(y[1], 0.0), M1, M2)
        return [da, de]

    sol = solve_ivp(
        rhs,
        (0.0, 2 * t_merge),
        [a0, e0],
        method="DOP853",
        rtol=1e-12,
        atol=[1e-6, 1e-18],
        events=hit,
    )
    t_ode = sol.t_events[0][0] + oe.merger_time_circular(sol.y_events[0][0][0], M1, M2)
    # ODE tolerance 1e-12 accumulated over the steep final inspiral: ~1e-9
    assert t_merge == pytest.approx(t_ode, rel=1e-8)


def test_eccentric_factor_matches_direct_quadrature_and_legwork():
    e0 = np.array([0.2, 0.5, 0.8, 0.95])

    def integrand(x):
        return (
            x ** (29 / 19) * (1 + 121 / 304 * x**2) ** (1181 / 2299) / (1 - x**2) ** 1.5
        )

    a0 = 1e8
    c0 = oe.peters_c0(a0, e0)
    beta = oe.peters_beta(M1, M2)
    direct = [
        12 / 19 * c**4 / beta * quad(integrand, 0, e, epsabs=0, epsrel=1e-13)[0]
        for c, e in zip(c0, e0, strict=True)
    ]
    got = oe.merger_time(a0, e0, M1, M2)
    # adaptive QUADPACK on Peters eq. (5.14) directly, rtol 1e-13
    np.testing.assert_allclose(got, direct, rtol=1e-10)
    lw = legwork.evol.get_t_merge_ecc(
        e0,
        a_i=np.full(4, a0) * u.m,
        m_1=np.full(4, 0.6) * u.Msun,
        m_2=np.full(4, 0.4) * u.Msun,
    )
    # LEGWORK integrates the same equation with default quad tolerances (~1.5e-8)
    np.testing.assert_allclose(got, lw.to_value(u.s), rtol=1e-7)


def test_eccentric_factor_limits():
    # e -> 0: the eccentric merger time tends to the circular one as 1 + O(e^2)
    small = oe.eccentric_merger_factor(np.array([0.0, 1e-8, 1e-4]))
    np.testing.assert_allclose(small, 1.0, rtol=1e-7)

    # e -> 1: Peters' asymptotic form (768/425) T_c (1 - e^2)^(7/2); its relative
    # error shrinks like sqrt(1 - e) (the next term of the expansion near e = 1)
    for gap in (1e-6, 1e-9, 1e-12):
        e0 = 1 - gap
        asym = 768 / 425 * (1 - e0**2) ** 3.5
        got = oe.eccentric_merger_factor(e0)
        assert got == pytest.approx(asym, rel=3 * np.sqrt(gap))


def test_mandel_fit_within_its_stated_accuracy():
    e0 = np.linspace(0.0, 0.999, 500)
    exact = oe.merger_time(1e8, e0, M1, M2)
    fit = oe.merger_time(1e8, e0, M1, M2, method="mandel2021")
    # Mandel (2021) quotes the fit as accurate to within 3 per cent
    np.testing.assert_allclose(fit, exact, rtol=0.03)


def test_peters_track_constant_along_ode():
    a0, e0 = 2e8, 0.7
    t_end = 0.8 * oe.merger_time(a0, e0, M1, M2)
    a, e = _peters_ode(t_end, a0, e0)
    # c0 is a first integral of (5.6)-(5.7): conserved to ODE tolerance
    assert oe.peters_c0(a, e) == pytest.approx(oe.peters_c0(a0, e0), rel=1e-9)
    # and the track reproduces a from e
    c0 = oe.peters_c0(a0, e0)
    assert oe.separation_from_eccentricity(e, c0) == pytest.approx(a, rel=1e-9)


@pytest.mark.parametrize("e0", [1e-6, 0.1, 0.5, 0.9, 0.99])
@pytest.mark.parametrize("fraction", [0.3, 0.99])
def test_evolve_orbit_matches_ode(e0, fraction):
    a0 = oe.separation_from_period(5 * 3600.0, M1, M2)
    t = fraction * oe.merger_time(a0, e0, M1, M2)
    a, e = oe.evolve_orbit(a0, e0, M1, M2, t)
    a_ode, e_ode = _peters_ode(t, a0, e0)
    # DOP853 at rtol 1e-12; the table inversion is polished to ~1e-12
    assert a == pytest.approx(a_ode, rel=1e-8)
    assert e == pytest.approx(e_ode, rel=1e-8)


def test_evolve_orbit_small_e_limit_is_circular():
    a0 = 1.5e8
    t = np.linspace(0, 0.999, 7) * oe.merger_time_circular(a0, M1, M2)
    a_c = oe.separation_after_circular(a0, M1, M2, t)
    a_e, e_e = oe.evolve_orbit(a0, 1e-7, M1, M2, t)
    # corrections are O(e0^2) = 1e-14, far below the tolerance
    np.testing.assert_allclose(a_e, a_c, rtol=1e-9)
    assert np.all(e_e <= 1e-7)


def test_evolve_orbit_chunking_and_merged_systems():
    rng = np.random.default_rng(7)
    n = 2000
    a0 = rng.uniform(5e7, 5e8, n)
    e0 = np.where(rng.uniform(size=n) < 0.5, 0.0, rng.uniform(0, 0.95, n))
    t = rng.uniform(0, 2, n) * oe.merger_time(a0, e0, M1, M2)
    a1, e1 = oe.evolve_orbit(a0, e0, M1, M2, t)
    a2, e2 = oe.evolve_orbit(a0, e0, M1, M2, t, chunk_size=97)
    # chunking only changes the order of identical elementwise operations
    np.testing.assert_array_equal(a1, a2)
    np.testing.assert_array_equal(e1, e2)
    merged = t >= oe.merger_time(a0, e0, M1, M2)
    assert np.all(a1[merged] == 0) and np.all(e1[merged] == 0)
    assert np.all(a1[~merged] > 0) and np.all(a1[~merged] <= a0[~merged])


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="m1"):
        oe.peters_beta(-1.0, M2)
    with pytest.raises(ValueError, match="e0"):
        oe.merger_time(1e8, 1.0, M1, M2)
    with pytest.raises(ValueError, match="t"):
        oe.evolve_orbit(1e8, 0.1, M1, M2, -1.0)
    with pytest.raises(ValueError, match="method"):
        oe.merger_time(1e8, 0.1, M1, M2, method="fast")
    with pytest.raises(u.UnitConversionError, match="period"):
        oe.separation_from_period(1 * u.m, M1, M2)
    with pytest.raises(ValueError, match="chunk_size"):
        oe.merger_time(1e8, 0.1, M1, M2, chunk_size=0)
