"""Optical surveys: cadence, depth, photometric errors and detection rules.

A :class:`Survey` is what decides whether an eclipsing binary is found: its bands,
how many epochs a source gets in each and when (:class:`Cadence`: visits in
*groups* at fixed offsets, such as Gaia's two fields of view 106.5 min apart or
Rubin's pair of visits half an hour apart in one night, spread over the baseline,
in seasons and on one night per sidereal day for a ground-based site), the
single-epoch limiting and saturation magnitudes, the footprint, the single-epoch
photometric error (:func:`photometric_error`: :class:`LsstErrorModel` after
Ivezić et al. 2019, :class:`GaiaErrorModel` after the Gaia performance model) and
the detection rule (reference band and limit, minimum number of significant
in-eclipse points). :mod:`simfer.sims.eclipse_detection` samples the epochs and
applies the rule.

:data:`GAIA` and :data:`RUBIN` hold the cited defaults; every number is a field,
so a workflow can override any of them with :func:`dataclasses.replace`. Times
are s, angles rad, magnitudes mag (Gaia G Vega, LSST AB).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

logger = logging.getLogger(__name__)

__all__ = [
    "GAIA",
    "RUBIN",
    "Cadence",
    "GaiaErrorModel",
    "LsstErrorModel",
    "Survey",
    "photometric_error",
]

MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0
JULIAN_YEAR = 365.25 * DAY
#: Mean sidereal day, s: a ground-based site sees a source at the same hour
#: angle once per sidereal day.
SIDEREAL_DAY = 86164.0905
# Epochs per source a survey may have: the detection kernels hold a few
# (sources x epochs) buffers, ~30 bytes per epoch per source in a chunk.
_MAX_EPOCHS = 20_000


@dataclass(frozen=True)
class Cadence:
    """When a survey observes one source: groups of visits within seasons.

    Attributes
    ----------
    n_groups : int
        Number of visit groups per source over the baseline.
    group_offsets : tuple of float
        Times of the visits of a group after its first visit, s (first entry
        normally 0). The number of epochs is ``n_groups * len(group_offsets)``.
    season_length : float
        Part of each ``season_period`` in which the source is observable, s; a
        value ``>= season_period`` means no seasonal gaps (space-based).
    season_period : float
        Period of the observing seasons, s (a Julian year).
    day_length : float
        If > 0, groups fall once per ``day_length`` (a sidereal day for a
        ground-based site: the source returns to the same hour angle), s; 0 for
        continuous sampling (space-based).
    night_window : float
        Width of the window of time of night (hour angle) within which a
        ground-based group falls, uniformly, s; used only when ``day_length > 0``.
    """

    n_groups: int
    group_offsets: tuple[float, ...]
    season_length: float
    season_period: float = JULIAN_YEAR
    day_length: float = 0.0
    night_window: float = 0.0

    def __post_init__(self) -> None:
        if int(self.n_groups) != self.n_groups or self.n_groups < 1:
            raise ValueError(f"n_groups: expected an integer >= 1, got {self.n_groups}")
        offsets = np.asarray(self.group_offsets, dtype=float)
        if offsets.ndim != 1 or offsets.size == 0:
            raise ValueError("group_offsets: expected a non-empty sequence of s")
        if not np.all(np.isfinite(offsets)) or np.any(offsets < 0):
            raise ValueError("group_offsets: expected finite offsets >= 0 s")
        for name in ("season_length", "season_period"):
            value = getattr(self, name)
            if not np.isfinite(value) or value <= 0:
                raise ValueError(f"{name}: expected > 0 s, got {value}")
        if not np.isfinite(self.day_length) or self.day_length < 0:
            raise ValueError(f"day_length: expected >= 0 s, got {self.day_length}")
        if not np.isfinite(self.night_window) or self.night_window < 0:
            raise ValueError(f"night_window: expected >= 0 s, got {self.night_window}")
        if self.day_length > 0 and self.night_window > self.day_length:
            raise ValueError("night_window: expected no longer than day_length")

    @property
    def n_epochs(self) -> int:
        """Epochs per source, ``n_groups * len(group_offsets)``."""
        return int(self.n_groups) * len(self.group_offsets)

    @property
    def seasonal(self) -> bool:
        """Whether the source is observable only part of each season period."""
        return self.season_length < self.season_period


@dataclass(frozen=True)
class LsstErrorModel:
    """Single-visit LSST photometric error (Ivezić et al. 2019, eqs. 4-5).

    ``sigma^2 = sigma_sys^2 + (0.04 - gamma) x + gamma x^2`` with
    ``x = 10^(0.4 (m - m5))`` and ``m5`` the band's single-visit 5-sigma depth
    (:attr:`Survey.limiting_magnitude`), so ``sigma_rand(m5) = 0.2`` mag.

    Attributes
    ----------
    gamma : tuple of float
        Per band, the sky-and-readout-noise parameter (dimensionless).
    sigma_sys : float
        Systematic floor, mag.

    References
    ----------
    Ivezić, Ž. et al. 2019, ApJ, 873, 111, eqs. (4)-(5) (sigma_sys = 0.005
    mag) and Table 2 (gamma 0.038 in u, 0.039 in grizy).
    """

    gamma: tuple[float, ...]
    sigma_sys: float = 0.005

    def __post_init__(self) -> None:
        gamma = np.asarray(self.gamma, dtype=float)
        # sigma_rand^2 = (0.04 - gamma) x + gamma x^2 needs 0 <= gamma <= 0.04
        if gamma.ndim != 1 or np.any(~np.isfinite(gamma)) or np.any(gamma < 0):
            raise ValueError("gamma: expected finite per-band values in [0, 0.04]")
        if np.any(gamma > 0.04):
            raise ValueError("gamma: expected finite per-band values in [0, 0.04]")
        if not np.isfinite(self.sigma_sys) or self.sigma_sys < 0:
            raise ValueError(f"sigma_sys: expected >= 0 mag, got {self.sigma_sys}")


@dataclass(frozen=True)
class GaiaErrorModel:
    """Gaia G-band photometric error of one field-of-view transit.

    ``sigma = margin 1e-3 sqrt(c0 z^2 + c1 z + c2)`` mag with
    ``z = 10^(0.4 (max(G, bright_floor) - 15))``, plus ``sigma_sys`` in
    quadrature. One field-of-view transit combines the G measurements of the
    (about nine) astrometric-field CCDs the source crosses; it is the epoch of
    Gaia's published G light curves, on which its eclipsing-binary pipelines run.

    Attributes
    ----------
    coefficients : tuple of float
        ``(c0, c1, c2)`` of the formula (dimensionless).
    margin : float
        Science margin multiplying the predicted error (dimensionless).
    bright_floor : float
        G below which the error no longer improves (gating), mag.
    sigma_sys : float
        Calibration floor per transit, mag: 3 mmag per CCD over the ~8.9 CCDs
        of a transit.

    References
    ----------
    Gaia Collaboration, Prusti, T. et al. 2016, A&A, 595, A1 (science
    performance, with its 20% science margin) and the ESA "Gaia science performance"
    pages (per-transit G formula, as implemented in PyGaia's
    ``g_magnitude_uncertainty``); Jordi, C. et al. 2010, A&A, 523, A48 (the
    underlying photometric error model).
    """

    coefficients: tuple[float, float, float] = (0.04895, 1.8633, 0.0001985)
    margin: float = 1.2
    bright_floor: float = 12.0
    sigma_sys: float = float(3.0e-3 / np.sqrt(62.0 / 7.0))

    def __post_init__(self) -> None:
        c = np.asarray(self.coefficients, dtype=float)
        if c.shape != (3,) or np.any(~np.isfinite(c)) or np.any(c < 0):
            raise ValueError("coefficients: expected three finite values >= 0")
        if not np.isfinite(self.margin) or self.margin <= 0:
            raise ValueError(f"margin: expected > 0, got {self.margin}")
        if not np.isfinite(self.bright_floor):
            raise ValueError("bright_floor: expected a finite magnitude")
        if not np.isfinite(self.sigma_sys) or self.sigma_sys < 0:
            raise ValueError(f"sigma_sys: expected >= 0 mag, got {self.sigma_sys}")


@dataclass(frozen=True)
class Survey:
    """A photometric survey: bands, cadence, depth, errors and detection rule.

    Attributes
    ----------
    name : str
        Short name (``"gaia"``, ``"rubin"``).
    bands : tuple of str
        Band names, in the order of every per-band field and of the magnitude
        columns given to :func:`detect_eclipses`.
    baseline : float
        Survey duration, s. For a seasonal cadence, a whole number of
        ``cadence.season_period``.
    band_visits : tuple of int
        Epochs per source in each band over the baseline; they sum to
        ``cadence.n_epochs``.
    limiting_magnitude : tuple of float
        Per band, the faintest magnitude of a usable single-epoch measurement
        (mag): the single-visit 5-sigma depth for Rubin, the on-board detection
        limit for Gaia.
    saturation_magnitude : tuple of float
        Per band, the brightest unsaturated magnitude, mag.
    reference_band : str
        Band in which the out-of-eclipse magnitude must pass ``detection_limit``.
    detection_limit : float
        Faintest out-of-eclipse magnitude in ``reference_band`` for a
        detection, mag.
    declination_range : tuple of float
        Footprint as ``(dec_min, dec_max)``, rad.
    cadence : Cadence
        Epoch-sampling model.
    errors : LsstErrorModel or GaiaErrorModel
        Single-epoch photometric error model.
    min_eclipse_points : int
        Usable in-eclipse points needed for a detection (3).
    require_both_eclipses : bool
        If True, ``min_eclipse_points`` are needed in the primary *and* in the
        secondary eclipse (Gaia DR3's light-curve solver); if False (default),
        in both eclipses together.
    n_sigma : float
        An in-eclipse point is usable when its depth exceeds ``n_sigma`` times
        its photometric error (3): a 3-sigma excess has a one-sided Gaussian
        false-alarm probability of 1.3e-3 per epoch, so among Rubin's ~800 (or
        Gaia's 70) epochs noise alone gives about one (0.1) such point, well
        short of three.
    """

    name: str
    bands: tuple[str, ...]
    baseline: float
    band_visits: tuple[int, ...]
    limiting_magnitude: tuple[float, ...]
    saturation_magnitude: tuple[float, ...]
    reference_band: str
    detection_limit: float
    declination_range: tuple[float, float]
    cadence: Cadence
    errors: LsstErrorModel | GaiaErrorModel
    min_eclipse_points: int = 3
    require_both_eclipses: bool = False
    n_sigma: float = 3.0

    def __post_init__(self) -> None:
        n_bands = len(self.bands)
        if n_bands == 0 or len(set(self.bands)) != n_bands:
            raise ValueError(f"bands: expected distinct band names, got {self.bands}")
        for name in ("band_visits", "limiting_magnitude", "saturation_magnitude"):
            if len(getattr(self, name)) != n_bands:
                raise ValueError(f"{name}: expected one value per band ({n_bands})")
        if not isinstance(self.errors, LsstErrorModel | GaiaErrorModel):
            raise TypeError("errors: expected an LsstErrorModel or a GaiaErrorModel")
        if (
            isinstance(self.errors, LsstErrorModel)
            and len(self.errors.gamma) != n_bands
        ):
            raise ValueError(f"errors.gamma: expected one value per band ({n_bands})")
        visits = np.asarray(self.band_visits)
        if np.any(visits < 0) or np.any(visits != np.round(visits)):
            raise ValueError("band_visits: expected integers >= 0")
        if int(visits.sum()) != self.cadence.n_epochs:
            raise ValueError(
                f"band_visits: expected to sum to cadence.n_epochs = "
                f"{self.cadence.n_epochs}, got {int(visits.sum())}"
            )
        if not np.isfinite(self.baseline) or self.baseline <= 0:
            raise ValueError(f"baseline: expected > 0 s, got {self.baseline}")
        if self.cadence.seasonal:
            n_seasons = self.baseline / self.cadence.season_period
            if abs(n_seasons - round(n_seasons)) > 1e-9 or round(n_seasons) < 1:
                raise ValueError(
                    "baseline: expected a whole number of cadence.season_period"
                )
        if self.reference_band not in self.bands:
            raise ValueError(
                f"reference_band: expected one of {self.bands}, got "
                f"{self.reference_band!r}"
            )
        limits = np.asarray(self.limiting_magnitude, dtype=float)
        saturation = np.asarray(self.saturation_magnitude, dtype=float)
        if np.any(~np.isfinite(limits)) or np.any(~np.isfinite(saturation)):
            raise ValueError(
                "limiting_magnitude, saturation_magnitude: expected finite"
            )
        if np.any(saturation >= limits):
            raise ValueError("saturation_magnitude: expected brighter than the limit")
        if not isinstance(self.detection_limit, int | float) or not np.isfinite(
            self.detection_limit
        ):
            raise ValueError("detection_limit: expected a finite magnitude")
        reference = self.bands.index(self.reference_band)
        if self.detection_limit <= self.saturation_magnitude[reference]:
            raise ValueError(
                f"detection_limit: {self.detection_limit} is brighter than the "
                f"{self.reference_band} saturation magnitude "
                f"{self.saturation_magnitude[reference]}: nothing could be detected"
            )
        if self.band_visits[reference] == 0:
            raise ValueError(
                f"band_visits: the reference band {self.reference_band} needs visits"
            )
        if self.cadence.n_epochs > _MAX_EPOCHS:
            raise ValueError(
                f"band_visits: {self.cadence.n_epochs} epochs per source; at most "
                f"{_MAX_EPOCHS} are supported"
            )
        if not isinstance(self.require_both_eclipses, bool | np.bool_):
            raise TypeError("require_both_eclipses: expected True or False")
        dec_min, dec_max = self.declination_range
        if not -np.pi / 2 <= dec_min < dec_max <= np.pi / 2:
            raise ValueError(
                "declination_range: expected -pi/2 <= dec_min < dec_max <= pi/2 rad"
            )
        if int(self.min_eclipse_points) != self.min_eclipse_points or (
            self.min_eclipse_points < 1
        ):
            raise ValueError("min_eclipse_points: expected an integer >= 1")
        if self.min_eclipse_points > self.cadence.n_epochs:
            raise ValueError(
                f"min_eclipse_points: {self.min_eclipse_points} is more than the "
                f"{self.cadence.n_epochs} epochs per source"
            )
        if not np.isfinite(self.n_sigma) or self.n_sigma < 0:
            raise ValueError(f"n_sigma: expected >= 0, got {self.n_sigma}")

    @property
    def n_epochs(self) -> int:
        """Epochs per source over the baseline."""
        return self.cadence.n_epochs

    def band_index(self, band: str) -> int:
        """Position of ``band`` in :attr:`bands`; ValueError if unknown."""
        if band not in self.bands:
            raise ValueError(f"band: expected one of {self.bands}, got {band!r}")
        return self.bands.index(band)


#: Gaia, nominal five-year mission, G-band field-of-view transits.
#:
#: - 70 field-of-view transits per source on average over the nominal five
#:   years (Gaia EDR3 documentation sect. 1.1.4; Prusti et al. 2016), as 35
#:   groups of a preceding- and a following-field-of-view transit 106.5 min
#:   apart (basic angle 106.5 deg at a 6 h spin period). The 63-day precession
#:   moves the scan circle by about 1 deg per spin, more than the 0.7 deg
#:   across-scan field, so a passage usually yields one such pair; groups are
#:   uniform over the mission (the real scanning law revisits a source every
#:   few weeks, more often near ecliptic latitude 45 deg, 30-240 transits).
#: - All sky; detection limit G <= 20 (as Jin et al. 2025),
#:   single-transit limit G = 20.7 (on-board detection), saturation G = 3.
#: - Per-transit G error: :class:`GaiaErrorModel`.
GAIA = Survey(
    name="gaia",
    bands=("G",),
    baseline=5.0 * JULIAN_YEAR,
    band_visits=(70,),
    limiting_magnitude=(20.7,),
    saturation_magnitude=(3.0,),
    reference_band="G",
    detection_limit=20.0,
    declination_range=(-np.pi / 2, np.pi / 2),
    cadence=Cadence(
        n_groups=35,
        group_offsets=(0.0, 106.5 * MINUTE),
        season_length=JULIAN_YEAR,
    ),
    errors=GaiaErrorModel(),
)

#: Rubin Observatory LSST, ten-year wide-fast-deep survey.
#:
#: - Visits per band over ten years u 56, g 80, r 184, i 184, z 160, y 160 (824;
#:   Ivezić et al. 2019, Table 1), as 412 pairs of visits 30 min apart in one
#:   night (two visits per field per night, Ivezić et al. 2019; the 30 min
#:   spacing is a setting).
#: - Single-visit 5-sigma depths u 23.9, g 25.0, r 24.7, i 24.0, z 23.3,
#:   y 22.1 (Ivezić et al. 2019, Table 1, design specification); detection limit
#:   r <= 24 (as Jin et al. 2025); saturation at about 16 mag
#:   (Ivezić et al. 2019) in every band.
#: - Footprint approximated by the declination band -62 deg to +2 deg (18,900
#:   deg^2, close to the >= 18,000 deg^2 main survey of the LSST Science
#:   Requirements Document); the reduced-cadence Galactic plane, north ecliptic
#:   spur and deep-drilling fields are not modelled.
#: - Seasons of 7 months (210 d) a year; each night's visits fall within a 6 h
#:   window of hour angle (about airmass <= 1.5) at a sidereal-day cadence.
#: - Errors: :class:`LsstErrorModel` with gamma 0.038 (u), 0.039 (grizy) and a
#:   0.005 mag floor.
RUBIN = Survey(
    name="rubin",
    bands=("u", "g", "r", "i", "z", "y"),
    baseline=10.0 * JULIAN_YEAR,
    band_visits=(56, 80, 184, 184, 160, 160),
    limiting_magnitude=(23.9, 25.0, 24.7, 24.0, 23.3, 22.1),
    saturation_magnitude=(16.0,) * 6,
    reference_band="r",
    detection_limit=24.0,
    declination_range=(np.deg2rad(-62.0), np.deg2rad(2.0)),
    cadence=Cadence(
        n_groups=412,
        group_offsets=(0.0, 30.0 * MINUTE),
        season_length=210.0 * DAY,
        day_length=SIDEREAL_DAY,
        night_window=6.0 * HOUR,
    ),
    errors=LsstErrorModel(gamma=(0.038, 0.039, 0.039, 0.039, 0.039, 0.039)),
)


def photometric_error(
    survey: Survey, band_index: ArrayLike | str, magnitude: ArrayLike
) -> NDArray:
    """Single-epoch photometric error of ``survey`` at a magnitude.

    Parameters
    ----------
    survey : Survey
        Survey whose error model is used.
    band_index : array_like of int or str
        Band position(s) in ``survey.bands``, or a band name.
    magnitude : array_like
        Apparent magnitude(s) in that band, mag (``+inf`` gives ``inf``).

    Returns
    -------
    ndarray
        Error, mag, broadcast over ``band_index`` and ``magnitude``. Rubin:
        Ivezić et al. (2019) eqs. (4)-(5), see :class:`LsstErrorModel`; Gaia:
        per field-of-view transit, see :class:`GaiaErrorModel`.

    References
    ----------
    Ivezić, Ž. et al. 2019, ApJ, 873, 111, eqs. (4)-(5).
    Gaia Collaboration, Prusti, T. et al. 2016, A&A, 595, A1.
    """
    if isinstance(band_index, str):
        index = np.asarray(survey.band_index(band_index))
    else:
        index = np.asarray(band_index)
        if not np.issubdtype(index.dtype, np.integer):
            raise ValueError("band_index: expected integers or a band name")
        if np.any(index < 0) or np.any(index >= len(survey.bands)):
            raise ValueError(f"band_index: expected values in [0, {len(survey.bands)})")
    mag = np.asarray(magnitude, dtype=float)
    if np.any(np.isnan(mag)) or np.any(mag == -np.inf):
        raise ValueError("magnitude: expected numbers or +inf")
    return _photometric_error(survey, index, mag)


def _photometric_error(survey: Survey, index: NDArray, mag: NDArray) -> NDArray:
    """Unchecked kernel of :func:`photometric_error`."""
    errors = survey.errors
    mag, index = np.broadcast_arrays(mag, index)
    with np.errstate(over="ignore", invalid="ignore"):
        if isinstance(errors, LsstErrorModel):
            m5 = np.asarray(survey.limiting_magnitude)[index]
            gamma = np.asarray(errors.gamma)[index]
            x = 10.0 ** (0.4 * (mag - m5))
            variance = (0.04 - gamma) * x + gamma * x * x
        else:
            c0, c1, c2 = errors.coefficients
            z = 10.0 ** (0.4 * (np.maximum(mag, errors.bright_floor) - 15.0))
            random = errors.margin * 1e-3 * np.sqrt(c0 * z * z + c1 * z + c2)
            variance = random**2
        return np.sqrt(variance + errors.sigma_sys**2)
