"""LISA noise in the TDI channels A, E, T and its Gaussian realisations.

The instrument is the LISA science-requirement noise of Babak, Hewitson & Petiteau
(2021), arXiv:2108.01167 (LISA-LCST-SGS-TN-001), two single-link noises turned
into fractional-frequency (dimensionless Doppler) PSDs, 1/Hz:

* test-mass acceleration, a = 3e-15 m s^-2 Hz^-1/2,
  ``S_acc = a^2 (1 + (0.4 mHz/f)^2) (1 + (f/8 mHz)^4) / (2 pi f c)^2``;
* optical metrology, d = 15 pm Hz^-1/2,
  ``S_oms = d^2 (1 + (2 mHz/f)^4) (2 pi f / c)^2``.

This is lisabeta's ``'SciRDv1'`` model (``LISAnoise.c``: ``SpmLISASciRDv1``,
``SopLISASciRDv1``); lisabeta 1.2 has no ``'MRDv1'`` model (that name, in the LDC
code, means 10 pm and 2.4e-15 m s^-2 Hz^-1/2, not the requirement levels).

With x = 2 pi f L / c, equal arms L = 2.5e9 m and first-generation Michelson
X, Y, Z combined into A = (Z - X)/sqrt(2), E = (X - 2Y + Z)/sqrt(6),
T = (X + Y + Z)/sqrt(3), Babak et al. (2021) give (as coded in lisabeta)::

    S_A = S_E = 8 sin^2 x [(2 + cos x) S_oms + 2 (3 + 2 cos x + cos 2x) S_acc]
    S_T = 32 sin^2 x sin^2(x/2) [S_oms + 4 sin^2(x/2) S_acc]

Second-generation TDI multiplies both by 4 sin^2(2x). These are the *unrescaled*
PSDs, the default here. ``rescaled=True`` divides A and E by 2 sin^2 x and T by
8 sin^2 x sin^2(x/2) (and by 4 sin^2 2x for the second generation), which is
lisabeta's ``TDIrescaled=True`` convention: the same factors are divided out of the
TDI response, so a rescaled signal must be paired with the rescaled PSD. Rescaled
PSDs are the same for both generations and finite where sin x = 0.

The galactic foreground (optional) is simfer's confusion fit
(:meth:`simfer.sims.detectors.Detector.psd_confusion`, Karnesis et al. 2021 by
default) for the mission duration, S_c(f) in the normalisation of Robson, Cornish
& Liu (2019), i.e. additive to their two-channel effective sensitivity S_n. It
enters A and E as ``S_A^gal = 2 R_A(f) S_c(f)`` with the sky- and polarisation-
averaged A-channel response ``R_A = (18/5) x^2 sin^2 x / (1 + 0.6 x^2)``
(fractional frequency; 3/2 of the 60-degree Michelson's 16 x^2 sin^2 x (3/20)
times Robson's transfer 1/(1 + 0.6 x^2)). So ``S_A^inst / (2 R_A)`` equals
Robson's eq. (1) up to O(x^2), and the A+E SNR of a sky-averaged source matches
:mod:`simfer.sims.detectors` with and without the foreground. T gets none: its
response is suppressed by a further ~x^2 (lisabeta adds none either). lisabeta and
the LDC add ``6 x^2 sin^2 x S_gal`` (their own fit), 5/6 of the low-frequency
conversion used here.

Noise realisations follow the one-sided convention: on the grid f_k = k / T,
``n(f_k)`` is complex Gaussian with independent real and imaginary parts of
variance S(f_k) T / 4, so ``<|n(f_k)|^2> = S(f_k) T / 2``. This is the Fourier
transform ``n(f) = int n(t) exp(-2 pi i f t) dt`` of a stationary series of one-
sided PSD S, and with :func:`noise_weighted_inner_product`
``(a|b) = 4 Re sum_k a_k b_k^* / S_k df`` it gives ``<(n|n)> = 2`` per bin.
"""

from __future__ import annotations

import functools
import logging
import math
import numbers
from dataclasses import dataclass
from typing import Any

import astropy.units as u
import numpy as np

from simfer.sims.detectors import SPEED_OF_LIGHT, YEAR, Detector, get_detector

logger = logging.getLogger(__name__)

__all__ = [
    "LISA_ARM_LENGTH",
    "SCIRD_ACCELERATION_ASD",
    "SCIRD_OMS_ASD",
    "TDI_CHANNELS",
    "LisaTdiNoise",
    "frequency_grid",
    "gaussian_noise_fd",
    "noise_weighted_inner_product",
    "single_link_psds",
    "snr",
]

#: LISA arm length, m (Babak et al. 2021).
LISA_ARM_LENGTH = 2.5e9
#: Science-requirement test-mass acceleration noise, m s^-2 Hz^-1/2.
SCIRD_ACCELERATION_ASD = 3.0e-15
#: Science-requirement optical-metrology (displacement) noise, m Hz^-1/2.
SCIRD_OMS_ASD = 15.0e-12
#: Order of the channels in every (3, n) array of this module.
TDI_CHANNELS: tuple[str, ...] = ("A", "E", "T")

# Corner frequencies of the requirement shaping, Hz (Babak et al. 2021).
_F_ACC_LOW = 0.4e-3
_F_ACC_HIGH = 8.0e-3
_F_OMS = 2.0e-3


def _checked_frequencies(frequencies: Any, name: str = "frequencies") -> np.ndarray:
    """Frequencies as a float64 array, all finite and > 0 Hz."""
    try:
        f = np.asarray(frequencies, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"{name}: expected real frequencies in Hz; got {type(frequencies).__name__}"
        ) from None
    if f.size == 0:
        raise ValueError(f"{name}: expected at least one frequency; got an empty array")
    if not np.all(np.isfinite(f)):
        raise ValueError(f"{name}: expected finite frequencies in Hz; got NaN or inf")
    if np.any(f <= 0.0):
        raise ValueError(
            f"{name}: expected frequencies > 0 Hz; got minimum {float(f.min())!r}"
        )
    return f


def _positive_float(value: Any, name: str, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name}: expected a real number in {unit}; got {type(value).__name__}"
        )
    value = float(value)
    if not (math.isfinite(value) and value > 0.0):
        raise ValueError(f"{name}: expected a finite value > 0 {unit}; got {value}")
    return value


def _seconds(value: Any, name: str) -> float:
    if isinstance(value, u.Quantity):
        if not (value.isscalar and value.unit.is_equivalent(u.s)):
            raise ValueError(f"{name}: expected a scalar duration; got {value}")
        value = float(value.to_value(u.s))
    return _positive_float(value, name, "s")


def single_link_psds(
    frequencies: Any,
    *,
    acceleration_asd: float = SCIRD_ACCELERATION_ASD,
    oms_asd: float = SCIRD_OMS_ASD,
) -> tuple[np.ndarray, np.ndarray]:
    """Single-link acceleration and optical-metrology noise, fractional frequency.

    Parameters
    ----------
    frequencies : float or array_like
        Frequency f, Hz (finite, > 0).
    acceleration_asd : float
        White level a of the test-mass acceleration noise, m s^-2 Hz^-1/2.
    oms_asd : float
        White level d of the optical-metrology displacement noise, m Hz^-1/2.

    Returns
    -------
    s_acc, s_oms : numpy.ndarray
        ``S_acc = a^2 (1 + (0.4 mHz/f)^2)(1 + (f/8 mHz)^4) / (2 pi f c)^2`` and
        ``S_oms = d^2 (1 + (2 mHz/f)^4) (2 pi f / c)^2``, one-sided PSDs of the
        fractional frequency deviation, 1/Hz.

    References
    ----------
    Babak S., Hewitson M., Petiteau A., 2021, arXiv:2108.01167, LISA Sensitivity
    and SNR Calculations (LISA-LCST-SGS-TN-001), noise levels of the LISA Science
    Requirements Document (ESA-L3-EST-SCI-RS-001).
    """
    f = _checked_frequencies(frequencies)
    a = _positive_float(acceleration_asd, "acceleration_asd", "m s^-2 Hz^-1/2")
    d = _positive_float(oms_asd, "oms_asd", "m Hz^-1/2")
    return _single_link_kernel(f, a, d)


def _single_link_kernel(
    f: np.ndarray, acceleration_asd: float, oms_asd: float
) -> tuple[np.ndarray, np.ndarray]:
    omega = 2.0 * np.pi * f
    s_acc = (
        acceleration_asd**2
        * (1.0 + (_F_ACC_LOW / f) ** 2)
        * (1.0 + (f / _F_ACC_HIGH) ** 4)
        / (omega * SPEED_OF_LIGHT) ** 2
    )
    s_oms = oms_asd**2 * (1.0 + (_F_OMS / f) ** 4) * (omega / SPEED_OF_LIGHT) ** 2
    return s_acc, s_oms


@dataclass(frozen=True)
class LisaTdiNoise:
    """LISA noise PSDs of the TDI channels A, E, T (equal arms).

    Parameters
    ----------
    generation : int
        TDI generation, 1 (default) or 2.
    rescaled : bool
        If True, return lisabeta's rescaled PSDs (A, E divided by 2 sin^2 x,
        T by 8 sin^2 x sin^2(x/2), and by 4 sin^2 2x for generation 2); the TDI
        response must then be rescaled identically. Default False: physical PSDs
        of the fractional-frequency TDI variables.
    confusion : str or None
        Galactic confusion fit of :mod:`simfer.sims.detectors` for LISA
        (``"karnesis2021"``, ``"robson2019"`` or ``"default"``), or None
        (default) for instrument noise only.
    t_obs : float or astropy.units.Quantity
        Mission duration that sets the confusion foreground, s (default 4 yr).
        Unused without ``confusion``.
    arm_length : float
        Arm length L, m (default 2.5e9).
    acceleration_asd : float
        Test-mass acceleration noise level, m s^-2 Hz^-1/2 (default 3e-15).
    oms_asd : float
        Optical-metrology noise level, m Hz^-1/2 (default 15e-12).

    Notes
    -----
    With x = 2 pi f L / c and the single-link PSDs of :func:`single_link_psds`,
    the first-generation PSDs are::

        S_A = S_E = 8 sin^2 x [(2 + cos x) S_oms + 2 (3 + 2 cos x + cos 2x) S_acc]
                    + 2 R_A(f) S_c(f)
        S_T = 32 sin^2 x sin^2(x/2) [S_oms + 4 sin^2(x/2) S_acc]

    with ``R_A = (18/5) x^2 sin^2 x / (1 + 0.6 x^2)``; generation 2 multiplies
    all three by 4 sin^2(2x). Arrays are (3, n) in the order ``TDI_CHANNELS``.

    References
    ----------
    Babak S., Hewitson M., Petiteau A., 2021, arXiv:2108.01167, sections on TDI
    noise PSDs (first and second generation).
    Marsat S., Baker J. G., Dal Canton T., 2021, PRD, 103, 083011 (arXiv:2003.00357)
    (A, E, T noise and the rescaling used by lisabeta).
    Robson T., Cornish N. J., Liu C., 2019, CQG, 36, 105011 (arXiv:1803.01944),
    eqs. (1)-(3) (sky-averaged response and normalisation of S_c).
    Karnesis N. et al., 2021, PRD, 104, 043019 (arXiv:2103.14598) (foreground).
    """

    generation: int = 1
    rescaled: bool = False
    confusion: str | None = None
    t_obs: float = 4.0 * YEAR
    arm_length: float = LISA_ARM_LENGTH
    acceleration_asd: float = SCIRD_ACCELERATION_ASD
    oms_asd: float = SCIRD_OMS_ASD

    def __post_init__(self) -> None:
        if isinstance(self.generation, bool) or self.generation not in (1, 2):
            raise ValueError(
                f"generation: expected TDI generation 1 or 2; got {self.generation!r}"
            )
        if not isinstance(self.rescaled, bool):
            raise TypeError(
                f"rescaled: expected a bool; got {type(self.rescaled).__name__}"
            )
        object.__setattr__(self, "generation", int(self.generation))
        object.__setattr__(self, "t_obs", _seconds(self.t_obs, "t_obs"))
        for name, unit in (
            ("arm_length", "m"),
            ("acceleration_asd", "m s^-2 Hz^-1/2"),
            ("oms_asd", "m Hz^-1/2"),
        ):
            object.__setattr__(
                self, name, _positive_float(getattr(self, name), name, unit)
            )
        if self.confusion is not None:
            # Builds (and caches) the detector now, so a bad fit name or an
            # out-of-range duration is reported at construction.
            _ = self._detector

    @functools.cached_property
    def _detector(self) -> Detector:
        return get_detector("LISA", t_obs=self.t_obs, confusion=self.confusion)

    def _x(self, f: np.ndarray) -> np.ndarray:
        return 2.0 * np.pi * f * self.arm_length / SPEED_OF_LIGHT

    def confusion_strain_psd(self, frequencies: Any) -> np.ndarray:
        """Foreground S_c(f) in Robson et al.'s strain normalisation, 1/Hz.

        Parameters
        ----------
        frequencies : float or array_like
            Frequency, Hz (finite, > 0).

        Returns
        -------
        numpy.ndarray
            Zeros without ``confusion``; otherwise
            :meth:`simfer.sims.detectors.Detector.psd_confusion` for ``t_obs``.
        """
        f = _checked_frequencies(frequencies)
        if self.confusion is None:
            return np.zeros_like(f)
        return np.asarray(self._detector.psd_confusion(f), dtype=np.float64)

    def psd(self, frequencies: Any) -> np.ndarray:
        """One-sided PSDs of A, E, T (instrument plus foreground), 1/Hz.

        Parameters
        ----------
        frequencies : float or array_like
            Frequency, Hz (finite, > 0), any shape.

        Returns
        -------
        numpy.ndarray
            Shape ``(3, *frequencies.shape)``, channels in ``TDI_CHANNELS`` order;
            fractional-frequency PSDs, rescaled if ``rescaled``.
        """
        f = _checked_frequencies(frequencies)
        x = self._x(f)
        s_acc, s_oms = _single_link_kernel(f, self.acceleration_asd, self.oms_asd)
        cos_x = np.cos(x)
        sin_half_sq = np.sin(0.5 * x) ** 2

        # Rescaled forms first: finite where sin x = 0 (f = k c / 2L).
        ae = 4.0 * (
            (2.0 + cos_x) * s_oms + 2.0 * (3.0 + 2.0 * cos_x + np.cos(2.0 * x)) * s_acc
        )
        t = 4.0 * (s_oms + 4.0 * sin_half_sq * s_acc)
        if self.confusion is not None:
            # 2 R_A S_c divided by the A rescaling 2 sin^2 x.
            ae = ae + 3.6 * x**2 / (1.0 + 0.6 * x**2) * self.confusion_strain_psd(f)

        if not self.rescaled:
            sin_x_sq = np.sin(x) ** 2
            ae = 2.0 * sin_x_sq * ae
            t = 8.0 * sin_x_sq * sin_half_sq * t
            if self.generation == 2:
                tdi2 = 4.0 * np.sin(2.0 * x) ** 2
                ae = tdi2 * ae
                t = tdi2 * t
        return np.stack([ae, ae, t])

    def noise_realisation(self, frequencies: Any, rng: Any) -> np.ndarray:
        """Coloured Gaussian A, E, T noise on a uniform frequency grid.

        Parameters
        ----------
        frequencies : array_like
            Uniform grid f_k = f_0 + k df, Hz (> 0, at least 2 points), usually
            k / T from :func:`frequency_grid`; df = 1/T sets the normalisation.
        rng : numpy.random.Generator or int
            Random generator, or a seed for ``numpy.random.default_rng``.

        Returns
        -------
        numpy.ndarray
            Complex, shape (3, n), with ``<|n|^2> = S T / 2`` (one-sided),
            in 1/Hz (Fourier transform of a dimensionless series).
        """
        f = _checked_frequencies(frequencies)
        if f.ndim != 1 or f.size < 2:
            raise ValueError(
                "frequencies: expected a 1-D uniform grid of at least 2 points; "
                f"got shape {f.shape}"
            )
        steps = np.diff(f)
        df = float(steps.mean())
        if not np.allclose(steps, df, rtol=1e-9, atol=0.0) or df <= 0.0:
            raise ValueError(
                "frequencies: expected an increasing uniform grid (spacing df = 1/T)"
            )
        return gaussian_noise_fd(self.psd(f), df, rng)


def frequency_grid(duration: Any, f_min: float, f_max: float) -> np.ndarray:
    """Data grid f_k = k / T inside [f_min, f_max], k >= 1.

    Parameters
    ----------
    duration : float or astropy.units.Quantity
        Data span T, s; the grid spacing is df = 1/T.
    f_min, f_max : float
        Band limits, Hz, 0 <= f_min < f_max < inf.

    Returns
    -------
    numpy.ndarray
        The frequencies, Hz (never 0).
    """
    t = _seconds(duration, "duration")
    if not (0.0 <= f_min < f_max and math.isfinite(f_max)):
        raise ValueError(
            f"f_min, f_max: expected 0 <= f_min < f_max < inf Hz; got {f_min}, {f_max}"
        )
    k_lo = max(1, math.ceil(f_min * t - 1e-9))
    k_hi = math.floor(f_max * t + 1e-9)
    if k_hi < k_lo:
        raise ValueError(
            f"f_min, f_max: no multiple of 1/T = {1.0 / t:.6g} Hz in [{f_min}, {f_max}]"
        )
    return np.arange(k_lo, k_hi + 1, dtype=np.float64) / t


def gaussian_noise_fd(psd: Any, df: float, rng: Any) -> np.ndarray:
    """Complex Gaussian noise with one-sided PSD ``psd`` on a grid of spacing df.

    Real and imaginary parts are independent with variance ``psd / (4 df)``, so
    ``<|n|^2> = psd T / 2`` with T = 1/df.

    Parameters
    ----------
    psd : array_like
        One-sided PSD at each frequency, any shape, finite and >= 0.
    df : float
        Frequency spacing 1/T, Hz (> 0).
    rng : numpy.random.Generator or int
        Random generator, or a seed for ``numpy.random.default_rng``.

    Returns
    -------
    numpy.ndarray
        Complex array of the shape of ``psd``.
    """
    s = np.asarray(psd, dtype=np.float64)
    if not np.all(np.isfinite(s)) or np.any(s < 0.0):
        raise ValueError("psd: expected finite values >= 0")
    df = _positive_float(df, "df", "Hz")
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        rng = np.random.default_rng(int(rng))
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            "rng: expected a numpy.random.Generator or an integer seed; "
            f"got {type(rng).__name__}"
        )
    sigma = np.sqrt(s / (4.0 * df))
    draws = rng.standard_normal((2, *s.shape))
    return sigma * (draws[0] + 1j * draws[1])


def noise_weighted_inner_product(a: Any, b: Any, psd: Any, df: float) -> Any:
    """Noise-weighted inner product (a|b) = 4 Re sum_k a_k b_k^* / S_k df.

    The sum runs over the last axis (frequency); leading axes (e.g. channels)
    are kept. Written with array methods only, so it takes NumPy or JAX arrays
    and can be traced by ``jax.jit``; no input checks.

    Parameters
    ----------
    a, b : array
        Frequency-domain series on the same grid, same units (e.g. 1/Hz).
    psd : array
        One-sided noise PSD on that grid, > 0, units of |a|^2 / s.
    df : float
        Grid spacing, Hz.

    Returns
    -------
    array
        Dimensionless; shape of ``a`` without its last axis.

    References
    ----------
    Cutler C., Flanagan E. E., 1994, PRD, 49, 2658, eq. (2.4) (one-sided form).
    """
    return 4.0 * df * ((a * b.conj()).real / psd).sum(axis=-1)


def snr(signal: Any, psd: Any, df: float) -> Any:
    """Optimal SNR sqrt(sum over channels of (h|h)).

    Parameters
    ----------
    signal : array
        Frequency-domain signal, shape (n_channels, n) or (n,).
    psd : array
        One-sided noise PSDs of the same shape (channels assumed independent,
        as A, E, T are for equal arms).
    df : float
        Grid spacing, Hz.

    Returns
    -------
    array
        Scalar SNR (NumPy or JAX, like the inputs).
    """
    return noise_weighted_inner_product(signal, signal, psd, df).sum() ** 0.5
