"""Interstellar extinction: an analytic 3-D dust disc and band extinction ratios.

Dust model. The Galactic dust is an axisymmetric double-exponential disc,

    dA_V/ds (R, z) = a_sun exp(-(R - R_sun)/h_R) exp(-(|z| - |z_sun|)/h_z),

where ``a_sun`` is the V-band extinction per unit path length at the Sun's position
(the local extinction rate), ``h_R`` the radial scale length, ``h_z`` the vertical
scale height, and ``(R_sun, z_sun)`` the Sun's Galactocentric cylindrical radius and
height. :func:`extinction_v` integrates it along the line of sight from the Sun to
a source at distance ``d`` towards Galactic ``(l, b)``. The geometry is the one of
:class:`simfer.sims.galaxy.SunPosition` (astropy ``Galactocentric`` frame,
including its small tilt ``asin(z_sun / R_0)``), so that positions drawn by the
Galaxy model and the dust agree. Nothing is downloaded: no dust map is used.

Line integral. Along the sight line the height is linear in the path length, so on
each stretch where ``|z|`` grows monotonically (at most two: before and after
crossing the mid-plane) the vertical factor is exactly ``exp(-k t)``. The change of
variable ``u = (1 - exp(-k t))/k`` absorbs it, leaving the radial factor, which a
fixed 12-point Gauss-Legendre rule integrates on each side of the sight line's
closest approach to the Galactic centre (after a quadratic change of variable that
tames the end-point singularity of ``t(u)``). Relative error against adaptive
quadrature: < 1e-4 (worst 3.5e-5 over 300 random sight lines to 25 kpc; see
``tests/sims/test_extinction.py``). About 2 s for 1e6 sources on one core. For
``|b| = 90 deg`` and a Sun in the mid-plane the result is the closed form
``a_sun h_z (1 - exp(-d / h_z))``.

Default parameters. Scale length 3.192 kpc and scale height 0.103 kpc: the global
exponential dust disc fitted to LAMOST reddenings by Li et al. (2018), who also find
the Sun 23 pc above the dust mid-plane (our Sun: 20.8 pc, Bennett & Bovy 2019).
Local extinction rate 0.7 mag/kpc in V: the diffuse-absorption normalisation of the
Besancon Galaxy model (Robin et al. 2003). Real dust is clumpy: along individual
sight lines the true extinction scatters by factors of ~2 about this smooth model.

Band ratios. :func:`band_extinction_ratio` gives ``A_band / A_V`` for the bands of
:mod:`simfer.sims.photometry`, from the Milky Way extinction curve of Gordon et al.
(2023) at ``R_V = 3.1``, averaged over the band (photon-counting weight
``f_lambda R lambda``) for a 10,000 K blackbody in the small-extinction limit. The
source spectrum matters: for Gaia G the ratio is 0.96 at 10,000 K but 0.82 for a
4,800 K spectrum like the red-clump stars behind the 0.789 of Wang & Chen (2019).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field

import astropy.units as u
import numpy as np
from astropy.modeling.physical_models import BlackBody
from dust_extinction.parameter_averages import G23
from numpy.typing import ArrayLike, NDArray

from simfer.sims.galaxy import SunPosition
from simfer.sims.photometry import band_filter
from simfer.sims.si_inputs import as_si

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_DUST",
    "REFERENCE_TEMPERATURE",
    "DustDisc",
    "band_extinction_ratio",
    "extinction_v",
]

_N_NODES = 12  # Gauss-Legendre order per smooth piece (<= 4 pieces per source)
_CHUNK = 1 << 16  # sources per vectorised block (bounds memory to a few MB)
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(_N_NODES)


def _positive_scalar(value: u.Quantity, unit: u.UnitBase, name: str) -> float:
    if not isinstance(value, u.Quantity):
        raise TypeError(f"{name} must be a Quantity convertible to {unit}")
    x = float(value.to_value(unit))
    if not np.isfinite(x) or x <= 0:
        raise ValueError(f"{name} must be finite and > 0")
    return x


@dataclass(frozen=True)
class DustDisc:
    """Axisymmetric double-exponential dust disc (V-band extinction per length).

    Parameters
    ----------
    local_extinction : Quantity
        V-band extinction per unit path length at the Sun's position, mag/kpc.
    scale_length : Quantity
        Radial exponential scale length ``h_R``, kpc.
    scale_height : Quantity
        Vertical exponential scale height ``h_z``, kpc.
    sun : SunPosition
        The Sun's place in the Galaxy (Galactocentric distance, kpc; height above the
        mid-plane, pc); :class:`simfer.sims.galaxy.SunPosition` defaults.

    References
    ----------
    Li, L. et al. 2018, ApJ 858, 75 (doi:10.3847/1538-4357/aabaef): ``h_R`` = 3192 pc,
    ``h_z`` = 103 pc.
    Robin, A. C. et al. 2003, A&A 409, 523: local diffuse extinction 0.7 mag/kpc.
    """

    local_extinction: u.Quantity = 0.7 * u.mag / u.kpc
    scale_length: u.Quantity = 3.192 * u.kpc
    scale_height: u.Quantity = 0.103 * u.kpc
    sun: SunPosition = field(default_factory=SunPosition)

    def __post_init__(self) -> None:
        _positive_scalar(self.local_extinction, u.mag / u.kpc, "local_extinction")
        _positive_scalar(self.scale_length, u.kpc, "scale_length")
        height = _positive_scalar(self.scale_height, u.kpc, "scale_height")
        if height < 1e-3:  # the line integral's exp(|z|/h_z) would overflow
            raise ValueError(f"scale_height: expected >= 1 pc, got {self.scale_height}")
        if not isinstance(self.sun, SunPosition):
            raise TypeError("sun must be a simfer.sims.galaxy.SunPosition")


#: The default dust disc (parameters in :class:`DustDisc`).
DEFAULT_DUST = DustDisc()


def extinction_v(
    distance: ArrayLike | u.Quantity,
    l: ArrayLike | u.Quantity,  # noqa: E741 - Galactic longitude is called l
    b: ArrayLike | u.Quantity,
    model: DustDisc = DEFAULT_DUST,
) -> NDArray:
    """V-band extinction from the Sun to sources at ``(distance, l, b)``.

    Parameters
    ----------
    distance : array_like or Quantity
        Heliocentric distance, kpc (plain numbers) or any length Quantity; >= 0.
    l, b : array_like or Quantity
        Galactic longitude and latitude, rad (plain numbers) or angle Quantities;
        ``|b| <= pi/2``.
    model : DustDisc
        Dust disc parameters; :data:`DEFAULT_DUST` if omitted.

    Returns
    -------
    ndarray
        ``A_V``, mag, broadcast over the inputs (0 at zero distance).

    Raises
    ------
    ValueError
        If a distance is negative or not finite, or an angle is not finite or
        ``|b| > pi/2``.

    Notes
    -----
    Fixed-order (12-point) Gauss-Legendre quadrature on at most four smooth pieces
    per source, after the changes of variable described in the module docstring;
    relative error < 1e-4; about 2 s for 1e6 sources.

    References
    ----------
    Li, L. et al. 2018, ApJ 858, 75; Robin, A. C. et al. 2003, A&A 409, 523.
    """
    d = as_si(distance, u.kpc, "distance")
    lon = as_si(l, u.rad, "l")
    lat = as_si(b, u.rad, "b")
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        raise ValueError("distance must be finite and >= 0")
    if not (np.all(np.isfinite(lon)) and np.all(np.isfinite(lat))):
        raise ValueError("l and b must be finite")
    if np.any(np.abs(lat) > np.pi / 2 * (1 + 1e-12)):
        raise ValueError("b must lie in [-pi/2, pi/2] rad")
    if not isinstance(model, DustDisc):
        raise TypeError("model must be a DustDisc")

    d, lon, lat = np.broadcast_arrays(d, lon, lat)
    shape = d.shape
    d, lon, lat = d.ravel(), lon.ravel(), lat.ravel()
    out = np.empty(d.size)
    for start in range(0, d.size, _CHUNK):
        sl = slice(start, start + _CHUNK)
        out[sl] = _line_integral(d[sl], lon[sl], lat[sl], model)
    return out.reshape(shape)


def _line_integral(d: NDArray, lon: NDArray, lat: NDArray, model: DustDisc) -> NDArray:
    """``int_0^d dA_V/ds ds`` for one block of sources (all floats in kpc, rad)."""
    a_sun = model.local_extinction.to_value(u.mag / u.kpc)
    h_r = model.scale_length.to_value(u.kpc)
    h_z = model.scale_height.to_value(u.kpc)
    dist_gc = model.sun.galcen_distance.to_value(u.kpc)
    z_sun = model.sun.z_sun.to_value(u.kpc)
    sin_t = z_sun / dist_gc
    cos_t = np.sqrt(1.0 - sin_t**2)
    r_sun = dist_gc * cos_t

    # unit vector towards (l, b) in the frame with x to the Galactic centre; the
    # astropy Galactocentric frame tilts it by theta about y so the Sun sits at z_sun
    nx = np.cos(lat) * np.cos(lon)
    ny = np.cos(lat) * np.sin(lon)
    nz = np.sin(lat)
    vz = nz * cos_t - nx * sin_t  # dz/ds

    def z_at(s: NDArray) -> NDArray:
        return z_sun + s * vz

    # split at the mid-plane crossing: on each segment |z| grows along t >= 0
    with np.errstate(divide="ignore", invalid="ignore"):
        s_cross = np.where(vz != 0.0, -z_sun / vz, -1.0)
    crosses = (s_cross > 0.0) & (s_cross < d)
    away_from_plane = np.abs(z_at(d)) >= abs(z_sun)

    seg_start = np.where(crosses, s_cross, np.where(away_from_plane, 0.0, d))
    seg_sign = np.where(crosses | ~away_from_plane, -1.0, 1.0)
    seg_len = np.where(crosses, s_cross, d)
    seg2_len = np.where(crosses, d - s_cross, 0.0)

    # closest approach to the Galactic centre axis: R(s) is sharpest there
    ax = nx * cos_t + nz * sin_t
    s_near = dist_gc * cos_t * ax / np.maximum(ax**2 + ny**2, 1e-300)

    k = np.abs(vz) / h_z
    small = k * d < 1e-10  # vertical factor constant over the whole path
    k_safe = np.where(small, 1.0, k)

    def u_of_t(t: NDArray) -> NDArray:
        # u = (1 - exp(-k t))/k maps t in [0, L] to u in [0, Lam]; dt exp(-k t) = du
        return np.where(small, t, -np.expm1(-k_safe * t) / k_safe)

    # up to four smooth pieces per source (two segments, each split at the closest
    # approach); empty pieces are dropped before the quadrature
    pieces = []
    for start, sign, length in (
        (seg_start, seg_sign, seg_len),
        (seg_start, np.ones_like(d), seg2_len),
    ):
        u_split = u_of_t(np.clip((s_near - start) * sign, 0.0, length))
        vertical = np.exp(-(np.abs(z_at(start)) - abs(z_sun)) / h_z)
        for lo, hi in ((np.zeros_like(d), u_split), (u_split, u_of_t(length))):
            idx = np.nonzero(hi > lo)[0]
            pieces.append((idx, lo[idx], hi[idx], start[idx], sign[idx], vertical[idx]))
    idx, lo, hi, start, sign, vertical = (
        np.concatenate(p) for p in zip(*pieces, strict=True)
    )

    # u = hi - (hi - lo)(1 - v)^2 tames the log singularity of t(u) at u = 1/k
    # (t -> infinity), which the radial factor would otherwise feel
    width = hi - lo
    one_minus_v = 0.5 * (1.0 - _NODES)
    u_nodes = hi[:, None] - width[:, None] * one_minus_v[None, :] ** 2
    kk = k_safe[idx][:, None]
    flat = small[idx][:, None]
    ku = np.minimum(np.where(flat, 0.0, kk * u_nodes), 1.0 - 2.0**-52)
    t = np.where(flat, u_nodes, -np.log1p(-ku) / kk)
    s = start[:, None] + sign[:, None] * t
    x = s * ax[idx][:, None] - dist_gc * cos_t
    y = s * ny[idx][:, None]
    radial = np.exp(-(np.hypot(x, y) - r_sun) / h_r)
    integral = width * (radial @ (_WEIGHTS * one_minus_v)) * vertical
    total = np.bincount(idx, weights=integral, minlength=d.size)
    return a_sun * total


# ---------------------------------------------------------------- band ratios
#: Blackbody temperature, K, of the spectrum that weights the band averages.
REFERENCE_TEMPERATURE = 10_000.0


@functools.cache
def band_extinction_ratio(
    band: str, r_v: float = 3.1, temperature: float = REFERENCE_TEMPERATURE
) -> float:
    """``A_band / A_V`` for a blackbody source in the small-extinction limit.

    Parameters
    ----------
    band : str
        A band of :data:`simfer.sims.photometry.SUPPORTED_BANDS`.
    r_v : float
        Total-to-selective extinction ratio ``R_V`` of the curve, in [2.3, 5.6].
    temperature : float
        Blackbody temperature of the source spectrum, K (default 10,000 K, a
        typical white dwarf of the eclipse samples).

    Returns
    -------
    float
        ``sum f_lambda R k lambda / sum f_lambda R lambda`` over the band, with
        ``k = A_lambda / A_V`` of the Gordon et al. (2023) curve, ``R`` the filter
        response and ``f_lambda`` the blackbody (photon-counting weights). Cached.

    Raises
    ------
    ValueError
        If ``band`` is unknown, ``r_v`` outside the curve's range or
        ``temperature`` not finite and positive.

    References
    ----------
    Gordon, K. D. et al. 2023, ApJ 950, 86 (G23 Milky Way extinction curve,
    ``dust_extinction``).
    Wang, S. & Chen, X. 2019, ApJ 877, 116 (red-clump band ratios, for comparison).
    """
    if not (2.3 <= r_v <= 5.6):
        raise ValueError("r_v must lie in [2.3, 5.6] for the G23 curve")
    if not (np.isfinite(temperature) and temperature > 0):
        raise ValueError("temperature must be finite and > 0 (K)")
    filt = band_filter(band)
    wave = np.linspace(filt.wavelength[0], filt.wavelength[-1], 4000)
    response = np.asarray(filt(wave))
    flux = BlackBody(temperature=temperature * u.K)(wave * u.AA).to_value(
        u.erg / u.s / u.cm**2 / u.AA / u.sr,
        equivalencies=u.spectral_density(wave * u.AA),
    )
    curve = G23(Rv=r_v)(wave * u.AA)
    weight = flux * response * wave
    return float(np.sum(weight * curve) / np.sum(weight))
