"""Low-frequency response of LISA and TianQin to a plane gravitational wave.

Both detectors are equilateral triangles (60 degree arms). In the long-wavelength
limit (f << f* = c / (2 pi L)) the triangle is equivalent to two independent
90-degree Michelson interferometers, channels I and II, the second rotated by
pi/4 in the detector plane, each scaled by sin(60 deg) = sqrt(3)/2 (Cutler 1998;
Cornish & Larson 2003). A channel's strain is

    h_k(t) = F+_k(t) h+(t) + Fx_k(t) hx(t),   F_k = d_k : e_(+,x),

with d_I = (sqrt(3)/2) (x x - y y) / 2 and d_II = (sqrt(3)/2) (x y + y x) / 2 for
the in-plane unit vectors x(t), y(t) of the constellation, and e+ = p p - q q,
ex = p q + q p the polarisation tensors of the wave.

Geometry
--------
- **LISA** (Cutler 1998): the centre of the constellation orbits the Sun on
  a circle of radius 1 AU with period one (sidereal) year; the detector plane is
  inclined by 60 degrees to the ecliptic, its normal n(t) = z/2 - (sqrt(3)/2) r(t)
  (r(t) the unit vector from the Sun to the constellation) precesses about the
  ecliptic pole once a year, and the triangle rotates in its plane once a year in
  the opposite sense (the cartwheel).
- **TianQin** (Luo et al. 2016; Hu et al. 2018): geocentric, the detector plane's
  normal is fixed on RX J0806.3+1527 (HM Cnc) and the triangle rotates in its plane
  with the 3.65 day period of the spacecraft orbits. The constellation's centre
  (the Earth) orbits the Sun at 1 AU.

The Doppler phase is 2 pi f n.x(t)/c, with n the unit vector to the source and x(t)
the constellation centre relative to the solar-system barycentre (the arrival time
at the detector leads the barycentric one by n.x/c).

Conventions
-----------
Times are seconds from the middle of the observation, where the constellation's
orbital phase (the ecliptic longitude of its centre seen from the Sun) is zero and
the in-plane rotation angle is zero. The source direction is
n = (cos b cos l, cos b sin l, sin b) for ecliptic latitude b and longitude l. The
polarisation basis is p = cos(psi) theta_hat + sin(psi) phi_hat,
q = sin(psi) theta_hat - cos(psi) phi_hat, with theta_hat = d n / d(colatitude) and
phi_hat = z x n / |z x n| (the usual spherical unit vectors of the source
direction), so that (p, q, -n) is right-handed about the propagation direction -n.
In the detector frame this reproduces Cutler's (1998) F+ and Fx exactly (tested).

Channel sums are rotation invariant
-----------------------------------
Because d_I and d_II are rotated by pi/4 against each other,
d_I (x) d_I + d_II (x) d_II = (3/16) (P (x) P + C (x) C) with P = x x - y y and
C = x y + y x, which does not depend on the in-plane rotation angle. Any quantity
summed over both channels that is bilinear in the channel signals (the SNR, the
Fisher matrix) is therefore independent of the cartwheel / TianQin rotation. This
is what makes :func:`snr_response_factor` analytic; it is also why the Fisher
matrix does not need to resolve the 3.65 day TianQin rotation (see
:mod:`simfer.inference.fisher`).

Known shortcoming: the long-wavelength approximation of the antenna pattern fails
above the transfer frequency (about 19 mHz for LISA, 0.28 Hz for TianQin); the
averaged sensitivity S_n(f) of :mod:`simfer.sims.detectors` carries the averaged
roll-off, but the per-source sky pattern above f* is only approximate.

References
----------
Cutler, C. 1998, PRD 57, 7089 (arXiv:gr-qc/9703068).
Cornish, N. J. & Larson, S. L. 2003, PRD 67, 103001 (arXiv:astro-ph/0301548).
Luo, J. et al. 2016, CQG 33, 035010 (arXiv:1512.02076).
Hu, X.-C. et al. 2018, CQG 35, 095008 (arXiv:1803.03368).
Huang, S.-J. et al. 2020, PRD 102, 063021 (arXiv:2005.07889).
"""

from __future__ import annotations

import logging

import astropy.constants as const
import astropy.units as u
import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

jax.config.update("jax_enable_x64", True)

logger = logging.getLogger(__name__)

__all__ = [
    "ASTRONOMICAL_UNIT",
    "SIDEREAL_YEAR",
    "SUPPORTED_DETECTORS",
    "TIANQIN_NORMAL_LATITUDE",
    "TIANQIN_NORMAL_LONGITUDE",
    "TIANQIN_ROTATION_PERIOD",
    "antenna_patterns",
    "constellation_position",
    "detector_axes",
    "doppler_delay",
    "geometry_name",
    "snr_response_factor",
]

#: Radius of the circular heliocentric orbit of LISA and of the Earth, m.
ASTRONOMICAL_UNIT = float(const.au.to_value(u.m))

#: Period of the heliocentric orbit (sidereal year, 365.256363 d), s.
SIDEREAL_YEAR = 365.256363004 * 86400.0

#: Ecliptic latitude of RX J0806.3+1527, TianQin's fixed pointing, rad
#: (-4.7 deg; Luo et al. 2016, Hu et al. 2018, Huang et al. 2020).
TIANQIN_NORMAL_LATITUDE = float(jnp.deg2rad(-4.7))

#: Ecliptic longitude of RX J0806.3+1527, rad (120.44 deg, Hu et al. 2018;
#: rounded to 120.5 deg in Luo et al. 2016 and Huang et al. 2020).
TIANQIN_NORMAL_LONGITUDE = float(jnp.deg2rad(120.44))

#: Period of TianQin's geocentric spacecraft orbits, i.e. of the rotation of the
#: triangle in its plane, s (3.65 d; Luo et al. 2016).
TIANQIN_ROTATION_PERIOD = 3.65 * 86400.0

#: Detector names with a response model here.
SUPPORTED_DETECTORS = ("LISA", "TianQin")

_C = float(const.c.to_value(u.m / u.s))
_ORBITAL_ANGULAR_FREQUENCY = 2.0 * jnp.pi / SIDEREAL_YEAR
_SQRT3_2 = 0.8660254037844386

# Isotropic average of sum_k |s_k|^2 / A^2 over sky, polarisation and cos(i):
# (3/32) <(1+c^2)^2 + 4 c^2>_incl <1 + 6 mu^2 + mu^4>_sky = (3/32)(16/5)(16/5) = 0.96
# (derivation in snr_response_factor). Both detectors share it: the isotropic
# average does not depend on how the detector is oriented.
_ISOTROPIC_CHANNEL_POWER = (3.0 / 32.0) * (16.0 / 5.0) ** 2


def geometry_name(detector: object) -> str:
    """Return the canonical detector name ("LISA" or "TianQin").

    Parameters
    ----------
    detector : str or object with a ``name`` attribute
        Detector name (case-insensitive) or a :class:`simfer.sims.detectors.Detector`.

    Returns
    -------
    str
        One of :data:`SUPPORTED_DETECTORS`.
    """
    name = getattr(detector, "name", detector)
    if not isinstance(name, str):
        raise TypeError(
            f"detector must be a detector name or a Detector, got {type(detector)!r}"
        )
    for known in SUPPORTED_DETECTORS:
        if name.lower() == known.lower():
            return known
    raise ValueError(
        f"detector must be one of {SUPPORTED_DETECTORS} for the response model, "
        f"got {name!r}"
    )


def _source_direction(latitude: ArrayLike, longitude: ArrayLike) -> jnp.ndarray:
    """Unit vector to the source, shape (..., 3); angles in rad."""
    cos_b = jnp.cos(latitude)
    return jnp.stack(
        [cos_b * jnp.cos(longitude), cos_b * jnp.sin(longitude), jnp.sin(latitude)],
        axis=-1,
    )


def _polarisation_vectors(
    latitude: ArrayLike, longitude: ArrayLike, polarisation: ArrayLike
) -> tuple[jnp.ndarray, jnp.ndarray]:
    """Polarisation basis (p, q), each shape (..., 3); angles in rad."""
    sin_b, cos_b = jnp.sin(latitude), jnp.cos(latitude)
    sin_l, cos_l = jnp.sin(longitude), jnp.cos(longitude)
    theta_hat = jnp.stack([sin_b * cos_l, sin_b * sin_l, -cos_b], axis=-1)
    phi_hat = jnp.stack([-sin_l, cos_l, jnp.zeros_like(sin_l)], axis=-1)
    cos_p = jnp.cos(polarisation)[..., None]
    sin_p = jnp.sin(polarisation)[..., None]
    return cos_p * theta_hat + sin_p * phi_hat, sin_p * theta_hat - cos_p * phi_hat


def constellation_position(detector: object, times: ArrayLike) -> jnp.ndarray:
    """Barycentric position of the constellation's centre, shape (n_times, 3), m.

    Parameters
    ----------
    detector : str or Detector
        "LISA" or "TianQin".
    times : array_like
        Times from the middle of the observation, s.

    Returns
    -------
    jax.Array
        Ecliptic Cartesian position on a circular 1 AU orbit (LISA's guiding centre,
        the Earth for TianQin), m.

    References
    ----------
    Cutler 1998, PRD 57, 7089 (LISA orbit); Luo et al. 2016, CQG 33, 035010.
    """
    geometry_name(detector)
    phase = _ORBITAL_ANGULAR_FREQUENCY * jnp.asarray(times, dtype=float)
    return ASTRONOMICAL_UNIT * jnp.stack(
        [jnp.cos(phase), jnp.sin(phase), jnp.zeros_like(phase)], axis=-1
    )


def detector_axes(
    detector: object, times: ArrayLike
) -> tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray]:
    """Orthonormal constellation frame (x, y, normal), each shape (n_times, 3).

    Parameters
    ----------
    detector : str or Detector
        "LISA" or "TianQin".
    times : array_like
        Times from the middle of the observation, s.

    Returns
    -------
    x, y, normal : jax.Array
        In-plane axes of channel I and the detector-plane normal, ecliptic frame.

    References
    ----------
    Cutler 1998, PRD 57, 7089 (LISA: plane inclined 60 deg, normal
    precessing yearly, counter-rotating cartwheel); Luo et al. 2016 (TianQin: normal
    fixed on RX J0806.3+1527, rotation period 3.65 d).
    """
    name = geometry_name(detector)
    times = jnp.asarray(times, dtype=float)

    if name == "LISA":
        phase = _ORBITAL_ANGULAR_FREQUENCY * times
        radial = jnp.stack(
            [jnp.cos(phase), jnp.sin(phase), jnp.zeros_like(phase)], axis=-1
        )
        along = jnp.stack(
            [-jnp.sin(phase), jnp.cos(phase), jnp.zeros_like(phase)], axis=-1
        )
        pole = jnp.array([0.0, 0.0, 1.0])
        axis_a = 0.5 * radial + _SQRT3_2 * pole
        axis_b = along
        normal = 0.5 * pole - _SQRT3_2 * radial
        # The triangle turns once a year against the orbital motion.
        rotation = -phase
    else:
        normal0 = _source_direction(TIANQIN_NORMAL_LATITUDE, TIANQIN_NORMAL_LONGITUDE)
        a0 = jnp.cross(jnp.array([0.0, 0.0, 1.0]), normal0)
        a0 = a0 / jnp.linalg.norm(a0)
        b0 = jnp.cross(normal0, a0)
        shape = (*times.shape, 3)
        axis_a = jnp.broadcast_to(a0, shape)
        axis_b = jnp.broadcast_to(b0, shape)
        normal = jnp.broadcast_to(normal0, shape)
        rotation = 2.0 * jnp.pi * times / TIANQIN_ROTATION_PERIOD

    cos_r = jnp.cos(rotation)[..., None]
    sin_r = jnp.sin(rotation)[..., None]
    x_axis = cos_r * axis_a + sin_r * axis_b
    y_axis = -sin_r * axis_a + cos_r * axis_b
    return x_axis, y_axis, normal


def antenna_patterns(
    detector: object,
    times: ArrayLike,
    ecliptic_latitude: ArrayLike,
    ecliptic_longitude: ArrayLike,
    polarisation: ArrayLike,
) -> tuple[jnp.ndarray, jnp.ndarray]:
    """Long-wavelength antenna patterns of channels I and II.

    Parameters
    ----------
    detector : str or Detector
        "LISA" or "TianQin".
    times : array_like, shape (n_times,)
        Times from the middle of the observation, s.
    ecliptic_latitude, ecliptic_longitude : array_like
        Source sky position, rad (broadcast together, shape ``S``).
    polarisation : array_like
        Polarisation angle psi, rad (broadcast with the sky position).

    Returns
    -------
    F_plus, F_cross : jax.Array, shape ``S + (2, n_times)``
        Responses of channels (I, II) to the + and x polarisations, including the
        sqrt(3)/2 factor of 60 degree arms.

    References
    ----------
    Cutler 1998, PRD 57, 7089 (F+, Fx of channels I, II); Cornish & Larson 2003, PRD 67,
    103001.
    """
    x_axis, y_axis, _ = detector_axes(detector, times)
    p, q = _polarisation_vectors(
        jnp.asarray(ecliptic_latitude, dtype=float),
        jnp.asarray(ecliptic_longitude, dtype=float),
        jnp.asarray(polarisation, dtype=float),
    )

    def proj(vec: jnp.ndarray, axis: jnp.ndarray) -> jnp.ndarray:
        return jnp.einsum("...i,ti->...t", vec, axis)

    xp, xq = proj(p, x_axis), proj(q, x_axis)
    yp, yq = proj(p, y_axis), proj(q, y_axis)

    # d_I : e = (sqrt3/2)(x.e.x - y.e.y)/2,  d_II : e = (sqrt3/2) x.e.y
    half = 0.5 * _SQRT3_2
    f_plus = jnp.stack(
        [half * (xp**2 - xq**2 - yp**2 + yq**2), _SQRT3_2 * (xp * yp - xq * yq)],
        axis=-2,
    )
    f_cross = jnp.stack(
        [2.0 * half * (xp * xq - yp * yq), _SQRT3_2 * (xp * yq + xq * yp)],
        axis=-2,
    )
    return f_plus, f_cross


def doppler_delay(
    detector: object,
    times: ArrayLike,
    ecliptic_latitude: ArrayLike,
    ecliptic_longitude: ArrayLike,
) -> jnp.ndarray:
    """Arrival-time lead n.x(t)/c of the detector over the barycentre, s.

    The Doppler phase of a source at frequency f is 2 pi f times this delay, i.e.
    2 pi f (R/c) cos(b) cos(Omega t - l) for both detectors (R = 1 AU).

    Parameters
    ----------
    detector : str or Detector
        "LISA" or "TianQin".
    times : array_like, shape (n_times,)
        Times from the middle of the observation, s.
    ecliptic_latitude, ecliptic_longitude : array_like
        Source sky position, rad (shape ``S``).

    Returns
    -------
    jax.Array, shape ``S + (n_times,)``
        Delay, s.

    References
    ----------
    Cutler 1998, PRD 57, 7089 (Doppler phase).
    """
    position = constellation_position(detector, times)
    direction = _source_direction(
        jnp.asarray(ecliptic_latitude, dtype=float),
        jnp.asarray(ecliptic_longitude, dtype=float),
    )
    return jnp.einsum("...i,ti->...t", direction, position) / _C


def _orbit_averaged_normal_moments(
    name: str, latitude: jnp.ndarray, longitude: jnp.ndarray, polarisation: jnp.ndarray
) -> tuple[jnp.ndarray, jnp.ndarray]:
    """Time averages <1 + 6 mu^2 + mu^4> and <Re (normal.m)^4> for one detector.

    mu = normal . n is the cosine of the angle between the detector normal and the
    source, m = p + i q the complex polarisation vector.
    """
    sin_b, cos_b = jnp.sin(latitude), jnp.cos(latitude)
    if name == "LISA":
        # normal(t) = z/2 - (sqrt3/2) r(t), orbital phase uniform over a year:
        # mu = sin(b)/2 - (sqrt3/2) cos(b) cos(phase - l); <cos^2> = 1/2,
        # <cos^4> = 3/8. normal.m = exp(-i psi) w with
        # w = -cos(b)/2 - (sqrt3/2)(sin(b) cos x + i sin x), x = phase - l, whose
        # fourth power averages to -(37/128) cos^4(b) (three-term Fourier sum).
        mu2 = sin_b**2 / 4.0 + 3.0 * cos_b**2 / 8.0
        mu4 = sin_b**4 / 16.0 + 9.0 * sin_b**2 * cos_b**2 / 16.0
        mu4 = mu4 + 27.0 * cos_b**4 / 128.0
        w4 = -37.0 / 128.0 * cos_b**4 * jnp.cos(4.0 * polarisation)
        return 1.0 + 6.0 * mu2 + mu4, w4

    normal = _source_direction(TIANQIN_NORMAL_LATITUDE, TIANQIN_NORMAL_LONGITUDE)
    direction = _source_direction(latitude, longitude)
    p, q = _polarisation_vectors(latitude, longitude, polarisation)
    mu = direction @ normal
    m_dot = (p @ normal) + 1j * (q @ normal)
    return 1.0 + 6.0 * mu**2 + mu**4, jnp.real(m_dot**4)


def snr_response_factor(
    detector_name: object,
    ecliptic_latitude: ArrayLike,
    ecliptic_longitude: ArrayLike,
    cos_inclination: ArrayLike,
    polarisation: ArrayLike,
) -> jnp.ndarray:
    """Per-source SNR^2 over its isotropic average, rho^2 / <rho^2>.

    The per-source SNR is ``snr_averaged * sqrt(factor)``. The factor is the
    response summed over channels I and II, averaged over the orbit (LISA: one
    year; TianQin: its response summed over both channels is time independent, see
    the module notes), divided by its average over an isotropic population (sky
    uniform on the sphere, cos i uniform in [-1, 1], psi uniform), which is
    evaluated analytically, so the population mean of the factor is exactly 1.

    Parameters
    ----------
    detector_name : str or Detector
        "LISA" or "TianQin".
    ecliptic_latitude, ecliptic_longitude : array_like
        Sky position, rad.
    cos_inclination : array_like
        Cosine of the inclination of the orbit to the line of sight.
    polarisation : array_like
        Polarisation angle psi, rad.

    Returns
    -------
    jax.Array
        Dimensionless factor, broadcast shape of the inputs.

    Notes
    -----
    With h+ = A (1 + c^2) cos(Phi), hx = 2 A c sin(Phi) (c = cos i) the channel sum
    of squared slow amplitudes is, for detector normal N and source direction n,

        sum_k |s_k|^2 / A^2 = (3/32) [(a + b) (1 + 6 mu^2 + mu^4)
                                       + (a - b) Re((N.m)^4)],

    a = (1 + c^2)^2, b = 4 c^2, mu = N.n, m = p + i q. It follows from
    d_I (x) d_I + d_II (x) d_II = (3/16)(P (x) P + C (x) C) and the spin-weight
    identities |pi:eps|^2 = (1 - mu)^4, |pi:conj(eps)|^2 = (1 + mu)^4,
    (pi:eps)(conj(pi):eps) = (N.m)^4 for pi = (x + i y)(x + i y),
    eps = m m. Averages: <a + b>_incl = 16/5, <1 + 6 mu^2 + mu^4>_sky = 16/5,
    <Re(N.m)^4>_psi = 0, so the isotropic mean is (3/32)(16/5)^2 = 0.96 for any
    fixed or moving normal. For LISA the yearly averages of mu^2, mu^4 and
    (N.m)^4 along N(t) = z/2 - (sqrt3/2) r(t) are taken in closed form.

    References
    ----------
    Cutler 1998, PRD 57, 7089 (antenna patterns, two channels);
    Cornish & Larson 2003, PRD 67, 103001 (long-wavelength response);
    Robson, Cornish & Liu 2019, CQG 36, 105011 (sky-averaged normalisation);
    Huang et al. 2020, PRD 102, 063021 (TianQin pointing).
    """
    name = geometry_name(detector_name)
    latitude, longitude, cos_i, psi = jnp.broadcast_arrays(
        *(
            jnp.asarray(x, dtype=float)
            for x in (
                ecliptic_latitude,
                ecliptic_longitude,
                cos_inclination,
                polarisation,
            )
        )
    )
    a = (1.0 + cos_i**2) ** 2
    b = 4.0 * cos_i**2
    sky, polarised = _orbit_averaged_normal_moments(name, latitude, longitude, psi)
    channel_power = (3.0 / 32.0) * ((a + b) * sky + (a - b) * polarised)
    return channel_power / _ISOTROPIC_CHANNEL_POWER
