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

The light lost at a given phase is the part of the eclipsed disc that the disc in
front hides, the lens-shaped intersection of two circles (:func:`overlap_area`),
times that star's surface brightness; :func:`eclipsed_fraction` turns it into the
fraction of the binary's total flux lost, from which a survey's eclipse depth
``-2.5 log10(1 - fraction)`` follows.

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
    "eclipsed_fraction",
    "eclipses",
    "in_eclipse",
    "overlap_area",
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


def _overlap_area(d: NDArray, r_a: NDArray, r_b: NDArray) -> NDArray:
    """Intersection area of two circles (radii ``r_a``, ``r_b``, centres ``d`` apart).

    Unchecked kernel of :func:`overlap_area`: inputs are broadcastable float
    arrays with ``d >= 0`` and positive radii, in one length unit.
    """
    d, r_a, r_b = np.broadcast_arrays(d, r_a, r_b)
    area = np.where(d <= np.abs(r_a - r_b), np.pi * np.minimum(r_a, r_b) ** 2, 0.0)
    partial = (d > np.abs(r_a - r_b)) & (d < r_a + r_b)
    if np.any(partial):
        dp, a, b = d[partial], r_a[partial], r_b[partial]
        # Half-angles subtended at each centre by the chord through the two
        # intersection points (law of cosines); clipped against rounding.
        cos_a = np.clip((dp**2 + a**2 - b**2) / (2.0 * dp * a), -1.0, 1.0)
        cos_b = np.clip((dp**2 + b**2 - a**2) / (2.0 * dp * b), -1.0, 1.0)
        # Heron: 16 x (area of the triangle with sides d, a, b)^2.
        heron = (-dp + a + b) * (dp + a - b) * (dp - a + b) * (dp + a + b)
        area[partial] = (
            a**2 * np.arccos(cos_a)
            + b**2 * np.arccos(cos_b)
            - 0.5 * np.sqrt(np.clip(heron, 0.0, None))
        )
    return area


def overlap_area(
    separation_on_sky: ArrayLike | u.Quantity,
    r_front: ArrayLike | u.Quantity,
    r_back: ArrayLike | u.Quantity,
) -> NDArray:
    """Area of the back disc hidden by the front disc.

    Parameters
    ----------
    separation_on_sky : array_like or Quantity
        Distance between the two disc centres projected on the sky, m (plain
        numbers may be in any length unit shared by all three arguments).
    r_front, r_back : array_like or Quantity
        Radii of the front (occulting) and back (occulted) discs, m.

    Returns
    -------
    ndarray
        Hidden area, m^2 (or the square of the unit of plain-number inputs),
        broadcast over the inputs: 0 when the discs are apart
        (``d >= r_front + r_back``), ``pi min(r_front, r_back)^2`` when one
        disc lies inside the other (``d <= |r_front - r_back|``), otherwise the
        lens-shaped intersection

            A = r_f^2 kappa_f + r_b^2 kappa_b - (1/2) sqrt(H),
            H = (-d + r_f + r_b)(d + r_f - r_b)(d - r_f + r_b)(d + r_f + r_b),

        with ``cos kappa_f = (d^2 + r_f^2 - r_b^2) / (2 d r_f)`` and likewise for
        ``kappa_b``. The area is symmetric in the two radii: which disc is in
        front only decides whose light is lost.

    References
    ----------
    Mandel, K. & Agol, E. 2002, ApJ, 580, L171, eq. (1) (uniform source: the
    covered fraction ``lambda^e`` is this area over ``pi r_back^2``).
    Winn, J. N. 2010, arXiv:1001.2010, sect. 3 (transit and occultation depths).
    """
    d = non_negative(
        as_si(separation_on_sky, u.m, "separation_on_sky"), "separation_on_sky"
    )
    r_f = positive(as_si(r_front, u.m, "r_front"), "r_front")
    r_b = positive(as_si(r_back, u.m, "r_back"), "r_back")
    return _overlap_area(d, r_f, r_b)


def _eclipsed_fraction(
    phase: NDArray,
    cos_i: NDArray,
    r1: NDArray,
    r2: NDArray,
    a: NDArray,
    flux_1: NDArray,
    flux_2: NDArray,
) -> NDArray:
    """Unchecked kernel of :func:`eclipsed_fraction` (SI floats, broadcastable)."""
    angle = 2.0 * np.pi * phase
    cos_angle = np.cos(angle)
    d = a * np.sqrt(np.sin(angle) ** 2 + (cos_i * cos_angle) ** 2)
    hidden = _overlap_area(d, r1, r2)
    # Near phase 0 star 1 is in front and star 2 loses light; near 0.5 the reverse.
    lost = np.where(
        cos_angle >= 0.0,
        flux_2 * hidden / (np.pi * r2**2),
        flux_1 * hidden / (np.pi * r1**2),
    )
    return lost / (flux_1 + flux_2)


def eclipsed_fraction(
    phase: ArrayLike,
    cos_inclination: ArrayLike,
    radius_1: ArrayLike | u.Quantity,
    radius_2: ArrayLike | u.Quantity,
    separation: ArrayLike | u.Quantity,
    flux_1: ArrayLike,
    flux_2: ArrayLike,
) -> NDArray:
    """Fraction of a circular binary's flux hidden by an eclipse at a given phase.

    Parameters
    ----------
    phase : array_like
        Orbital phase, cycles (dimensionless). At phase 0 star 1 is in front
        (conjunction), so star 2 is eclipsed; at phase 0.5 star 1 is eclipsed.
    cos_inclination : array_like
        Cosine of the orbital inclination (dimensionless, in ``[-1, 1]``).
    radius_1, radius_2 : array_like or Quantity
        Radii of the two stars, m.
    separation : array_like or Quantity
        Orbital separation, m.
    flux_1, flux_2 : array_like
        Out-of-eclipse fluxes of the two stars in one band, any common linear
        unit (plain numbers such as ``10**(-0.4 m)``, or Quantities of
        convertible units); ``>= 0`` with a positive sum.

    Returns
    -------
    ndarray
        ``(F_back / (pi R_back^2)) A(d) / (F1 + F2)`` (dimensionless, in
        ``[0, 1]``), broadcast over the inputs (e.g. per-source parameters of
        shape ``(n, 1)`` against phases of shape ``(n, n_epochs)``), with
        ``A`` the hidden area (:func:`overlap_area`) at the projected separation
        ``d = a sqrt(sin^2(2 pi phase) + cos^2 i cos^2(2 pi phase))``. Discs of
        uniform surface brightness ``F / (pi R^2)``: no limb darkening,
        reflection, ellipsoidal variation or lensing. The magnitude depth is
        ``-2.5 log10(1 - fraction)``.

    References
    ----------
    Winn, J. N. 2010, "Transits and occultations", arXiv:1001.2010, sect. 2
    (sky-projected separation of a circular orbit) and sect. 3 (loss of flux).
    Mandel, K. & Agol, E. 2002, ApJ, 580, L171, eq. (1) (uniform-source limit).
    """
    phi = as_si(phase, u.dimensionless_unscaled, "phase")
    if not np.all(np.isfinite(phi)):
        raise ValueError("phase must be finite")
    cos_i = _cos_inclination(cos_inclination)
    r1 = positive(as_si(radius_1, u.m, "radius_1"), "radius_1")
    r2 = positive(as_si(radius_2, u.m, "radius_2"), "radius_2")
    a = positive(as_si(separation, u.m, "separation"), "separation")
    # Only the ratio matters: Quantities share flux_1's unit, plain numbers any.
    unit = flux_1.unit if isinstance(flux_1, u.Quantity) else u.dimensionless_unscaled
    f1 = non_negative(as_si(flux_1, unit, "flux_1"), "flux_1")
    f2 = non_negative(as_si(flux_2, unit, "flux_2"), "flux_2")
    if np.any(f1 + f2 <= 0):
        raise ValueError("flux_1 + flux_2 must be > 0")
    return _eclipsed_fraction(phi, cos_i, r1, r2, a, f1, f2)
