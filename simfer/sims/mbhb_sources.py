"""Massive black-hole binary sources: source-frame parameters and the detector frame.

:class:`MBHBSources` holds a batch of aligned-spin, quasi-circular binaries by
their source-frame masses, spins, redshift and angles, with the checks a
waveform model needs; :func:`detector_frame` gives the redshifted masses
``(1 + z) m`` and the luminosity distance from an astropy cosmology (Planck18 by
default), interpolated in ``ln z`` for large batches. The waveforms themselves
are in :mod:`simfer.sims.mbhb_waveforms`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, fields

import astropy.units as u
import lal
import numpy as np
from astropy.cosmology import Planck18
from numpy.typing import ArrayLike, NDArray
from scipy.interpolate import CubicSpline

from simfer.sims.si_inputs import as_si

__all__ = ["Q_MIN", "DetectorFrame", "MBHBSources", "detector_frame"]

logger = logging.getLogger(__name__)

MSUN_SI = lal.MSUN_SI  # kg, the value lalsimulation uses
MTSUN_SI = lal.MTSUN_SI  # G Msun / c^3 in s

Q_MIN = 1e-3  # below this no approximant here is valid (XHM's test-mass limit)
_D_L_TABLE_SIZE = 400  # nodes of the luminosity-distance table in ln z
_D_L_DIRECT_MAX = 64  # up to this many sources, call astropy directly


def _as_array(value, unit, name):
    return np.atleast_1d(as_si(value, unit, name)).astype(float)


@dataclass(frozen=True)
class MBHBSources:
    """A batch of ``n`` aligned-spin MBHB sources, source frame plus redshift.

    Numbers are SI (kg, rad, s); Quantities of compatible units are converted.
    Scalars broadcast to the batch size.

    Parameters
    ----------
    m1, m2 : array_like or Quantity
        Source-frame component masses (kg), ``m1 >= m2 > 0``.
    chi1, chi2 : array_like
        Dimensionless aligned spins, in (-1, 1) (required).
    redshift : array_like
        Cosmological redshift z > 0.
    inclination : array_like or Quantity
        Angle between orbital angular momentum and line of sight (rad).
        Default 0: face-on, where phase and polarisation are degenerate in a
        Fisher matrix; every angle and ``t_c`` default to 0.
    phase : array_like or Quantity
        Observer's azimuthal phase in the source frame (rad): lisabeta's
        ``phi``, entering only the spherical harmonics -2Y_lm(inclination, phase).
    ecliptic_longitude, ecliptic_latitude, polarization : array_like or Quantity
        Sky position and polarisation angle in the SSB frame (rad).
    t_c : array_like or Quantity
        Time (s, SSB frame) at which the 22 mode reaches IMRPhenomD's peak
        frequency (lisabeta's ``Deltat``).

    References
    ----------
    Marsat, Baker & Dal Canton 2021, PRD 103, 083011 (arXiv:2003.00357).
    """

    m1: NDArray
    m2: NDArray
    chi1: NDArray
    chi2: NDArray
    redshift: NDArray
    inclination: NDArray = field(default_factory=lambda: np.zeros(1))
    phase: NDArray = field(default_factory=lambda: np.zeros(1))
    ecliptic_longitude: NDArray = field(default_factory=lambda: np.zeros(1))
    ecliptic_latitude: NDArray = field(default_factory=lambda: np.zeros(1))
    polarization: NDArray = field(default_factory=lambda: np.zeros(1))
    t_c: NDArray = field(default_factory=lambda: np.zeros(1))

    def __post_init__(self):
        units = {"m1": u.kg, "m2": u.kg, "t_c": u.s}
        angles = ("inclination", "phase", "ecliptic_longitude")
        angles += ("ecliptic_latitude", "polarization")
        values = {}
        for f in fields(self):
            unit = units.get(f.name, u.rad if f.name in angles else u.one)
            values[f.name] = _as_array(getattr(self, f.name), unit, f.name)
        try:
            arrays = np.broadcast_arrays(*values.values())
        except ValueError as exc:
            shapes = {k: v.shape for k, v in values.items()}
            raise ValueError(f"MBHBSources fields must broadcast: {shapes}") from exc
        for name, array in zip(values, arrays, strict=True):
            if array.ndim != 1:
                raise ValueError(f"{name} must be a scalar or 1-d array")
            if not np.all(np.isfinite(array)):
                raise ValueError(f"{name} must be finite")
            object.__setattr__(self, name, np.array(array, dtype=float))
        self._validate()

    def _validate(self):
        for name in ("m1", "m2"):
            if np.any(getattr(self, name) <= 0):
                raise ValueError(f"{name} must be > 0 (source-frame mass in kg)")
        if np.any(self.m2 > self.m1):
            raise ValueError("m1 must be >= m2 (swap the components, chi1 with m1)")
        for name in ("chi1", "chi2"):
            if np.any(np.abs(getattr(self, name)) >= 1):
                raise ValueError(f"{name} must lie in (-1, 1) (aligned spin)")
        if np.any(self.redshift <= 0):
            raise ValueError("redshift must be > 0")
        if np.any(self.mass_ratio < Q_MIN):
            raise ValueError(f"mass ratio q = m2/m1 must be >= {Q_MIN:g}")

    @classmethod
    def from_total_mass_ratio(
        cls, total_mass: ArrayLike | u.Quantity, mass_ratio: ArrayLike, **kwargs
    ) -> MBHBSources:
        """Sources from source-frame total mass M (kg) and q = m2/m1 in (0, 1]."""
        total = _as_array(total_mass, u.kg, "total_mass")
        q = _as_array(mass_ratio, u.one, "mass_ratio")
        if np.any(total <= 0) or not np.all(np.isfinite(total)):
            raise ValueError("total_mass must be finite and > 0")
        if np.any(q <= 0) or np.any(q > 1) or not np.all(np.isfinite(q)):
            raise ValueError("mass_ratio q = m2/m1 must lie in (0, 1]")
        return cls(m1=total / (1 + q), m2=total * q / (1 + q), **kwargs)

    def __len__(self) -> int:
        return self.m1.size

    @property
    def mass_ratio(self) -> NDArray:
        """q = m2/m1 <= 1."""
        return self.m2 / self.m1


@dataclass(frozen=True)
class DetectorFrame:
    """Redshifted masses (kg) and luminosity distance (m) of a batch."""

    m1: NDArray
    m2: NDArray
    luminosity_distance: NDArray

    @property
    def total_mass_seconds(self) -> NDArray:
        """G M / c^3 of the redshifted total mass (s)."""
        return (self.m1 + self.m2) / MSUN_SI * MTSUN_SI

    @property
    def chirp_mass(self) -> NDArray:
        """Redshifted chirp mass (m1 m2)^(3/5) / (m1 + m2)^(1/5) (kg)."""
        return (self.m1 * self.m2) ** 0.6 / (self.m1 + self.m2) ** 0.2


def detector_frame(
    sources: MBHBSources, cosmology=Planck18, interpolate: bool | None = None
) -> DetectorFrame:
    """Redshifted masses (1 + z) m and luminosity distance of each source.

    Parameters
    ----------
    sources : MBHBSources
        The batch.
    cosmology : astropy.cosmology.FLRW
        Background cosmology (default Planck18).
    interpolate : bool, optional
        Interpolate ln D_L on a cubic spline of ``_D_L_TABLE_SIZE`` nodes uniform
        in ln z over the batch's redshift range instead of calling astropy
        per source. Default: only for more than ``_D_L_DIRECT_MAX`` sources.
        Its relative error is below 1e-8 for 0.01 < z < 20 (see tests).

    References
    ----------
    Hogg 1999, arXiv:astro-ph/9905116 (luminosity distance).
    """
    z = sources.redshift
    if interpolate is None:
        interpolate = z.size > _D_L_DIRECT_MAX
    if interpolate and z.min() < z.max():
        x = np.linspace(np.log(z.min()), np.log(z.max()), _D_L_TABLE_SIZE)
        d_table = cosmology.luminosity_distance(np.exp(x)).to_value(u.m)
        distance = np.exp(CubicSpline(x, np.log(d_table))(np.log(z)))
    else:
        distance = cosmology.luminosity_distance(z).to_value(u.m)
    return DetectorFrame(
        m1=(1 + z) * sources.m1,
        m2=(1 + z) * sources.m2,
        luminosity_distance=np.asarray(distance, dtype=float),
    )
