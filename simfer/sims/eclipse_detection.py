"""Eclipsing binaries as a survey observes them: epochs, in-eclipse points, detection.

A survey (:class:`simfer.sims.surveys.Survey`) observes each source at a set of
epochs, each in one band, drawn per source from its cadence model
(:func:`sample_epochs`) rather than replaced by a duty-cycle fraction, so that
short periods and periods commensurate with the sampling (aliasing) come out
right.

At each epoch the binary's magnitude in that epoch's band follows from the flux
the eclipse hides (:func:`simfer.sims.eclipses.eclipsed_fraction`). An epoch is a
*usable in-eclipse point* when it falls in an eclipse, its magnitude is no
fainter than the band's single-epoch limit, the out-of-eclipse magnitude is not
saturated, and the depth ``-2.5 log10(1 - fraction)`` exceeds ``n_sigma`` times
the photometric error at that magnitude
(:func:`simfer.sims.surveys.photometric_error`); :func:`count_eclipse_points`
counts them. A source is detected (:func:`detect_eclipses`) when it lies in the
survey footprint, its out-of-eclipse magnitude in the reference band is within
the detection limit, and it has at least ``min_eclipse_points`` usable points.

The per-source inputs may be SI floats or astropy Quantities.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

import astropy.units as u
import numpy as np
from numpy.typing import ArrayLike, NDArray

from simfer.sims.eclipses import eclipse_duration, eclipsed_fraction
from simfer.sims.si_inputs import as_si

# The unchecked error kernel: the checks of photometric_error would run once per
# epoch of every candidate in the Galaxy.
from simfer.sims.surveys import Survey, _photometric_error

logger = logging.getLogger(__name__)

__all__ = [
    "EclipseDetection",
    "EclipsePoints",
    "count_eclipse_points",
    "detect_eclipses",
    "sample_epochs",
]


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
