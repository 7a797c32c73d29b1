"""Noise models of the space-borne detectors LISA and TianQin.

Every curve here is the sky- and polarisation-averaged *effective* strain
sensitivity :math:`S_n(f)` in 1/Hz in the normalisation of Robson, Cornish & Liu
(2019), eq. (1): the 10/3 factor (the inverse of the low-frequency sky- and
polarisation-averaged response 3/10 of the two independent interferometer
channels of a triangular constellation) and the transfer-function roll-off
:math:`1 + 0.6 (f/f_*)^2` are included, so one signal-to-noise formula serves both
detectors (see :mod:`simfer.inference.snr`). For TianQin this means eq. (13) of
Huang et al. (2020) times 10/3, as in LEGWORK's ``tianqin_psd``.

The galactic confusion noise of unresolved double white dwarfs is added to the
instrument noise on the same footing, as Robson et al. do with their eq. (14). The
Karnesis et al. (2021) and Huang et al. (2020) fits are in that same normalisation:
between 0.5 and 1.5 mHz, below LISA's knee where neither detector resolves many
binaries and the foreground is the whole Galaxy's, they agree with each other and
with Robson's to within 40%, which a missing or extra factor 10/3 would break.

Each fit was calibrated for a range of mission durations; a :class:`Detector`
outside that range is still built but a :class:`ConfusionFitRangeWarning` says so
(the fits are smooth, so the extrapolation is usable but not calibrated). The
tabulated fits (Robson et al. 2019, Huang et al. 2020) use the tabulated duration
nearest to the mission duration, as LEGWORK does. The 1-yr Huang et al. column
rises unphysically below ~0.2 mHz (to ~1e-19 /Hz at 0.1 mHz); it is kept as
published and a warning is issued when it is selected.

Differences from LEGWORK 1.0 (documented in the tests): LEGWORK's LISA curve
writes the acceleration term as 2 (1 + cos^2(f/f*)) P_acc (Robson et al. eq. 12)
where eq. (1) used here has 4 P_acc, so S_n differs by < 0.4% below 10 mHz and
~1% at 0.03-0.1 Hz; LEGWORK's default tabulated LISA response (approximate_R=False)
gives S_n lower than the analytic one by 0.07% at 1 mHz, 0.6% at 3 mHz, 5.8% at
10 mHz, 2.0% at 30 mHz and 24% at 0.1 Hz.

The arrays are computed with :mod:`jax.numpy` in float64; a :class:`Detector` is a
frozen, hashable dataclass, so it can be a static argument of a jitted function.
"""

from __future__ import annotations

import logging
import math
import numbers
import warnings
from dataclasses import dataclass
from typing import Any

import astropy.units as u
import jax
import jax.numpy as jnp
import numpy as np
from astropy.table import QTable

from simfer import SimferWarning

jax.config.update("jax_enable_x64", True)

logger = logging.getLogger(__name__)

__all__ = [
    "CONFUSION_MODELS",
    "DETECTOR_NAMES",
    "OBSERVING_SCHEMES",
    "ConfusionFitRangeWarning",
    "Detector",
    "UnknownDetectorError",
    "get_detector",
]

#: Speed of light in vacuum, m/s (exact).
SPEED_OF_LIGHT = 299_792_458.0
#: Julian year in s (the astropy ``u.yr``), the unit of every confusion-fit table.
YEAR = 365.25 * 86_400.0

#: Detectors known to :func:`get_detector`, in their canonical spelling.
DETECTOR_NAMES: tuple[str, ...] = ("LISA", "TianQin")

#: Galactic confusion-noise fits valid for each detector; the first is the default.
CONFUSION_MODELS: dict[str, tuple[str, ...]] = {
    "LISA": ("karnesis2021", "robson2019"),
    "TianQin": ("huang2020",),
}

#: Observing schemes and the fraction of the mission spent taking science data.
OBSERVING_SCHEMES: dict[str, float] = {
    "continuous": 1.0,
    "three_months_on_off": 0.5,
}

_DEFAULTS: dict[str, dict[str, Any]] = {
    "LISA": {
        "arm_length": 2.5e9,
        "t_obs": 4.0 * YEAR,
        "observing_scheme": "continuous",
    },
    "TianQin": {
        "arm_length": math.sqrt(3.0) * 1.0e8,
        "t_obs": 5.0 * YEAR,
        "observing_scheme": "three_months_on_off",
    },
}

# Robson, Cornish & Liu (2019), Table 1: S_c = A f^(-7/3) exp(-f^alpha + beta f
# sin(kappa f)) [1 + tanh(gamma (f_k - f))], tabulated for four mission durations.
_ROBSON2019_AMPLITUDE = 9.0e-45
_ROBSON2019_TABLE: dict[float, tuple[float, float, float, float, float]] = {
    # t_obs [yr]: (alpha, beta [1/Hz], kappa [1/Hz], gamma [1/Hz], f_k [Hz])
    0.5: (0.133, 243.0, 482.0, 917.0, 2.58e-3),
    1.0: (0.171, 292.0, 1020.0, 1680.0, 2.15e-3),
    2.0: (0.165, 299.0, 611.0, 1340.0, 1.73e-3),
    4.0: (0.138, -221.0, 521.0, 1680.0, 1.13e-3),
}

# Karnesis et al. (2021), Table II, 6 links, SNR threshold 7, running median:
# S_c = (A/2) f^(-7/3) exp(-(f/f_1)^alpha) [1 + tanh((f_knee - f)/f_2)] with
# f_1 = 10^b_1 (T/yr)^a_1 and f_knee = 10^b_k (T/yr)^a_k.
_KARNESIS2021 = {
    "amplitude": 1.15e-44,
    "alpha": 1.56,
    "f_2": 6.7e-4,
    "a_1": -0.15,
    "b_1": -2.72,
    "a_k": -0.37,
    "b_k": -2.49,
}
_KARNESIS2021_RANGE_YR = (0.25, 10.0)

# Huang et al. (2020), Table II: sqrt(S_c) = 10^(sum_i a_i x^i) Hz^(-1/2) with
# x = log10(f / 1 mHz), fitted on 0.1 mHz <= f <= 1 Hz, for five mission durations.
_HUANG2020_TABLE: dict[float, tuple[float, ...]] = {
    # t_obs [yr]: (a_0, ..., a_6)
    0.5: (-18.6, -1.22, 0.009, -1.87, 0.65, 3.6, -4.6),
    1.0: (-18.6, -1.13, -0.945, -1.02, 4.05, -4.5, -0.5),
    2.0: (-18.6, -1.45, 0.315, -1.19, -4.48, 10.8, -9.4),
    4.0: (-18.6, -1.43, -0.687, 0.24, -0.15, -1.8, -3.2),
    5.0: (-18.6, -1.51, -0.71, -1.13, -0.83, 13.2, -19.1),
}
_HUANG2020_BAND_HZ = (1.0e-4, 1.0)


class UnknownDetectorError(ValueError):
    """Raised for a detector name that :func:`get_detector` does not know."""


class ConfusionFitRangeWarning(SimferWarning):
    """A confusion-noise fit is used outside the mission durations it was fitted for."""


def _as_float_array(f: Any) -> jax.Array:
    return jnp.asarray(f, dtype=jnp.float64)


def _lisa_instrument(f: jax.Array, arm_length: float) -> jax.Array:
    """LISA instrument noise, Robson et al. (2019) eqs. (1)-(3), in 1/Hz."""
    f_star = SPEED_OF_LIGHT / (2.0 * math.pi * arm_length)
    p_oms = (1.5e-11) ** 2 * (1.0 + (2.0e-3 / f) ** 4)
    p_acc = (3.0e-15) ** 2 * (1.0 + (0.4e-3 / f) ** 2) * (1.0 + (f / 8.0e-3) ** 4)
    return (
        10.0
        / (3.0 * arm_length**2)
        * (p_oms + 4.0 * p_acc / (2.0 * math.pi * f) ** 4)
        * (1.0 + 0.6 * (f / f_star) ** 2)
    )


def _tianqin_instrument(f: jax.Array, arm_length: float) -> jax.Array:
    """TianQin instrument noise, Huang et al. (2020) eq. (13) times 10/3, in 1/Hz."""
    f_star = SPEED_OF_LIGHT / (2.0 * math.pi * arm_length)
    s_a = 1.0e-30  # acceleration noise, m^2 s^-4 Hz^-1
    s_x = 1.0e-24  # displacement noise, m^2 Hz^-1
    return (
        10.0
        / (3.0 * arm_length**2)
        * (4.0 * s_a / (2.0 * math.pi * f) ** 4 * (1.0 + 1.0e-4 / f) + s_x)
        * (1.0 + 0.6 * (f / f_star) ** 2)
    )


_INSTRUMENTS = {"LISA": _lisa_instrument, "TianQin": _tianqin_instrument}


def _nearest_tabulated(table: dict[float, Any], t_obs_yr: float) -> float:
    """Tabulated duration closest to ``t_obs_yr`` (same rule as LEGWORK)."""
    return min(table, key=lambda t: abs(t - t_obs_yr))


def _one_plus_tanh(y: jax.Array) -> jax.Array:
    """1 + tanh(y) = 2 / (1 + exp(-2 y)), without the cancellation at y << 0.

    Above the knee the fits' cut-off factor is ~1e-13 or smaller; written as
    1 + tanh(y) it would keep only a few significant digits in float64.
    """
    return 2.0 / (1.0 + jnp.exp(-2.0 * y))


# The fits below take ln f as well as f: non-integer powers are written as
# exp(p ln f), which XLA evaluates several times faster than a general power.


def _confusion_robson2019(f: jax.Array, ln_f: jax.Array, t_obs_yr: float) -> jax.Array:
    alpha, beta, kappa, gamma, f_k = _ROBSON2019_TABLE[
        _nearest_tabulated(_ROBSON2019_TABLE, t_obs_yr)
    ]
    exponent = (
        math.log(_ROBSON2019_AMPLITUDE)
        - 7.0 / 3.0 * ln_f
        - jnp.exp(alpha * ln_f)
        + beta * f * jnp.sin(kappa * f)
    )
    return jnp.exp(exponent) * _one_plus_tanh(gamma * (f_k - f))


def _confusion_karnesis2021(
    f: jax.Array, ln_f: jax.Array, t_obs_yr: float
) -> jax.Array:
    k = _KARNESIS2021
    f_1 = 10.0 ** k["b_1"] * t_obs_yr ** k["a_1"]
    f_knee = 10.0 ** k["b_k"] * t_obs_yr ** k["a_k"]
    exponent = (
        math.log(0.5 * k["amplitude"])
        - 7.0 / 3.0 * ln_f
        - jnp.exp(k["alpha"] * (ln_f - math.log(f_1)))
    )
    return jnp.exp(exponent) * _one_plus_tanh((f_knee - f) / k["f_2"])


def _confusion_huang2020(f: jax.Array, ln_f: jax.Array, t_obs_yr: float) -> jax.Array:
    coefficients = _HUANG2020_TABLE[_nearest_tabulated(_HUANG2020_TABLE, t_obs_yr)]
    f_lo, f_hi = _HUANG2020_BAND_HZ

    # Evaluate the polynomial only where it was fitted: outside the band a
    # degree-6 polynomial is meaningless, and Huang et al. set no foreground there.
    x = (jnp.clip(ln_f, math.log(f_lo), math.log(f_hi)) - math.log(1.0e-3)) / math.log(
        10.0
    )
    log10_asd = jnp.polyval(jnp.asarray(coefficients[::-1]), x)
    inside = (f >= f_lo) & (f <= f_hi)
    return jnp.where(inside, jnp.exp(2.0 * math.log(10.0) * log10_asd), 0.0)


_CONFUSION = {
    "robson2019": _confusion_robson2019,
    "karnesis2021": _confusion_karnesis2021,
    "huang2020": _confusion_huang2020,
}

_CONFUSION_RANGE_YR = {
    "robson2019": (min(_ROBSON2019_TABLE), max(_ROBSON2019_TABLE)),
    "karnesis2021": _KARNESIS2021_RANGE_YR,
    "huang2020": (min(_HUANG2020_TABLE), max(_HUANG2020_TABLE)),
}


@dataclass(frozen=True)
class Detector:
    """A space-borne detector with its instrument and galactic confusion noise.

    Build one with :func:`get_detector`; the constructor validates its fields.

    Parameters
    ----------
    name : str
        ``"LISA"`` or ``"TianQin"`` (canonical spelling, see ``DETECTOR_NAMES``).
    arm_length : float
        Arm length L, m; sets the transfer frequency f* = c / (2 pi L).
    t_obs : float
        Mission duration, s. Selects the confusion-noise fit parameters.
    confusion : str or None
        Galactic confusion-noise fit: ``"karnesis2021"`` or ``"robson2019"`` for
        LISA, ``"huang2020"`` for TianQin, or None for instrument noise only.
    duty_cycle : float
        Fraction of the mission spent taking science data, in (0, 1]. It scales
        the time on source in the SNR, not the confusion-fit duration.

    Notes
    -----
    ``psd_*`` methods take frequencies in Hz as a Python float, NumPy or JAX array
    and return a float64 JAX array in 1/Hz. They are written in ``jax.numpy`` and
    can be traced inside ``jax.jit`` with the detector as a static argument.

    References
    ----------
    Robson T., Cornish N. J., Liu C., 2019, CQG, 36, 105011 (arXiv:1803.01944),
    eqs. (1)-(3) and (14), Table 1.
    Karnesis N. et al., 2021, PRD, 104, 043019 (arXiv:2103.14598), eqs. (6)-(7),
    Table II (6 links, SNR threshold 7, running median).
    Luo J. et al., 2016, CQG, 33, 035010 (TianQin noise budget).
    Huang S.-J. et al., 2020, PRD, 102, 063021 (arXiv:2005.07889), eq. (13) and
    Table II (TianQin sensitivity and galactic foreground).
    """

    name: str
    arm_length: float
    t_obs: float
    confusion: str | None
    duty_cycle: float = 1.0

    def __post_init__(self) -> None:
        if self.name not in DETECTOR_NAMES:
            raise UnknownDetectorError(
                f"name: expected one of {', '.join(DETECTOR_NAMES)}; got {self.name!r}"
            )
        for field_name in ("arm_length", "t_obs", "duty_cycle"):
            value = getattr(self, field_name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(
                    f"{field_name}: expected a real number (SI units); "
                    f"got {type(value).__name__}"
                )
            object.__setattr__(self, field_name, float(value))

        if not (math.isfinite(self.arm_length) and self.arm_length > 0):
            raise ValueError(
                f"arm_length: expected a finite length > 0 m; got {self.arm_length}"
            )
        if not (math.isfinite(self.t_obs) and self.t_obs > 0):
            raise ValueError(
                f"t_obs: expected a finite duration > 0 s; got {self.t_obs}"
            )
        if not (0.0 < self.duty_cycle <= 1.0):
            raise ValueError(
                f"duty_cycle: expected a fraction in (0, 1]; got {self.duty_cycle}"
            )

        known = CONFUSION_MODELS[self.name]
        if self.confusion is not None and self.confusion not in known:
            raise ValueError(
                f"confusion: {self.name} supports {', '.join(map(repr, known))} or "
                f"None; got {self.confusion!r}"
            )
        if self.confusion is not None:
            self._check_fit_range()

    def _check_fit_range(self) -> None:
        t_obs_yr = self.t_obs / YEAR
        lo, hi = _CONFUSION_RANGE_YR[self.confusion]
        if not (lo * (1 - 1e-9) <= t_obs_yr <= hi * (1 + 1e-9)):
            warnings.warn(
                f"{self.name}: confusion fit {self.confusion!r} was calibrated for "
                f"mission durations {lo}-{hi} yr; t_obs = {t_obs_yr:.4g} yr is "
                "outside that range, so the foreground there is an extrapolation "
                "(tabulated fits use their nearest duration)",
                ConfusionFitRangeWarning,
                stacklevel=4,
            )
        if self.confusion in ("robson2019", "huang2020"):
            table = (
                _ROBSON2019_TABLE
                if self.confusion == "robson2019"
                else _HUANG2020_TABLE
            )
            nearest = _nearest_tabulated(table, t_obs_yr)
            if self.confusion == "huang2020" and nearest == 1.0:
                warnings.warn(
                    f"{self.name}: the 1-yr huang2020 coefficients make the fitted "
                    "foreground rise unphysically below ~0.2 mHz (to ~1e-19 /Hz at "
                    "0.1 mHz, far above the instrument noise), so SNRs of sources "
                    "below 0.2 mHz are suppressed; the other durations do not do this",
                    ConfusionFitRangeWarning,
                    stacklevel=4,
                )
            if not math.isclose(nearest, t_obs_yr, rel_tol=1e-6):
                logger.info(
                    "%s: %s is tabulated only for %s yr; using the %g-yr "
                    "coefficients for t_obs = %.4g yr",
                    self.name,
                    self.confusion,
                    sorted(table),
                    nearest,
                    t_obs_yr,
                )

    @property
    def f_star(self) -> float:
        """Transfer frequency f* = c / (2 pi L), Hz."""
        return SPEED_OF_LIGHT / (2.0 * math.pi * self.arm_length)

    @property
    def effective_t_obs(self) -> float:
        """Time on source t_obs * duty_cycle, s."""
        return self.t_obs * self.duty_cycle

    def psd_instrument(self, f: Any) -> jax.Array:
        """Instrument noise part of the effective sensitivity S_n(f), 1/Hz.

        Parameters
        ----------
        f : float or array_like
            Gravitational-wave frequency, Hz (> 0).
        """
        return _INSTRUMENTS[self.name](_as_float_array(f), self.arm_length)

    def psd_confusion(self, f: Any) -> jax.Array:
        """Galactic confusion-noise part of S_n(f), 1/Hz (zeros if none).

        Parameters
        ----------
        f : float or array_like
            Gravitational-wave frequency, Hz (> 0).
        """
        f = _as_float_array(f)
        if self.confusion is None:
            return jnp.zeros_like(f)
        return _CONFUSION[self.confusion](f, jnp.log(f), self.t_obs / YEAR)

    def psd(self, f: Any) -> jax.Array:
        """Total effective sensitivity S_n(f) = instrument + confusion, 1/Hz.

        Parameters
        ----------
        f : float or array_like
            Gravitational-wave frequency, Hz (> 0).
        """
        f = _as_float_array(f)
        return self._psd_with_log(f, jnp.log(f))

    def _psd_with_log(self, f: jax.Array, ln_f: jax.Array) -> jax.Array:
        """S_n(f) from f and its precomputed natural log (for fused kernels)."""
        total = _INSTRUMENTS[self.name](f, self.arm_length)
        if self.confusion is not None:
            total = total + _CONFUSION[self.confusion](f, ln_f, self.t_obs / YEAR)
        return total

    def characteristic_strain(self, f: Any) -> jax.Array:
        """Characteristic noise strain sqrt(f S_n(f)), dimensionless.

        Parameters
        ----------
        f : float or array_like
            Gravitational-wave frequency, Hz (> 0).
        """
        f = _as_float_array(f)
        return jnp.sqrt(f * self.psd(f))

    def sensitivity_table(
        self, f_min: float = 1e-5, f_max: float = 1.0, n: int = 1000
    ) -> QTable:
        """Sensitivity on a log-spaced frequency grid.

        Parameters
        ----------
        f_min, f_max : float
            Grid limits, Hz, with 0 < f_min < f_max.
        n : int
            Number of grid points (>= 2).

        Returns
        -------
        astropy.table.QTable
            Columns ``frequency`` (Hz), ``psd_instrument``, ``psd_confusion``,
            ``psd`` (1/Hz), ``asd`` (Hz^-1/2) and ``characteristic_strain``
            (dimensionless); the detector's settings are in ``meta``.
        """
        if not (0 < f_min < f_max and math.isfinite(f_max)):
            raise ValueError(
                f"f_min, f_max: expected 0 < f_min < f_max < inf Hz; "
                f"got {f_min}, {f_max}"
            )
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 2:
            raise ValueError(f"n: expected an integer >= 2; got {n!r}")

        f = np.geomspace(f_min, f_max, int(n))
        instrument = np.asarray(self.psd_instrument(f))
        confusion = np.asarray(self.psd_confusion(f))
        total = instrument + confusion
        table = QTable(
            {
                "frequency": f * u.Hz,
                "psd_instrument": instrument / u.Hz,
                "psd_confusion": confusion / u.Hz,
                "psd": total / u.Hz,
                "asd": np.sqrt(total) * u.Hz**-0.5,
                "characteristic_strain": np.sqrt(f * total) * u.dimensionless_unscaled,
            }
        )
        table.meta.update(
            {
                "detector": self.name,
                "arm_length_m": self.arm_length,
                "t_obs_s": self.t_obs,
                "confusion": self.confusion,
                "duty_cycle": self.duty_cycle,
            }
        )
        return table


def _canonical_name(name: Any) -> str:
    if not isinstance(name, str):
        raise TypeError(f"name: expected a string; got {type(name).__name__}")
    lookup = {known.lower(): known for known in DETECTOR_NAMES}
    try:
        return lookup[name.strip().lower()]
    except KeyError:
        raise UnknownDetectorError(
            f"unknown detector {name!r}; known detectors: {', '.join(DETECTOR_NAMES)}"
        ) from None


def _seconds(t_obs: Any) -> float:
    if isinstance(t_obs, u.Quantity):
        if not t_obs.unit.is_equivalent(u.s) or not t_obs.isscalar:
            raise ValueError(f"t_obs: expected a scalar duration; got {t_obs}")
        return float(t_obs.to_value(u.s))
    if isinstance(t_obs, bool) or not isinstance(t_obs, numbers.Real):
        raise TypeError(
            "t_obs: expected an astropy time Quantity or a number of seconds; "
            f"got {type(t_obs).__name__}"
        )
    return float(t_obs)


def get_detector(
    name: str,
    *,
    t_obs: u.Quantity | float | None = None,
    confusion: str | None = "default",
    observing_scheme: str | None = None,
) -> Detector:
    """Build a :class:`Detector` with the published defaults.

    Parameters
    ----------
    name : str
        ``"LISA"`` or ``"TianQin"``, case-insensitive.
    t_obs : astropy.units.Quantity or float, optional
        Mission duration (time Quantity, or a number of seconds). Default 4 yr for
        LISA, 5 yr for TianQin.
    confusion : str or None, optional
        ``"default"`` (``"karnesis2021"`` for LISA, ``"huang2020"`` for TianQin),
        another fit valid for the detector (``"robson2019"`` for LISA), or None
        for no galactic confusion noise.
    observing_scheme : str or None, optional
        ``"continuous"`` (duty cycle 1) or ``"three_months_on_off"`` (TianQin's
        alternating 3-month observing windows, duty cycle 0.5). None takes the
        detector default: continuous for LISA, three_months_on_off for TianQin.

    Returns
    -------
    Detector

    Raises
    ------
    UnknownDetectorError
        If ``name`` is not a known detector (the message lists the known ones).
    ValueError
        If t_obs is not > 0, or the confusion fit or observing scheme is unknown
        or not valid for the detector.
    """
    canonical = _canonical_name(name)
    defaults = _DEFAULTS[canonical]

    seconds = defaults["t_obs"] if t_obs is None else _seconds(t_obs)

    if confusion == "default":
        confusion = CONFUSION_MODELS[canonical][0]
    elif confusion is not None and not isinstance(confusion, str):
        raise TypeError(
            f"confusion: expected a fit name or None; got {type(confusion).__name__}"
        )
    elif isinstance(confusion, str):
        confusion = confusion.strip().lower()

    scheme = (
        defaults["observing_scheme"] if observing_scheme is None else (observing_scheme)
    )
    if scheme not in OBSERVING_SCHEMES:
        raise ValueError(
            f"observing_scheme: expected one of {', '.join(OBSERVING_SCHEMES)}; "
            f"got {scheme!r}"
        )
    if scheme == "three_months_on_off" and canonical != "TianQin":
        raise ValueError(
            f"observing_scheme: 'three_months_on_off' is TianQin's scheme; "
            f"{canonical} supports 'continuous'"
        )

    return Detector(
        name=canonical,
        arm_length=defaults["arm_length"],
        t_obs=seconds,
        confusion=confusion,
        duty_cycle=OBSERVING_SCHEMES[scheme],
    )
