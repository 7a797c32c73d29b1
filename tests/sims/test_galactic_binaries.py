"""Tests of the galactic-binary relations and signal model."""

import astropy.constants as const
import astropy.units as u
import numpy as np
import pytest

from simfer.sims.galactic_binaries import (
    PARAMETER_NAMES,
    GalacticBinary,
    chirp_mass,
    chirp_mass_from_fdot,
    distance_from_amplitude,
    gr_fdot,
    gw_amplitude,
    gw_frequency_from_period,
    slow_signal,
    slow_signal_parts,
)
from simfer.sims.response import (
    ASTRONOMICAL_UNIT,
    SIDEREAL_YEAR,
    antenna_patterns,
    snr_response_factor,
)

G = const.G.si.value
C = const.c.si.value
MSUN = const.M_sun.si.value
KPC = u.kpc.to(u.m)


def _source(**overrides):
    values = dict(
        chirp_mass=0.4 * u.Msun,
        frequency=4e-3 * u.Hz,
        distance=2 * u.kpc,
        cos_inclination=0.35,
        polarisation=0.9,
        ecliptic_latitude=-0.4,
        ecliptic_longitude=3.3,
        initial_phase=1.7,
    )
    values.update(overrides)
    return GalacticBinary.from_physical(**values)


def test_chirp_mass_of_equal_masses():
    # (m^2)^(3/5) / (2m)^(1/5) = m 2^(-1/5) exactly
    assert chirp_mass(0.6 * u.Msun, 0.6 * u.Msun) == pytest.approx(
        0.6 * MSUN * 2 ** (-0.2), rel=1e-14
    )
    with pytest.raises(ValueError, match="mass_1 and mass_2"):
        chirp_mass(0.0, 1.0)


def test_gw_frequency_of_hm_cnc():
    # HM Cnc: orbital period 321.5 s (Roelofs et al. 2010) -> f = 2/P = 6.22 mHz
    assert gw_frequency_from_period(321.5 * u.s) == pytest.approx(6.2208e-3, rel=1e-4)
    with pytest.raises(ValueError, match="orbital_period"):
        gw_frequency_from_period(-1.0)


def test_gr_fdot_matches_peters_orbital_decay():
    # Independent route: Kepler a(f) and Peters (1964) da/dt = -(64/5) G^3 m1 m2 M /
    # (c^5 a^3); f ~ a^(-3/2) so fdot = -(3/2) f (da/dt) / a.
    m1, m2 = 0.7 * MSUN, 0.3 * MSUN
    total = m1 + m2
    f = 5e-3
    a = (G * total / (np.pi * f) ** 2) ** (1 / 3)
    a_dot = -64 / 5 * G**3 * m1 * m2 * total / (C**5 * a**3)
    expected = -1.5 * f * a_dot / a
    assert float(gr_fdot(chirp_mass(m1, m2), f)) == pytest.approx(expected, rel=1e-12)


def test_inverse_relations_round_trip():
    mc = np.array([0.2, 0.5, 1.1]) * MSUN
    f = np.array([1e-3, 5e-3, 2e-2])
    dist = np.array([0.5, 3.0, 12.0]) * KPC
    fdot = np.asarray(gr_fdot(mc, f))
    amp = np.asarray(gw_amplitude(mc, f, dist))
    # algebraic inverses: rounding only
    np.testing.assert_allclose(chirp_mass_from_fdot(f, fdot), mc, rtol=1e-12)
    np.testing.assert_allclose(distance_from_amplitude(amp, f, fdot), dist, rtol=1e-12)


def test_galactic_binary_from_physical_and_vector():
    src = _source()
    vec = src.parameter_vector()
    assert vec.shape == (len(PARAMETER_NAMES),)
    # ln A in slot 0 and GR fdot by default: same formulas, rounding only
    mc, f, d = 0.4 * MSUN, 4e-3, 2 * KPC
    assert np.exp(vec[0]) == pytest.approx(float(gw_amplitude(mc, f, d)), rel=1e-12)
    assert vec[2] == pytest.approx(float(gr_fdot(mc, f)), rel=1e-12)

    batch = _source(frequency=np.array([1e-3, 2e-3]) * u.Hz)
    assert batch.parameter_vector().shape == (2, 8)

    with pytest.raises(ValueError, match="cos_inclination"):
        _source(cos_inclination=1.5)
    with pytest.raises(ValueError, match="distance"):
        _source(distance=-1 * u.kpc)
    with pytest.raises(ValueError, match="frequency must be convertible"):
        _source(frequency=3 * u.m)


@pytest.mark.parametrize("detector", ["LISA", "TianQin"])
def test_slow_signal_is_the_heterodyned_strain(detector):
    # h_k = F+ h+ + Fx hx with h+ = A (1+c^2) cos Phi, hx = -2 A c sin Phi must equal
    # Re[s_k exp(2 pi i f_c t)] (convention of simfer.inference.snr).
    src = _source()
    theta = src.parameter_vector()
    f_c = 3.99e-3  # deliberately off the source frequency
    times = np.linspace(-1e7, 1e7, 41)
    s = np.asarray(slow_signal(theta, times, detector, f_c))

    amp, f, fdot, phi0, cos_i = np.exp(theta[0]), theta[1], theta[2], theta[3], theta[4]
    psi, lat, lon = theta[5], theta[6], theta[7]
    n = np.array([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    phase_orbit = 2 * np.pi * times / SIDEREAL_YEAR
    delay = (
        ASTRONOMICAL_UNIT
        / C
        * (n[0] * np.cos(phase_orbit) + n[1] * np.sin(phase_orbit))
    )
    t_arr = times + delay  # barycentric time of the wavefront at the detector
    phase = phi0 + 2 * np.pi * f * t_arr + np.pi * fdot * t_arr**2
    h_plus = amp * (1 + cos_i**2) * np.cos(phase)
    h_cross = -2 * amp * cos_i * np.sin(phase)
    f_plus, f_cross = (
        np.asarray(a) for a in antenna_patterns(detector, times, lat, lon, psi)
    )
    strain = f_plus * h_plus + f_cross * h_cross
    heterodyned = np.real(s * np.exp(2j * np.pi * f_c * times))
    # the model drops pi fdot delay^2 (< 1e-9 rad here); agreement to 1e-8 of A
    np.testing.assert_allclose(heterodyned, strain, atol=1e-8 * amp)

    envelope, slow_phase = slow_signal_parts(theta, times, detector, f_c)
    # same product, rounding only
    np.testing.assert_allclose(
        np.asarray(envelope) * np.exp(1j * np.asarray(slow_phase)), s, rtol=1e-12
    )


@pytest.mark.parametrize("detector", ["LISA", "TianQin"])
def test_orbit_averaged_power_matches_response_factor(detector):
    src = _source()
    theta = src.parameter_vector()
    times = (np.arange(1000) + 0.5) / 1000 * SIDEREAL_YEAR - SIDEREAL_YEAR / 2
    s = np.asarray(slow_signal(theta, times, detector, theta[1]))
    mean_power = np.mean(np.sum(np.abs(s) ** 2, axis=0)) / np.exp(2 * theta[0])
    factor = float(
        snr_response_factor(detector, theta[6], theta[7], theta[4], theta[5])
    )
    # 0.96 A^2 is the isotropic mean of sum_k |s_k|^2; exact yearly average
    assert mean_power == pytest.approx(0.96 * factor, rel=1e-10)


def test_doppler_frequency_shift_is_orbital_velocity():
    # instantaneous frequency offset f v.n / c, at most f (2 pi AU / yr) / c ~ 1e-4 f
    src = _source(ecliptic_latitude=0.0, fdot=0.0)
    theta = src.parameter_vector()
    times = np.linspace(-SIDEREAL_YEAR / 2, SIDEREAL_YEAR / 2, 20001)
    _, phase = slow_signal_parts(theta, times, "LISA", theta[1])
    offset = np.gradient(np.asarray(phase), times) / (2 * np.pi)
    expected = theta[1] * 2 * np.pi * ASTRONOMICAL_UNIT / SIDEREAL_YEAR / C
    # finite-difference derivative on a fine grid: 1e-6 relative
    assert np.max(np.abs(offset)) == pytest.approx(expected, rel=1e-6)
