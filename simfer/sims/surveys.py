"""Optical surveys' cadence and their detection of eclipsing binaries (Gaia, Rubin).

A survey observes each source at a set of epochs, each in one band. Those epochs
are drawn per source from a cadence model (:class:`Cadence`), not replaced by a
duty-cycle fraction, so that short periods and periods commensurate with the
sampling (aliasing) come out right:

- visits come in *groups* at fixed offsets (Gaia's two fields of view 106.5 min
  apart; Rubin's pair of visits about half an hour apart in one night);
- group times are uniform over the baseline; for a ground-based site they are
  folded into each year's observing *season* and placed on one night per
  sidereal day, at the hour angle at which the source is observed with a jitter
  over the night's observing window.

At each epoch the binary's magnitude in that epoch's band follows from the flux
the eclipse hides (:func:`simfer.sims.eclipses.eclipsed_fraction`). An epoch is a
*usable in-eclipse point* when it falls in an eclipse, its magnitude is no
fainter than the band's single-epoch limit, the out-of-eclipse magnitude is not
saturated, and the depth ``-2.5 log10(1 - fraction)`` exceeds ``n_sigma`` times
the photometric error at that magnitude (:func:`photometric_error`). A source is
detected (:func:`detect_eclipses`) when it lies in the survey footprint, its
out-of-eclipse magnitude in the reference band is within the detection limit,
and it has at least ``min_eclipse_points`` usable in-eclipse points.

:data:`GAIA` and :data:`RUBIN` hold the cited defaults; every number is a field,
so a workflow can override any of them with :func:`dataclasses.replace`. Times
are s, angles rad, magnitudes mag (Gaia G Vega, LSST AB); the per-source inputs
of :func:`count_eclipse_points` and :func:`detect_eclipses` may also be astropy
Quantities.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import NamedTuple

import astropy.units as u
import numpy as np
from numpy.typing import ArrayLike, NDArray

from simfer.sims.eclipses import eclipse_duration, eclipsed_fraction
from simfer.sims.si_inputs import as_si

logger = logging.getLogger(__name__)

__all__ = [
    "GAIA",
    "RUBIN",
    "Cadence",
    "EclipseDetection",
    "EclipsePoints",
    "GaiaErrorModel",
    "LsstErrorModel",
    "Survey",
    "count_eclipse_points",
    "detect_eclipses",
    "photometric_error",
    "sample_epochs",
]

MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0
JULIAN_YEAR = 365.25 * DAY
#: Mean sidereal day, s: a ground-based site sees a source at the same hour
#: angle once per sidereal day.
SIDEREAL_DAY = 86164.0905


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
        if gamma.ndim != 1 or np.any(~np.isfinite(gamma)) or np.any(gamma < 0):
            raise ValueError("gamma: expected finite per-band values >= 0")
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
        if not np.isfinite(self.detection_limit):
            raise ValueError("detection_limit: expected a finite magnitude")
        dec_min, dec_max = self.declination_range
        if not -np.pi / 2 <= dec_min < dec_max <= np.pi / 2:
            raise ValueError(
                "declination_range: expected -pi/2 <= dec_min < dec_max <= pi/2 rad"
            )
        if int(self.min_eclipse_points) != self.min_eclipse_points or (
            self.min_eclipse_points < 1
        ):
            raise ValueError("min_eclipse_points: expected an integer >= 1")
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
#: - All sky; detection limit G <= 20 (the issue's setting; Jin et al. 2025),
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
#:   r <= 24 (the issue's setting; Jin et al. 2025); saturation at about 16 mag
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


class EclipsePoints(NamedTuple):
    """Usable in-eclipse points per source, by eclipse (int arrays)."""

    primary: NDArray
    """Points in the eclipse at phase 0 (star 2 eclipsed)."""
    secondary: NDArray
    """Points in the eclipse at phase 0.5 (star 1 eclipsed)."""

    @property
    def total(self) -> NDArray:
        """Points in either eclipse."""
        return self.primary + self.secondary


class EclipseDetection(NamedTuple):
    """What :func:`detect_eclipses` returns; unpacks as ``n_points, detected``."""

    n_points: NDArray
    """Usable in-eclipse points per source (int; 0 outside the footprint)."""
    detected: NDArray
    """Whether the survey detects the source as eclipsing (bool)."""


def _check_rng(rng: np.random.Generator) -> None:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng: expected a numpy.random.Generator, got {type(rng)}")


def sample_epochs(
    survey: Survey, n_sources: int, rng: np.random.Generator
) -> tuple[NDArray, NDArray]:
    """Draw each source's observing epochs and their bands from the cadence model.

    Parameters
    ----------
    survey : Survey
        Survey whose :class:`Cadence` and ``band_visits`` are sampled.
    n_sources : int
        Number of sources, each with independent epochs.
    rng : numpy.random.Generator
        The only source of randomness.

    Returns
    -------
    times : ndarray, shape (n_sources, n_epochs)
        Epochs, s after the survey start, unsorted. Group times are uniform over
        the baseline; a seasonal cadence folds them into a season of
        ``season_length`` starting at a random phase of the year per source; a
        ground-based cadence (``day_length > 0``) moves them to one night per
        sidereal day, at a random per-source time of night plus a uniform jitter
        over ``night_window``; then the group offsets are added. Times lie in
        ``[0, baseline + day_length + night_window + max(group_offsets))``.
    band_index : ndarray of int, shape (n_sources, n_epochs)
        Band of each epoch (position in ``survey.bands``): each source has
        exactly ``band_visits[b]`` epochs in band ``b``. As the group times are
        exchangeable, the same band layout serves every source (a read-only
        broadcast view).

    Notes
    -----
    The model keeps what decides which orbital phases are sampled: the spacing
    inside a group, seasons, and the sidereal-day commensurability of a
    ground-based site, which makes periods near a day's fractions alias. It
    omits weather, the Moon, rolling cadence and the scanning law's dependence
    on ecliptic latitude.

    References
    ----------
    Gaia Collaboration, Prusti, T. et al. 2016, A&A, 595, A1 and Gaia EDR3
    documentation, sect. 1.1.4 (scanning law: 6 h spin, 106.5 deg basic angle,
    63 d precession, ~70 transits in five years). Ivezić, Ž. et al. 2019, ApJ,
    873, 111 (cadence of the main survey).
    """
    _check_rng(rng)
    if int(n_sources) != n_sources or n_sources < 0:
        raise ValueError(f"n_sources: expected an integer >= 0, got {n_sources}")
    n = int(n_sources)
    starts = _group_times(survey, rng, _Workspace(n, survey.cadence.n_groups))
    offsets = np.asarray(survey.cadence.group_offsets, dtype=float)
    times = (starts[:, :, None] + offsets).reshape(n, survey.n_epochs)
    return times, np.broadcast_to(_band_layout(survey), times.shape)


def _band_layout(survey: Survey) -> NDArray:
    """Band of each epoch column, ``band_visits[b]`` columns for band ``b``."""
    return np.repeat(np.arange(len(survey.bands)), survey.band_visits)


class _Workspace:
    """Reusable (n, n_groups) buffers of the epoch kernels.

    The kernels run over every epoch of every candidate in the Galaxy; fresh
    arrays of a few MB each cost more in page faults than the arithmetic, so
    :func:`detect_eclipses` allocates these once and reuses them per chunk.
    ``times`` holds the group times, the ``scratch`` buffers intermediates.
    """

    def __init__(self, n: int, n_groups: int) -> None:
        self.times, *self.scratch = np.empty((4, n, n_groups))
        self.mask = np.empty((n, n_groups), dtype=bool)

    def view(self, n: int) -> _Workspace:
        """The first ``n`` rows of every buffer."""
        part = object.__new__(_Workspace)
        part.times, part.scratch = self.times[:n], [b[:n] for b in self.scratch]
        part.mask = self.mask[:n]
        return part


def _group_times(survey: Survey, rng: np.random.Generator, work: _Workspace) -> NDArray:
    """Times of the first visit of each group into ``work.times``, s.

    The number of sources is the number of rows of ``work``.
    """
    cadence = survey.cadence
    t, scratch = work.times, work.scratch[0]
    n = t.shape[0]
    rng.random(out=t)
    if cadence.seasonal:
        # u in [0, n_seasons): its integer part picks the season, its fraction
        # the time into that season; seasons start at a random time of year.
        period, length = cadence.season_period, cadence.season_length
        t *= round(survey.baseline / period)
        np.floor(t, out=scratch)
        t -= scratch
        t *= length
        scratch *= period
        t += scratch
        t += rng.uniform(0.0, period, (n, 1))
        np.greater_equal(t, survey.baseline, out=work.mask)
        np.subtract(t, survey.baseline, out=t, where=work.mask)
    else:
        t *= survey.baseline
    if cadence.day_length > 0:
        # One night per sidereal day, at the source's own time of night (its
        # hour angle) with a jitter over the night's observing window. The
        # time of day of the uniform draw, uniform itself and independent of
        # the night to within one day in a season, serves as the jitter.
        day = cadence.day_length
        t *= 1.0 / day
        np.floor(t, out=scratch)
        t -= scratch
        t *= cadence.night_window
        scratch *= day
        t += scratch
        t += rng.uniform(0.0, day, (n, 1))
    return t


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


def _as_float(value: ArrayLike, name: str) -> NDArray:
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name}: expected numbers") from exc


def _check_binaries(
    survey: Survey,
    period: ArrayLike,
    phase0: ArrayLike,
    cos_inclination: ArrayLike,
    radius_1: ArrayLike,
    radius_2: ArrayLike,
    separation: ArrayLike,
    magnitudes_1: ArrayLike,
    magnitudes_2: ArrayLike,
) -> tuple[NDArray, ...]:
    """Validated 1-D binary parameters (SI; Quantities converted) and magnitudes."""
    one = u.dimensionless_unscaled
    values = {
        "period": as_si(period, u.s, "period"),
        "phase0": as_si(phase0, one, "phase0"),
        "cos_inclination": as_si(cos_inclination, one, "cos_inclination"),
        "radius_1": as_si(radius_1, u.m, "radius_1"),
        "radius_2": as_si(radius_2, u.m, "radius_2"),
        "separation": as_si(separation, u.m, "separation"),
    }
    n = values["period"].size
    for name, value in values.items():
        if value.ndim != 1 or value.size != n:
            raise ValueError(f"{name}: expected a 1-D array of length {n}")
        if not np.all(np.isfinite(value)):
            raise ValueError(f"{name}: expected finite values")
    for name in ("period", "radius_1", "radius_2", "separation"):
        if np.any(values[name] <= 0):
            raise ValueError(f"{name}: expected values > 0")
    if np.any(np.abs(values["cos_inclination"]) > 1):
        raise ValueError("cos_inclination: expected values in [-1, 1]")
    mags = []
    for name, value in (("magnitudes_1", magnitudes_1), ("magnitudes_2", magnitudes_2)):
        mag = _as_float(value, name)
        if mag.shape != (n, len(survey.bands)):
            raise ValueError(
                f"{name}: expected shape ({n}, {len(survey.bands)}) (sources x "
                f"bands {survey.bands}), got {mag.shape}"
            )
        if np.any(np.isnan(mag)) or np.any(mag == -np.inf):
            raise ValueError(f"{name}: expected magnitudes or +inf (no light)")
        mags.append(mag)
    return (*values.values(), *mags)


def _count_points(
    survey: Survey,
    starts: NDArray,
    offsets: NDArray,
    band_index: NDArray,
    period: NDArray,
    phase0: NDArray,
    duration: NDArray,
    cos_i: NDArray,
    r1: NDArray,
    r2: NDArray,
    a: NDArray,
    flux_1: NDArray,
    flux_2: NDArray,
    work: _Workspace | None = None,
) -> EclipsePoints:
    """Usable in-eclipse points of sources with given epochs (unchecked kernel).

    Epoch ``g * K + k`` of a source is at ``starts[:, g] + offsets[k]`` (K
    offsets); ``band_index`` is broadcastable to (n, n_groups * K); ``flux_*``
    are (n, n_bands) linear fluxes ``10^(-0.4 m)``; the rest are (n,).
    ``work`` provides scratch buffers (its ``times`` may be ``starts``).
    """
    n, n_groups = starts.shape
    n_offsets = offsets.size
    if work is None:
        work = _Workspace(n, n_groups)
    (base, shifted, nearest), mask = work.scratch, work.mask

    # Orbital phase in half-cycles, conjunctions at integers: an epoch is in an
    # eclipse when within T/2 of a conjunction, i.e. w = T/P half-cycles.
    np.multiply(starts, (2.0 / period)[:, None], out=base)
    base += (2.0 * phase0)[:, None]
    np.floor(base, out=shifted)
    base -= shifted
    width = (duration / period)[:, None]
    rows, cols = [], []
    for k, offset in enumerate(offsets):
        np.add(base, np.mod(2.0 * offset / period, 1.0)[:, None], out=shifted)
        np.rint(shifted, out=nearest)
        shifted -= nearest
        np.abs(shifted, out=shifted)
        np.less(shifted, width, out=mask)
        row, group = np.divmod(np.flatnonzero(mask), n_groups)
        rows.append(row)
        cols.append(group * n_offsets + k)
    rows, cols = np.concatenate(rows), np.concatenate(cols)

    # Only epochs whose band sees the binary unsaturated out of eclipse and no
    # fainter than the band limit can give a usable point (eclipses dim it).
    bands = band_index[rows, cols]
    f1, f2 = flux_1[rows, bands], flux_2[rows, bands]
    with np.errstate(divide="ignore"):
        m_out = -2.5 * np.log10(f1 + f2)
    seen = (m_out <= np.asarray(survey.limiting_magnitude)[bands]) & (
        m_out >= np.asarray(survey.saturation_magnitude)[bands]
    )
    rows, cols, bands = rows[seen], cols[seen], bands[seen]
    f1, f2, m_out = f1[seen], f2[seen], m_out[seen]

    time = starts[rows, cols // n_offsets] + offsets[cols % n_offsets]
    phase = time / period[rows] + phase0[rows]
    phase -= np.floor(phase)
    fraction = eclipsed_fraction(
        phase, cos_i[rows], r1[rows], r2[rows], a[rows], f1, f2
    )
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        depth = -2.5 * np.log10(np.clip(1.0 - fraction, 0.0, 1.0))
        m_in = m_out + depth
        sigma = _photometric_error(survey, bands, m_in)
        usable = (m_in <= np.asarray(survey.limiting_magnitude)[bands]) & (
            depth > survey.n_sigma * sigma
        )
    primary = (phase < 0.25) | (phase >= 0.75)
    return EclipsePoints(
        primary=np.bincount(rows[usable & primary], minlength=n),
        secondary=np.bincount(rows[usable & ~primary], minlength=n),
    )


def count_eclipse_points(
    survey: Survey,
    times: ArrayLike,
    band_index: ArrayLike,
    *,
    period: ArrayLike,
    phase0: ArrayLike,
    cos_inclination: ArrayLike,
    radius_1: ArrayLike,
    radius_2: ArrayLike,
    separation: ArrayLike,
    magnitudes_1: ArrayLike,
    magnitudes_2: ArrayLike,
) -> EclipsePoints:
    """Usable in-eclipse points of circular binaries observed at given epochs.

    Parameters
    ----------
    survey : Survey
        Supplies the band limits, saturation, error model and ``n_sigma``.
    times : array_like, shape (n, n_epochs) or (n_epochs,)
        Epochs, s (a 1-D array serves every source).
    band_index : array_like of int, broadcastable to ``times``
        Band of each epoch (position in ``survey.bands``).
    period : array_like, shape (n,)
        Orbital periods, s.
    phase0 : array_like, shape (n,)
        Orbital phase at ``t = 0``, cycles; phase 0 is the conjunction with
        star 1 in front (primary eclipse: star 2 eclipsed).
    cos_inclination : array_like, shape (n,)
        Cosine of the inclination (dimensionless).
    radius_1, radius_2 : array_like, shape (n,)
        Radii, m.
    separation : array_like, shape (n,)
        Orbital separation, m.
    magnitudes_1, magnitudes_2 : array_like, shape (n, n_bands)
        Apparent out-of-eclipse magnitudes of each star in ``survey.bands``,
        mag (``+inf`` for no light).

    Returns
    -------
    EclipsePoints
        Per source, the points in the primary and in the secondary eclipse at
        which the binary is no fainter than the band's limiting magnitude, is
        not saturated out of eclipse, and is fainter than out of eclipse by more
        than ``survey.n_sigma`` photometric errors (at the in-eclipse magnitude).

    References
    ----------
    Winn, J. N. 2010, arXiv:1001.2010, sect. 2 and eq. (14) (phases and
    durations of eclipses); Mandel, K. & Agol, E. 2002, ApJ, 580, L171 (depths).
    """
    values = _check_binaries(
        survey, period, phase0, cos_inclination, radius_1, radius_2, separation,
        magnitudes_1, magnitudes_2,
    )  # fmt: skip
    p, phi0, cos_i, r1, r2, a, m1, m2 = values
    n = p.size
    t = as_si(times, u.s, "times")
    if t.ndim == 1:
        t = np.broadcast_to(t, (n, t.size))
    if t.ndim != 2 or t.shape[0] != n:
        raise ValueError(f"times: expected shape ({n}, n_epochs) or (n_epochs,)")
    if not np.all(np.isfinite(t)):
        raise ValueError("times: expected finite values")
    try:
        bands = np.broadcast_to(np.asarray(band_index), t.shape)
    except ValueError as exc:
        raise ValueError(
            f"band_index: expected a shape broadcastable to {t.shape}"
        ) from exc
    if not np.issubdtype(bands.dtype, np.integer):
        raise ValueError("band_index: expected integers")
    if np.any(bands < 0) or np.any(bands >= len(survey.bands)):
        raise ValueError(f"band_index: expected values in [0, {len(survey.bands)})")

    duration = eclipse_duration(p, r1, r2, a, cos_i)
    return _count_points(
        survey, t, np.zeros(1), bands, p, phi0, duration, cos_i, r1, r2, a,
        10.0 ** (-0.4 * m1), 10.0 ** (-0.4 * m2),
    )  # fmt: skip


def detect_eclipses(
    survey: Survey,
    rng: np.random.Generator,
    *,
    period: ArrayLike,
    phase0: ArrayLike,
    cos_inclination: ArrayLike,
    radius_1: ArrayLike,
    radius_2: ArrayLike,
    separation: ArrayLike,
    magnitudes_1: ArrayLike,
    magnitudes_2: ArrayLike,
    declination: ArrayLike,
    chunk_size: int = 1024,
) -> EclipseDetection:
    """Which circular binaries a survey detects as eclipsing.

    Parameters
    ----------
    survey : Survey
        Survey (e.g. :data:`GAIA`, :data:`RUBIN`).
    rng : numpy.random.Generator
        Stream for the epochs (the only randomness).
    period, phase0, cos_inclination, radius_1, radius_2, separation : array_like
        Per source, shape (n,): period (s), phase at the survey start (cycles),
        cosine of the inclination, radii (m) and orbital separation (m); see
        :func:`count_eclipse_points`.
    magnitudes_1, magnitudes_2 : array_like, shape (n, n_bands)
        Apparent magnitudes of each star in ``survey.bands``, mag.
    declination : array_like, shape (n,)
        Declination, rad.
    chunk_size : int
        Sources whose epochs are processed at once (each costs about
        ``33 n_groups`` bytes of buffers: 14 kB for Rubin). The draws, hence
        the result for a given ``rng`` state, depend on it.

    Returns
    -------
    EclipseDetection
        ``n_points``: usable in-eclipse points (:func:`count_eclipse_points`) on
        epochs drawn by :func:`sample_epochs`, counted for the sources in the
        footprint that eclipse and are no fainter than the limiting magnitude
        in some band (0 for the others, which can have none); ``detected``: in
        the footprint, out-of-eclipse reference-band magnitude between the
        saturation and the detection limit, and at least
        ``min_eclipse_points`` usable points (in each eclipse if
        ``require_both_eclipses``).

    Notes
    -----
    The default of 3 points follows Gaia DR3's eclipsing-binary light-curve
    solver, which rejects a source unless each eclipse holds at least 3 data
    points (Gaia DR3 documentation, sect. 7.6.5); by default the 3 may fall in
    either eclipse, as a DWD's secondary eclipse is often shallow.

    References
    ----------
    Gaia DR3 documentation (2022), sect. 7.6.5, "Eclipsing binaries: processing
    steps" (at least 3 points per eclipse).
    Korol, V. et al. 2017, MNRAS, 470, 1894 (eclipsing DWDs in Gaia and LSST);
    Jin, H.-M. et al. 2025, MNRAS, 536, 2770 (the same for the population
    forecast, G <= 20, r <= 24).
    """
    _check_rng(rng)
    if int(chunk_size) != chunk_size or chunk_size < 1:
        raise ValueError(f"chunk_size: expected an integer >= 1, got {chunk_size}")
    values = _check_binaries(
        survey, period, phase0, cos_inclination, radius_1, radius_2, separation,
        magnitudes_1, magnitudes_2,
    )  # fmt: skip
    p, phi0, cos_i, r1, r2, a, m1, m2 = values
    n = p.size
    dec = as_si(declination, u.rad, "declination")
    if dec.shape != (n,) or not np.all(np.abs(dec) <= np.pi / 2):
        raise ValueError(f"declination: expected {n} values in [-pi/2, pi/2] rad")

    dec_min, dec_max = survey.declination_range
    in_footprint = (dec >= dec_min) & (dec <= dec_max)
    flux_1, flux_2 = 10.0 ** (-0.4 * m1), 10.0 ** (-0.4 * m2)
    with np.errstate(divide="ignore"):
        combined = -2.5 * np.log10(flux_1 + flux_2)
    reference = combined[:, survey.band_index(survey.reference_band)]
    ref_saturation = survey.saturation_magnitude[
        survey.band_index(survey.reference_band)
    ]
    bright_enough = (reference >= ref_saturation) & (
        reference <= survey.detection_limit
    )

    duration = eclipse_duration(p, r1, r2, a, cos_i)
    observable = (
        in_footprint
        & (duration > 0)
        & np.any(combined <= np.asarray(survey.limiting_magnitude), axis=1)
    )
    todo = np.flatnonzero(observable)
    logger.debug("%s: sampling epochs of %d of %d sources", survey.name, todo.size, n)

    n_primary = np.zeros(n, dtype=np.int64)
    n_secondary = np.zeros(n, dtype=np.int64)
    offsets = np.asarray(survey.cadence.group_offsets, dtype=float)
    layout = _band_layout(survey)
    size = int(max(1, min(chunk_size, todo.size)))
    work = _Workspace(size, survey.cadence.n_groups)
    for start in range(0, todo.size, size):
        chunk = todo[start : start + size]
        part = work.view(chunk.size)
        starts = _group_times(survey, rng, part)
        bands = np.broadcast_to(layout, (chunk.size, layout.size))
        points = _count_points(
            survey, starts, offsets, bands, p[chunk], phi0[chunk], duration[chunk],
            cos_i[chunk], r1[chunk], r2[chunk], a[chunk], flux_1[chunk],
            flux_2[chunk], work=part,
        )  # fmt: skip
        n_primary[chunk] = points.primary
        n_secondary[chunk] = points.secondary

    n_points = n_primary + n_secondary
    need = survey.min_eclipse_points
    if survey.require_both_eclipses:
        enough = (n_primary >= need) & (n_secondary >= need)
    else:
        enough = n_points >= need
    return EclipseDetection(
        n_points=n_points, detected=in_footprint & bright_enough & enough
    )
