"""Tests of the LISA / TianQin long-wavelength response (simfer.sims.response)."""

import numpy as np
import pytest

from simfer.sims import response
from simfer.sims.response import (
    ASTRONOMICAL_UNIT,
    SIDEREAL_YEAR,
    TIANQIN_NORMAL_LATITUDE,
    TIANQIN_NORMAL_LONGITUDE,
    antenna_patterns,
    detector_axes,
    doppler_delay,
    snr_response_factor,
)

DETECTORS = ["LISA", "TianQin"]
SPEED_OF_LIGHT = 299_792_458.0


def _isotropic_draws(rng, n):
    """Sky uniform on the sphere, cos i uniform in [-1, 1], psi uniform."""
    return (
        np.arcsin(rng.uniform(-1.0, 1.0, n)),
        rng.uniform(0.0, 2.0 * np.pi, n),
        rng.uniform(-1.0, 1.0, n),
        rng.uniform(0.0, np.pi, n),
    )


def _channel_power(detector, times, lat, lon, cos_i, psi):
    """sum_k |s_k|^2 / A^2 at each time, from the time-domain antenna patterns."""
    f_plus, f_cross = antenna_patterns(detector, times, lat, lon, psi)
    power = (1 + cos_i**2) ** 2 * f_plus**2 + 4 * cos_i**2 * f_cross**2
    return np.asarray(power).sum(axis=-2)


@pytest.mark.parametrize("detector", DETECTORS)
def test_isotropic_average_of_response_factor_is_one(detector):
    rng = np.random.default_rng(20240601)
    n = 200_000
    factor = np.asarray(snr_response_factor(detector, *_isotropic_draws(rng, n)))
    standard_error = factor.std() / np.sqrt(n)
    # Monte Carlo check of the analytic normalisation: the standard error of the mean
    # is ~1.5e-3 (LISA) and ~2.2e-3 (TianQin) for 2e5 draws; allow 4 sigma.
    assert abs(factor.mean() - 1.0) < 4.0 * standard_error
    assert standard_error < 3e-3  # guards against a silently huge spread


@pytest.mark.parametrize("detector", DETECTORS)
def test_factor_equals_numerical_orbit_average(detector):
    rng = np.random.default_rng(7)
    # Mid-point rule over one orbit integrates the low-order trigonometric
    # polynomials of the orbital phase exactly.
    times = (np.arange(720) + 0.5) / 720 * SIDEREAL_YEAR - 0.5 * SIDEREAL_YEAR
    for lat, lon, cos_i, psi in zip(*_isotropic_draws(rng, 5), strict=True):
        numerical = _channel_power(detector, times, lat, lon, cos_i, psi).mean()
        analytic = float(snr_response_factor(detector, lat, lon, cos_i, psi))
        # 0.96 = (3/32)(16/5)^2, the isotropic mean of the channel power (docstring)
        assert numerical / 0.96 == pytest.approx(analytic, rel=1e-10)


@pytest.mark.parametrize("detector", DETECTORS)
def test_channel_sum_follows_the_rotation_invariant_identity(detector):
    # sum_k |s_k|^2/A^2 = (3/32)[(a+b)(1 + 6 mu^2 + mu^4) + (a-b) Re((N.m)^4)] at
    # every instant (snr_response_factor docstring), whatever the in-plane rotation.
    times = np.linspace(0.0, 4 * response.TIANQIN_ROTATION_PERIOD, 97)
    lat, lon, cos_i, psi = 0.3, 1.1, 0.4, 0.8
    power = _channel_power(detector, times, lat, lon, cos_i, psi)

    _, _, normal = (np.asarray(a) for a in detector_axes(detector, times))
    n = np.array([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    theta_hat = np.array(
        [np.sin(lat) * np.cos(lon), np.sin(lat) * np.sin(lon), -np.cos(lat)]
    )
    phi_hat = np.array([-np.sin(lon), np.cos(lon), 0.0])
    m = np.exp(-1j * psi) * (theta_hat + 1j * phi_hat)
    mu = normal @ n
    a, b = (1 + cos_i**2) ** 2, 4 * cos_i**2
    expected = (3 / 32) * (
        (a + b) * (1 + 6 * mu**2 + mu**4) + (a - b) * np.real((normal @ m) ** 4)
    )
    # exact identity: rounding only
    np.testing.assert_allclose(power, expected, rtol=1e-12)

    if detector == "TianQin":
        # fixed normal: constant channel sum although each channel rotates (3.65 d)
        single = np.asarray(antenna_patterns(detector, times, lat, lon, psi)[0][0])
        assert np.ptp(power) < 1e-12 * power.mean()  # rounding only
        assert np.ptp(single) > 0.1  # a single channel does rotate


@pytest.mark.parametrize("detector", DETECTORS)
def test_patterns_match_cutler_closed_form(detector):
    # Cutler (1998): F+ and Fx of a 90-degree interferometer in
    # the detector frame times sqrt(3)/2; channel II has phi -> phi - pi/4.
    times = np.linspace(-3e7, 3e7, 11)
    lat, lon, psi = -0.6, 4.0, 1.2
    f_plus, f_cross = (
        np.asarray(a) for a in antenna_patterns(detector, times, lat, lon, psi)
    )
    x_axis, y_axis, normal = (np.asarray(a) for a in detector_axes(detector, times))

    n = np.array([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    theta_hat = np.array(
        [np.sin(lat) * np.cos(lon), np.sin(lat) * np.sin(lon), -np.cos(lat)]
    )
    phi_hat = np.array([-np.sin(lon), np.cos(lon), 0.0])
    p = np.cos(psi) * theta_hat + np.sin(psi) * phi_hat

    cos_t = normal @ n
    phi_d = np.arctan2(y_axis @ n, x_axis @ n)
    # detector-frame spherical basis at the source, then psi_d from p
    th_d = (
        cos_t[:, None]
        * (np.cos(phi_d)[:, None] * x_axis + np.sin(phi_d)[:, None] * y_axis)
        - np.sqrt(1 - cos_t**2)[:, None] * normal
    )
    ph_d = -np.sin(phi_d)[:, None] * x_axis + np.cos(phi_d)[:, None] * y_axis
    psi_d = np.arctan2(np.sum(p * ph_d, axis=1), np.sum(p * th_d, axis=1))

    def cutler(phi):
        plus = 0.5 * (1 + cos_t**2) * np.cos(2 * phi) * np.cos(
            2 * psi_d
        ) - cos_t * np.sin(2 * phi) * np.sin(2 * psi_d)
        cross = 0.5 * (1 + cos_t**2) * np.cos(2 * phi) * np.sin(
            2 * psi_d
        ) + cos_t * np.sin(2 * phi) * np.cos(2 * psi_d)
        return np.sqrt(3) / 2 * plus, np.sqrt(3) / 2 * cross

    for channel, phi in enumerate((phi_d, phi_d - np.pi / 4)):
        plus, cross = cutler(phi)
        # same formula evaluated two ways: agreement to rounding
        np.testing.assert_allclose(f_plus[channel], plus, atol=1e-12)
        np.testing.assert_allclose(f_cross[channel], cross, atol=1e-12)


def test_lisa_normal_is_inclined_60_degrees_and_follows_cutler():
    times = np.linspace(-SIDEREAL_YEAR, SIDEREAL_YEAR, 25)
    x_axis, y_axis, normal = (np.asarray(a) for a in detector_axes("LISA", times))
    # Cutler (1998): the normal makes 60 deg with the ecliptic pole
    np.testing.assert_allclose(normal[:, 2], 0.5, atol=1e-14)
    # orthonormal right-handed frame: rounding only
    np.testing.assert_allclose(np.cross(x_axis, y_axis), normal, atol=1e-14)

    lat, lon = 0.7, 2.5
    n = np.array([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    phase = 2 * np.pi * times / SIDEREAL_YEAR
    # Cutler (1998), cos theta(t), with colatitude theta_S = pi/2 - lat
    expected = 0.5 * np.sin(lat) - np.sqrt(3) / 2 * np.cos(lat) * np.cos(phase - lon)
    np.testing.assert_allclose(normal @ n, expected, atol=1e-14)


def test_tianqin_normal_points_at_hm_cnc():
    _, _, normal = (
        np.asarray(a) for a in detector_axes("TianQin", np.array([0.0, 1e6]))
    )
    lat = np.arcsin(normal[0, 2])
    lon = np.arctan2(normal[0, 1], normal[0, 0])
    # Huang et al. (2020) / Hu et al. (2018): (lon, lat) = (120.44, -4.7) deg
    assert np.degrees(lat) == pytest.approx(-4.7, abs=1e-10)
    assert np.degrees(lon) == pytest.approx(120.44, abs=1e-10)


def test_tianqin_response_is_best_towards_its_normal():
    lat_n, lon_n = TIANQIN_NORMAL_LATITUDE, TIANQIN_NORMAL_LONGITUDE
    # Face-on source along the normal: (a+b)(1+6+1)(25/256) = 8*8*25/256 = 6.25
    face_on = float(snr_response_factor("TianQin", lat_n, lon_n, 1.0, 0.3))
    assert face_on == pytest.approx(6.25, rel=1e-12)  # closed form above

    # Averaged over psi and cos i, the factor is (1 + 6 mu^2 + mu^4) / (16/5):
    # 2.5 along the normal, 5/16 in the detector plane (mu = 0); ratio 8.
    rng = np.random.default_rng(3)
    cos_i = rng.uniform(-1, 1, 50_000)
    psi = rng.uniform(0, np.pi, 50_000)
    along = np.asarray(snr_response_factor("TianQin", lat_n, lon_n, cos_i, psi)).mean()
    in_plane = np.asarray(
        snr_response_factor("TianQin", lat_n, lon_n + np.pi / 2, cos_i, psi)
    ).mean()
    # MC over (cos i, psi) only: a few per cent scatter for 5e4 draws
    assert along == pytest.approx(2.5, rel=0.02)
    assert in_plane == pytest.approx(5.0 / 16.0, rel=0.03)


def test_lisa_response_prefers_the_ecliptic_plane():
    # Orbit-averaged sky weight <1 + 6 mu^2 + mu^4>: 41/16 at the poles, 443/128 on
    # the ecliptic (closed form of snr_response_factor for psi-averaged terms)
    cos_i = 0.0
    psi = np.pi / 8  # cos(4 psi) = 0 removes the polarisation term
    pole = float(snr_response_factor("LISA", np.pi / 2, 0.0, cos_i, psi))
    equator = float(snr_response_factor("LISA", 0.0, 1.0, cos_i, psi))
    # edge-on: a + b = 1, factor = sky weight * 25/256
    assert pole == pytest.approx(41 / 16 * 25 / 256, rel=1e-12)
    assert equator == pytest.approx(443 / 128 * 25 / 256, rel=1e-12)


@pytest.mark.parametrize("detector", DETECTORS)
def test_doppler_delay_amplitude(detector):
    times = np.linspace(-0.5, 0.5, 2001) * SIDEREAL_YEAR
    lat, lon = 0.5, 1.0
    delay = np.asarray(doppler_delay(detector, times, lat, lon))
    # Cutler (1998) Doppler phase: (R/c) cos(b) cos(Omega t - l); sampled maximum
    # matches to the grid resolution
    expected = ASTRONOMICAL_UNIT / SPEED_OF_LIGHT * np.cos(lat)
    assert delay.max() == pytest.approx(expected, rel=1e-5)
    np.testing.assert_allclose(
        delay, expected * np.cos(2 * np.pi * times / SIDEREAL_YEAR - lon), rtol=1e-12
    )


def test_bad_detector_name_raises():
    with pytest.raises(ValueError, match="detector must be one of"):
        snr_response_factor("Taiji", 0.0, 0.0, 0.0, 0.0)
    with pytest.raises(TypeError, match="detector"):
        antenna_patterns(3, np.zeros(2), 0.0, 0.0, 0.0)
