"""Eclipses of circular binaries seen from a random direction: pure geometry.

Two spheres of radii ``R1`` and ``R2`` on a circular orbit of separation ``a``,
seen at inclination ``i`` (``i = 90 deg`` is edge-on), have projected separation

    d(phi) = a sqrt(sin^2 phi + cos^2 i cos^2 phi),

with ``phi`` the orbital phase angle measured from conjunction. They eclipse each
other when ``d < R1 + R2``, which happens at some phase exactly when
``|cos i| <= (R1 + R2) / a`` (:func:`eclipses`). For isotropic orientations
``cos i`` is uniform, so the eclipse probability is ``min(1, (R1 + R2) / a)``
(:func:`eclipse_probability`). Each eclipse lasts, from first to last contact,

    T = (P / pi) arcsin( sqrt((R1 + R2)^2 - (a cos i)^2) / (a sin i) )

(:func:`eclipse_duration`), and for a circular orbit the primary (phase 0) and
secondary (phase 0.5) eclipses have the same duration. :func:`in_eclipse` says
whether sampled epochs fall inside either eclipse, the building block of survey
cadence modelling.

Stars are treated as spheres with sharp edges (no limb darkening, no tidal or
rotational distortion, no light-travel-time delay). Inputs may be SI floats or
astropy Quantities; outputs are SI floats (s) or booleans.
"""

from __future__ import annotations

import logging

import astropy.units as u
import numpy as np
from numpy.typing import ArrayLike, NDArray

from simfer.sims.si_inputs import as_si, non_negative, positive

logger = logging.getLogger(__name__)

__all__ = [
    "eclipse_duration",
    "eclipse_probability",
    "eclipses",
    "in_eclipse",
]


def _cos_inclination(value: ArrayLike) -> NDArray:
    cos_i = as_si(value, u.dimensionless_unscaled, "cos_inclination")
    if not np.all(np.isfinite(cos_i)) or np.any(np.abs(cos_i) > 1):
        raise ValueError("cos_inclination must be finite and lie in [-1, 1]")
    return cos_i


def _contact_ratio(radius_1, radius_2, separation) -> NDArray:
    """``(R1 + R2) / a`` from validated radii and separation (m or Quantity)."""
    r1 = positive(as_si(radius_1, u.m, "radius_1"), "radius_1")
    r2 = positive(as_si(radius_2, u.m, "radius_2"), "radius_2")
    a = positive(as_si(separation, u.m, "separation"), "separation")
    return (r1 + r2) / a


def eclipses(
    cos_inclination: ArrayLike,
    radius_1: ArrayLike | u.Quantity,
    radius_2: ArrayLike | u.Quantity,
    separation: ArrayLike | u.Quantity,
) -> NDArray:
    """Whether a circular binary shows eclipses at the given inclination.

    Parameters
    ----------
    cos_inclination : array_like
        Cosine of the orbital inclination (dimensionless, in ``[-1, 1]``; 0 is
        edge-on).
    radius_1, radius_2 : array_like or Quantity
        Radii of the two stars, m.
    separation : array_like or Quantity
        Orbital separation (radius of the relative circular orbit), m.

    Returns
    -------
    ndarray of bool
        ``|cos i| <= (R1 + R2) / a``, broadcast over the inputs.

    References
    ----------
    Winn, J. N. 2010, "Transits and occultations", in Exoplanets, ed. S. Seager
    (Tucson: Univ. Arizona Press), arXiv:1001.2010, sect. 2 (impact parameter
    ``b = a cos i / R1`` below ``1 + R2/R1``).
    """
    cos_i = _cos_inclination(cos_inclination)
    ratio = _contact_ratio(radius_1, radius_2, separation)
    return np.abs(cos_i) <= ratio


def eclipse_probability(
    radius_1: ArrayLike | u.Quantity,
    radius_2: ArrayLike | u.Quantity,
    separation: ArrayLike | u.Quantity,
) -> NDArray:
    """Probability that a randomly oriented circular binary eclipses.

    Parameters
    ----------
    radius_1, radius_2 : array_like or Quantity
        Radii of the two stars, m.
    separation : array_like or Quantity
        Orbital separation, m.

    Returns
    -------
    ndarray
        ``min(1, (R1 + R2) / a)`` (dimensionless): the fraction of isotropic
        orientations (``cos i`` uniform) with ``|cos i| <= (R1 + R2) / a``.

    References
    ----------
    Winn, J. N. 2010, arXiv:1001.2010, eq. (9) (with ``e = 0`` and the sum of the
    radii, which counts grazing eclipses).
    """
    return np.minimum(1.0, _contact_ratio(radius_1, radius_2, separation))


def eclipse_duration(
    period: ArrayLike | u.Quantity,
    radius_1: ArrayLike | u.Quantity,
    radius_2: ArrayLike | u.Quantity,
    separation: ArrayLike | u.Quantity,
    cos_inclination: ArrayLike,
) -> NDArray:
    """Total duration (first to last contact) of one eclipse of a circular binary.

    Parameters
    ----------
    period : array_like or Quantity
        Orbital period, s.
    radius_1, radius_2 : array_like or Quantity
        Radii of the two stars, m.
    separation : array_like or Quantity
        Orbital separation, m.
    cos_inclination : array_like
        Cosine of the orbital inclination (dimensionless, in ``[-1, 1]``).

    Returns
    -------
    ndarray
        ``T = (P/pi) arcsin( sqrt((R1 + R2)^2 - (a cos i)^2) / (a sin i) )``, s;
        0 for binaries that do not eclipse (``|cos i| > (R1 + R2)/a``). The same
        for the primary and the secondary eclipse.

    Notes
    -----
    The formula is exact for spheres on a circular orbit: it solves
    ``d(phi) = R1 + R2`` for the projected separation ``d`` given in the module
    docstring. The commonly quoted form without the ``1 / sin i`` factor is its
    ``sin i -> 1`` approximation; the two agree to ``O(((R1 + R2)/a)^2)`` for
    eclipsing systems. Where the stars would overlap (``R1 + R2 >= a``) the
    arcsine argument is capped at 1 and ``T = P/2``: the binary is then in
    eclipse half of the time from each side, i.e. always.

    References
    ----------
    Winn, J. N. 2010, "Transits and occultations", arXiv:1001.2010, eq. (14).
    """
    p = positive(as_si(period, u.s, "period"), "period")
    cos_i = _cos_inclination(cos_inclination)
    ratio = _contact_ratio(radius_1, radius_2, separation)

    # In units of a: chord^2 = ((R1 + R2)/a)^2 - cos^2 i, positive when eclipsing.
    chord_sq = ratio**2 - cos_i**2
    sin_i = np.sqrt(np.clip(1.0 - cos_i**2, 0.0, None))
    eclipsing = chord_sq >= 0
    with np.errstate(divide="ignore", invalid="ignore"):
        argument = np.where(
            eclipsing & (sin_i > 0),
            np.sqrt(np.clip(chord_sq, 0.0, None)) / sin_i,
            1.0,
        )
    half_angle = np.arcsin(np.minimum(argument, 1.0))
    return np.where(eclipsing, p / np.pi * half_angle, 0.0)


def in_eclipse(
    times: ArrayLike | u.Quantity,
    period: ArrayLike | u.Quantity,
    phase0: ArrayLike,
    duration: ArrayLike | u.Quantity,
) -> NDArray:
    """Whether epochs fall inside the primary or secondary eclipse.

    The orbital phase is ``phi(t) = (t / P + phase0) mod 1`` in cycles; the primary
    eclipse is centred on ``phi = 0`` and, for a circular orbit, the secondary on
    ``phi = 0.5``. An epoch is in eclipse when its phase lies within
    ``duration / (2 P)`` of either centre.

    Parameters
    ----------
    times : array_like or Quantity
        Observation epochs, s (any common zero point).
    period : array_like or Quantity
        Orbital period, s.
    phase0 : array_like
        Orbital phase at ``t = 0``, cycles (dimensionless).
    duration : array_like or Quantity
        Total duration of each eclipse, s, e.g. from :func:`eclipse_duration`;
        0 means no eclipses.

    Returns
    -------
    ndarray of bool
        Broadcast of the inputs (e.g. ``times`` of shape ``(n_epochs,)`` against
        per-binary parameters of shape ``(n_binaries, 1)``).

    References
    ----------
    Winn, J. N. 2010, arXiv:1001.2010, sect. 2 (conjunctions of a circular orbit
    half a period apart).
    """
    t = as_si(times, u.s, "times")
    if not np.all(np.isfinite(t)):
        raise ValueError("times must be finite")
    p = positive(as_si(period, u.s, "period"), "period")
    phi0 = as_si(phase0, u.dimensionless_unscaled, "phase0")
    if not np.all(np.isfinite(phi0)):
        raise ValueError("phase0 must be finite")
    half_width = non_negative(as_si(duration, u.s, "duration"), "duration") / (2 * p)

    # Phase folded twice per orbit: distance to the nearer conjunction, cycles.
    half_phase = np.mod(t / p + phi0, 0.5)
    offset = np.minimum(half_phase, 0.5 - half_phase)
    return (offset < half_width) & (half_width > 0)
