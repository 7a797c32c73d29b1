"""Quasi-monochromatic galactic binaries: GR relations and the detector signal.

A detached double white dwarf (or any circular binary far from merger) emits at
twice its orbital frequency with a slow GR chirp. This module holds

- the relations between component masses, chirp mass, orbital period, frequency,
  frequency derivative, amplitude and distance (Peters 1964; quadrupole formula),
  and their inversion from a measured (A, f, fdot);
  ``gw_amplitude`` and ``gr_fdot`` serve the SNR and the Fisher code alike;
- :class:`GalacticBinary`, the eight signal parameters in SI units;
- :func:`slow_signal`, the heterodyned complex signal in each Michelson channel of
  LISA or TianQin, which :mod:`simfer.inference.fisher` differentiates.

Amplitude convention (Cornish & Littenberg 2007; Robson, Cornish & Liu 2019):
h+ = A (1 + cos^2 i) cos Phi, hx = -2 A cos i sin Phi with
A = 2 (G Mc)^(5/3) (pi f)^(2/3) / (c^4 D). (The face-on strain amplitude is 2A.)
With this convention the sky-, polarisation- and inclination-averaged SNR of a
monochromatic source observed for T is <rho^2> = (16/5) A^2 T / S_n(f) for the
Robson et al. S_n (10/3 factor included), as :mod:`simfer.sims.response` derives.
"""

from __future__ import annotations

import logging
import math
from typing import Any, NamedTuple

import astropy.constants as const
import astropy.units as u
import jax
import jax.numpy as jnp
import numpy as np
from astropy.constants import G as _G_CONSTANT
from jax.typing import ArrayLike

from simfer.sims.detectors import SPEED_OF_LIGHT
from simfer.sims.response import antenna_patterns, doppler_delay, geometry_name
from simfer.sims.si_inputs import as_si

jax.config.update("jax_enable_x64", True)

logger = logging.getLogger(__name__)

__all__ = [
    "PARAMETER_NAMES",
    "GalacticBinary",
    "chirp_mass",
    "chirp_mass_from_fdot",
    "distance_from_amplitude",
    "gr_fdot",
    "gw_amplitude",
    "gw_frequency_from_period",
    "slow_signal",
    "slow_signal_parts",
]

#: Order of the signal parameters in :func:`slow_signal` and the Fisher matrix:
#: ln A, f (Hz, at mid-observation), fdot (Hz/s), phi0 (rad, at mid-observation),
#: cos i, psi (rad), ecliptic latitude (rad), ecliptic longitude (rad).
PARAMETER_NAMES = (
    "ln_amplitude",
    "frequency",
    "fdot",
    "initial_phase",
    "cos_inclination",
    "polarisation",
    "ecliptic_latitude",
    "ecliptic_longitude",
)

#: Gravitational constant, m^3 kg^-1 s^-2 (CODATA 2018, as in astropy).
G_NEWTON = float(_G_CONSTANT.si.value)


# ln A^2 and ln(fdot / f) as linear functions of ln M_c and ln f: the kernels share
# one logarithm per variable and avoid general powers, which XLA evaluates slowly.
_LN_AMPLITUDE_SQ_CONST = (
    math.log(4.0)
    + 10.0 / 3.0 * math.log(G_NEWTON)
    + 4.0 / 3.0 * math.log(math.pi)
    - 8.0 * math.log(SPEED_OF_LIGHT)
)
_LN_FDOT_OVER_F_CONST = (
    math.log(96.0 / 5.0)
    + 8.0 / 3.0 * math.log(math.pi)
    + 5.0 / 3.0 * math.log(G_NEWTON / SPEED_OF_LIGHT**3)
)


def _amplitude_sq_times_d2(ln_mc, ln_f):
    """A^2 D^2 in m^2, from ln(M_c / kg) and ln(f / Hz)."""
    return jnp.exp(_LN_AMPLITUDE_SQ_CONST + 10.0 / 3.0 * ln_mc + 4.0 / 3.0 * ln_f)


def _fdot_over_f(ln_mc, ln_f):
    """GR (df/dt) / f in 1/s, from ln(M_c / kg) and ln(f / Hz)."""
    return jnp.exp(_LN_FDOT_OVER_F_CONST + 5.0 / 3.0 * ln_mc + 8.0 / 3.0 * ln_f)


def gw_amplitude(chirp_mass: Any, frequency: Any, distance: Any) -> jax.Array:
    """Intrinsic GW amplitude A of a circular binary, dimensionless.

    A = 2 (G M_c)^(5/3) (pi f)^(2/3) / (c^4 D); the polarisations are
    h_+ = A (1 + cos^2 i) cos Phi and h_x = -2 A cos i sin Phi.

    Parameters
    ----------
    chirp_mass : float or array_like
        Chirp mass M_c, kg.
    frequency : float or array_like
        Gravitational-wave frequency f (twice the orbital frequency), Hz.
    distance : float or array_like
        Distance D, m.

    Returns
    -------
    jax.Array
        Amplitude A (float64, broadcast shape of the inputs).

    References
    ----------
    Cornish N. J., Littenberg T. B., 2007, PRD, 76, 083006, eq. (2).
    Robson T., Cornish N. J., Liu C., 2019, CQG, 36, 105011, Sec. 6.
    """
    mc = jnp.asarray(chirp_mass, dtype=jnp.float64)
    f = jnp.asarray(frequency, dtype=jnp.float64)
    d = jnp.asarray(distance, dtype=jnp.float64)
    return jnp.sqrt(_amplitude_sq_times_d2(jnp.log(mc), jnp.log(f))) / d


def gr_fdot(chirp_mass: Any, frequency: Any) -> jax.Array:
    """Leading-order GR derivative of the GW frequency of a circular binary, Hz/s.

    df/dt = (96/5) pi^(8/3) (G M_c / c^3)^(5/3) f^(11/3).

    Parameters
    ----------
    chirp_mass : float or array_like
        Chirp mass M_c, kg.
    frequency : float or array_like
        Gravitational-wave frequency f, Hz.

    Returns
    -------
    jax.Array
        df/dt, Hz/s (float64).

    References
    ----------
    Peters P. C., 1964, Phys. Rev., 136, B1224 (orbital decay, eq. 5.6).
    Robson T., Cornish N. J., Liu C., 2019, CQG, 36, 105011, eq. (26).
    """
    mc = jnp.asarray(chirp_mass, dtype=jnp.float64)
    f = jnp.asarray(frequency, dtype=jnp.float64)
    return f * _fdot_over_f(jnp.log(mc), jnp.log(f))


_G = float(const.G.si.value)
_C = float(const.c.si.value)


def chirp_mass(mass_1: object, mass_2: object) -> np.ndarray:
    """Chirp mass (m1 m2)^(3/5) / (m1 + m2)^(1/5), kg.

    Parameters
    ----------
    mass_1, mass_2 : float, array or Quantity
        Component masses, kg (or any astropy mass unit).

    References
    ----------
    Peters & Mathews 1963, Phys. Rev. 131, 435.
    """
    m1 = as_si(mass_1, u.kg, "mass_1")
    m2 = as_si(mass_2, u.kg, "mass_2")
    if np.any(m1 <= 0) or np.any(m2 <= 0):
        raise ValueError("mass_1 and mass_2 must be positive")
    return (m1 * m2) ** 0.6 / (m1 + m2) ** 0.2


def gw_frequency_from_period(orbital_period: object) -> np.ndarray:
    """Gravitational-wave frequency 2 / P of a circular binary, Hz.

    Parameters
    ----------
    orbital_period : float, array or Quantity
        Orbital period, s.

    References
    ----------
    Peters & Mathews 1963, Phys. Rev. 131, 435 (n = 2 harmonic of a circular orbit).
    """
    period = as_si(orbital_period, u.s, "orbital_period")
    if np.any(period <= 0):
        raise ValueError("orbital_period must be positive")
    return 2.0 / period


def chirp_mass_from_fdot(frequency: ArrayLike, fdot: ArrayLike) -> ArrayLike:
    """Chirp mass implied by a GR-driven fdot, kg (inverse of ``gr_fdot``).

    Parameters
    ----------
    frequency : array_like
        Gravitational-wave frequency, Hz.
    fdot : array_like
        Frequency derivative, Hz/s (positive).

    References
    ----------
    Peters 1964, Phys. Rev. 136, B1224.
    """
    x = 5.0 / 96.0 * math.pi ** (-8.0 / 3.0) * fdot * frequency ** (-11.0 / 3.0)
    return _C**3 / _G * x ** (3.0 / 5.0)


def distance_from_amplitude(
    amplitude: ArrayLike, frequency: ArrayLike, fdot: ArrayLike
) -> ArrayLike:
    """Distance 5 c fdot / (48 pi^2 f^3 A) implied by (A, f, GR fdot), m.

    Parameters
    ----------
    amplitude : array_like
        Intrinsic amplitude A (see :func:`gw_amplitude`).
    frequency : array_like
        Gravitational-wave frequency, Hz.
    fdot : array_like
        Frequency derivative, Hz/s.

    References
    ----------
    Schutz 1986, Nature 323, 310 (chirping binaries as standard sirens); follows
    from :func:`gw_amplitude` and :func:`gr_fdot`.
    """
    return 5.0 * _C * fdot / (48.0 * math.pi**2 * frequency**3 * amplitude)


class GalacticBinary(NamedTuple):
    """Signal parameters of a quasi-monochromatic binary, SI (scalars or arrays).

    Attributes
    ----------
    amplitude : float or array
        Intrinsic amplitude A (dimensionless), see ``gw_amplitude``.
    frequency : float or array
        Gravitational-wave frequency at mid-observation, Hz.
    fdot : float or array
        Frequency derivative, Hz/s.
    cos_inclination : float or array
        Cosine of the inclination of the orbit to the line of sight.
    polarisation : float or array
        Polarisation angle psi, rad (convention of :mod:`simfer.sims.response`).
    ecliptic_latitude, ecliptic_longitude : float or array
        Sky position, rad.
    initial_phase : float or array
        Phase at mid-observation, rad.
    """

    amplitude: ArrayLike
    frequency: ArrayLike
    fdot: ArrayLike
    cos_inclination: ArrayLike
    polarisation: ArrayLike
    ecliptic_latitude: ArrayLike
    ecliptic_longitude: ArrayLike
    initial_phase: ArrayLike = 0.0

    @classmethod
    def from_physical(
        cls,
        chirp_mass: object,
        frequency: object,
        distance: object,
        *,
        cos_inclination: object,
        polarisation: object,
        ecliptic_latitude: object,
        ecliptic_longitude: object,
        initial_phase: object = 0.0,
        fdot: object | None = None,
    ) -> GalacticBinary:
        """Build the signal parameters from chirp mass and distance.

        Parameters
        ----------
        chirp_mass : float, array or Quantity
            Chirp mass, kg.
        frequency : float, array or Quantity
            Gravitational-wave frequency, Hz.
        distance : float, array or Quantity
            Distance, m.
        cos_inclination : float or array
            Cosine of the inclination.
        polarisation, ecliptic_latitude, ecliptic_longitude, initial_phase : float,
            array or Quantity
            Angles, rad.
        fdot : float, array, Quantity or None
            Frequency derivative, Hz/s; None uses the GR value ``gr_fdot``.
        """
        mc = as_si(chirp_mass, u.kg, "chirp_mass")
        f = as_si(frequency, u.Hz, "frequency")
        dist = as_si(distance, u.m, "distance")
        if np.any(mc <= 0) or np.any(f <= 0) or np.any(dist <= 0):
            raise ValueError("chirp_mass, frequency and distance must be positive")
        cos_i = np.asarray(cos_inclination, dtype=float)
        if np.any(np.abs(cos_i) > 1):
            raise ValueError("cos_inclination must lie in [-1, 1]")
        fdot_si = (
            np.asarray(gr_fdot(mc, f))
            if fdot is None
            else as_si(fdot, u.Hz / u.s, "fdot")
        )
        return cls(
            amplitude=np.asarray(gw_amplitude(mc, f, dist)),
            frequency=f,
            fdot=fdot_si,
            cos_inclination=cos_i,
            polarisation=as_si(polarisation, u.rad, "polarisation"),
            ecliptic_latitude=as_si(ecliptic_latitude, u.rad, "ecliptic_latitude"),
            ecliptic_longitude=as_si(ecliptic_longitude, u.rad, "ecliptic_longitude"),
            initial_phase=as_si(initial_phase, u.rad, "initial_phase"),
        )

    def parameter_vector(self) -> np.ndarray:
        """Parameters in :data:`PARAMETER_NAMES` order, shape (..., 8), ln A first."""
        columns = np.broadcast_arrays(
            np.log(np.asarray(self.amplitude, dtype=float)),
            self.frequency,
            self.fdot,
            self.initial_phase,
            self.cos_inclination,
            self.polarisation,
            self.ecliptic_latitude,
            self.ecliptic_longitude,
        )
        return np.stack([np.asarray(c, dtype=float) for c in columns], axis=-1)


def slow_signal_parts(
    theta: ArrayLike,
    times: ArrayLike,
    detector: object,
    carrier_frequency: ArrayLike,
) -> tuple[jnp.ndarray, jnp.ndarray]:
    """Modulus-and-polarisation part and phase of :func:`slow_signal`.

    ``slow_signal = envelope * exp(1j * phase)``; Fisher matrices use the two parts
    separately because the phase cancels in every bilinear of the signal.

    Parameters
    ----------
    theta, times, detector, carrier_frequency
        As for :func:`slow_signal`.

    Returns
    -------
    envelope : jax.Array, complex, shape (2, n_times)
        A [(1 + c^2) F+_k(t) + 2 i c Fx_k(t)] for channels I and II.
    phase : jax.Array, shape (n_times,)
        phi0 + 2 pi (f - f_c) t + pi fdot t^2 + 2 pi (f + fdot t) n.x(t)/c, rad.

    References
    ----------
    Cutler 1998, PRD 57, 7089 (channel response, Doppler phase).
    """
    name = geometry_name(detector)
    theta = jnp.asarray(theta)
    times = jnp.asarray(times, dtype=float)
    ln_amp, freq, fdot, phi0, cos_i, psi, lat, lon = (theta[k] for k in range(8))

    f_plus, f_cross = antenna_patterns(name, times, lat, lon, psi)
    delay = doppler_delay(name, times, lat, lon)
    phase = (
        phi0
        + 2.0 * jnp.pi * (freq - carrier_frequency) * times
        + jnp.pi * fdot * times**2
        + 2.0 * jnp.pi * (freq + fdot * times) * delay
    )
    envelope = jnp.exp(ln_amp) * ((1.0 + cos_i**2) * f_plus + 2j * cos_i * f_cross)
    return envelope, phase


def slow_signal(
    theta: ArrayLike,
    times: ArrayLike,
    detector: object,
    carrier_frequency: ArrayLike,
) -> jnp.ndarray:
    """Heterodyned complex signal of one binary in channels I and II.

    The channel strain is h_k(t) = Re[s_k(t) exp(2 pi i f_c t)] with

        s_k = A [(1 + c^2) F+_k(t) + 2 i c Fx_k(t)]
              exp(i [phi0 + 2 pi (f - f_c) t + pi fdot t^2
                     + 2 pi (f + fdot t) n.x(t)/c]),

    t measured from mid-observation, so f and phi0 are their mid-observation values.

    Parameters
    ----------
    theta : array_like, shape (8,)
        Parameters in :data:`PARAMETER_NAMES` order (ln A, f [Hz], fdot [Hz/s],
        phi0 [rad], cos i, psi [rad], latitude [rad], longitude [rad]).
    times : array_like, shape (n_times,)
        Times from mid-observation, s.
    detector : str or Detector
        "LISA" or "TianQin".
    carrier_frequency : float
        Heterodyne frequency f_c, Hz (normally the source frequency, held fixed
        when differentiating).

    Returns
    -------
    jax.Array, complex, shape (2, n_times)

    References
    ----------
    Cutler 1998, PRD 57, 7089 (channel response, Doppler phase).
    Cornish & Littenberg 2007, PRD 76, 083006 (slow-fast decomposition of
    galactic-binary signals).
    """
    envelope, phase = slow_signal_parts(theta, times, detector, carrier_frequency)
    return envelope * jnp.exp(1j * phase)
