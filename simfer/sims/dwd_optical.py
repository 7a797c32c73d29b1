"""Eclipsing double white dwarfs of a Galactic population, as optical surveys see them.

The gravitational-wave side of a population chunk (:mod:`simfer.sims.dwd_chunks`)
hands every detached DWD above ``2 / period_max`` in frequency (orbital period
below ``period_max``, 30 h by default) to :func:`observe_eclipsing_systems`,
which for each block of systems

1. takes the orientation ``cos i`` the gravitational-wave stage drew (drawing one
   for the systems below its frequency cut) and keeps the systems whose
   inclination shows eclipses, ``|cos i| <= (R1 + R2) / a``
   (:func:`simfer.sims.eclipses.eclipses`), with Eggleton's zero-temperature
   radii (:func:`simfer.sims.white_dwarfs.white_dwarf_radius`);
2. places them in the Galaxy (the gravitational-wave position where there is
   one) and gets their declination;
3. gives each white dwarf a luminosity from the cooling law used by COSMIC
   (:func:`simfer.sims.white_dwarfs.white_dwarf_luminosity`, cooling age = time
   since that white dwarf formed, from COSMIC's evolution), an effective
   temperature, blackbody magnitudes in each
   survey band (:mod:`simfer.sims.photometry`), distance modulus and extinction
   from the analytic dust model (:mod:`simfer.sims.extinction`);
4. samples each survey's epochs and counts the significant in-eclipse points
   (:mod:`simfer.sims.surveys`, :mod:`simfer.sims.eclipse_detection`).

It returns per-sample-row counts (``optical_eclipsing``, ``optical_<survey>``,
``optical_<survey>_<detector>``) for the bootstrap, and the catalogue of the
eclipsing systems no fainter than ``catalogue_margin`` magnitudes beyond a
survey's detection limit.

Assumptions the counts depend on (each a setting, or stated here):

- Luminosities follow COSMIC's modified-Mestel cooling law, not detailed
  cooling tracks: helium white dwarfs with thick hydrogen envelopes (residual
  burning) stay brighter for longer than it says.
- Radii are the zero-temperature ones: young, hot helium white dwarfs are larger,
  so eclipses are somewhat more likely and deeper than computed here.
- Blackbody spectra, circular orbits, uniform discs, no reflection or ellipsoidal
  variation; extinction from an axisymmetric smooth dust disc.
- Systems below the gravitational-wave catalogue cut ``f_min_catalogue`` get
  SNR 0 in the joint electromagnetic + gravitational-wave counts (such systems
  are far below LISA's and TianQin's noise).

References
----------
Jin et al., 2025, MNRAS, 536, 2770 (eclipsing DWDs for Gaia and Rubin, their
counts being the reference of this module).
Korol V. et al., 2017, MNRAS, 470, 1894 (the same construction for Gaia and LSST).
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import astropy.units as u
import numpy as np
from astropy.coordinates import Galactic, SkyCoord

from simfer.sims.eclipse_detection import detect_eclipses
from simfer.sims.eclipses import eclipses
from simfer.sims.extinction import (
    DEFAULT_DUST,
    DustDisc,
    band_extinction_ratio,
    extinction_v,
)
from simfer.sims.photometry import (
    TEMPERATURE_RANGE,
    absolute_magnitude,
    combined_magnitude,
)
from simfer.sims.surveys import GAIA, RUBIN, Survey
from simfer.sims.white_dwarfs import (
    CHANDRASEKHAR_MASS,
    effective_temperature,
    white_dwarf_luminosity,
    white_dwarf_radius,
)

logger = logging.getLogger(__name__)

__all__ = [
    "DRAW_F_MIN",
    "ECLIPSING_UNITS",
    "MAGNITUDE_SYSTEMS",
    "MAX_PERIOD_MAX",
    "OpticalSettings",
    "eclipsing_columns",
    "observe_eclipsing_systems",
    "optical_count_keys",
]

MSUN = u.Msun.to(u.kg)
RSUN = u.Rsun.to(u.m)
GYR = u.Gyr.to(u.s)
HOUR = u.hour.to(u.s)

#: Longest ``period_max`` allowed, s (48 h). The population is always drawn down
#: to this period, so that the gravitational-wave realisation and the optical
#: draws do not depend on ``period_max`` or on whether the optical stage runs.
MAX_PERIOD_MAX = 48.0 * HOUR
#: Gravitational-wave frequency of :data:`MAX_PERIOD_MAX`, Hz.
DRAW_F_MIN = 2.0 / MAX_PERIOD_MAX

#: Units of the eclipsing catalogue's columns (others are dimensionless).
ECLIPSING_UNITS = {
    "mass_1": u.Msun, "mass_2": u.Msun, "f_gw": u.Hz, "period": u.hour,
    "sep": u.Rsun, "distance": u.kpc, "l": u.rad, "b": u.rad, "dec": u.rad,
    "cooling_age_1": u.Gyr, "cooling_age_2": u.Gyr, "radius_1": u.Rsun,
    "radius_2": u.Rsun, "teff_1": u.K, "teff_2": u.K, "extinction_v": u.mag,
    **{f"mag_{band}": u.mag for band in ("G", "u", "g", "r", "i", "z", "y", "V")},
}  # fmt: skip
_HEAVIEST = CHANDRASEKHAR_MASS * (1.0 - 1e-6)  # kg

#: Magnitude system of each band's apparent magnitudes (``mag_<band>``).
MAGNITUDE_SYSTEMS = {"G": "Vega (Gaia DR3)", "V": "Vega", "u": "AB", "g": "AB",
                     "r": "AB", "i": "AB", "z": "AB", "y": "AB"}  # fmt: skip


@dataclass(frozen=True)
class OpticalSettings:
    """What the optical stage observes and with which surveys.

    Attributes
    ----------
    surveys : tuple of Survey
        Surveys with distinct names (default Gaia and Rubin).
    period_max : float
        Longest orbital period considered, s (30 h).
    dust_model : object
        Analytic dust model for :func:`simfer.sims.extinction.extinction_v`.
    catalogue_margin : float
        Eclipsing systems up to this many magnitudes fainter than a survey's
        detection limit are kept in the catalogue, mag.
    """

    surveys: tuple[Survey, ...] = (GAIA, RUBIN)
    period_max: float = 30.0 * HOUR
    dust_model: DustDisc = DEFAULT_DUST
    catalogue_margin: float = 1.0
    bands: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        if isinstance(self.period_max, u.Quantity):
            object.__setattr__(self, "period_max", float(self.period_max.to_value(u.s)))
        if not isinstance(self.dust_model, DustDisc):
            raise TypeError(
                "dust_model: expected a simfer.sims.extinction.DustDisc, got "
                f"{type(self.dust_model).__name__}"
            )
        if not all(isinstance(s, Survey) for s in self.surveys):
            raise TypeError("surveys: expected simfer.sims.surveys.Survey objects")
        if not self.surveys:
            raise ValueError("surveys: expected at least one survey")
        names = [s.name for s in self.surveys]
        if len(set(names)) != len(names):
            raise ValueError(f"surveys: expected distinct names, got {names}")
        if (
            not np.isfinite(self.period_max)
            or not 0 < self.period_max <= MAX_PERIOD_MAX
        ):
            raise ValueError(
                f"period_max: expected > 0 and at most {MAX_PERIOD_MAX / HOUR:g} h "
                f"(= {MAX_PERIOD_MAX:g} s), got {self.period_max} s"
            )
        if not np.isfinite(self.catalogue_margin) or self.catalogue_margin < 0:
            raise ValueError(
                f"catalogue_margin: expected >= 0 mag, got {self.catalogue_margin}"
            )
        bands = []
        for survey in self.surveys:
            bands += [b for b in survey.bands if b not in bands]
        object.__setattr__(self, "bands", tuple(bands))

    @property
    def f_min(self) -> float:
        """Gravitational-wave frequency of the period cut, ``2 / period_max``, Hz."""
        return 2.0 / self.period_max

    def describe(self) -> dict[str, Any]:
        """A JSON-friendly description for run settings."""
        return {
            "surveys": [s.name for s in self.surveys],
            "period_max_hours": self.period_max / HOUR,
            "catalogue_margin": self.catalogue_margin,
        }


def optical_count_keys(
    settings: OpticalSettings, detector_names: Sequence[str]
) -> list[str]:
    """Names of the per-row counts :func:`observe_eclipsing_systems` returns."""
    keys = ["optical_eclipsing"]
    for survey in settings.surveys:
        keys.append(f"optical_{survey.name}")
        keys += [f"optical_{survey.name}_{d}" for d in [*detector_names, "joint"]]
    return keys


def eclipsing_columns(
    settings: OpticalSettings, detector_names: Sequence[str]
) -> list[str]:
    """Column names of the eclipsing catalogue (also when it is empty)."""
    physical = [n for n in ECLIPSING_UNITS if not n.startswith("mag_")]
    names = ["component", "sample_index", "kstar_1", "kstar_2", *physical]
    names += ["cos_i", *(f"mag_{band}" for band in settings.bands)]
    for survey in settings.surveys:
        names += [f"n_points_{survey.name}", f"detected_{survey.name}"]
    names += [f"snr_{d}" for d in [*detector_names, "joint"]]
    return names


def _stream(seed: np.random.SeedSequence, name: str) -> np.random.Generator:
    """An independent generator for one kind of draw, keyed by ``name``."""
    key = (*seed.spawn_key, zlib.crc32(name.encode()))
    return np.random.default_rng(np.random.SeedSequence(seed.entropy, spawn_key=key))


def _magnitude(temperature, radius, visible, band):
    """Absolute magnitude, +inf for the stars flagged not ``visible``."""
    out = np.full(temperature.shape, np.inf)
    out[visible] = absolute_magnitude(temperature[visible], radius[visible], band)
    return out


def _declination(l_rad: np.ndarray, b_rad: np.ndarray) -> np.ndarray:
    if l_rad.size == 0:
        return np.zeros(0)
    galactic = SkyCoord(l=l_rad * u.rad, b=b_rad * u.rad, frame=Galactic())
    return galactic.icrs.dec.to_value(u.rad)


def observe_eclipsing_systems(
    drawn: dict[str, np.ndarray],
    in_band: np.ndarray,
    placed: dict[str, np.ndarray],
    seed: np.random.SeedSequence,
    settings: OpticalSettings,
    *,
    galaxy: Any,
    component: str,
    metallicity: float,
    n_rows: int,
    detector_names: Sequence[str],
    snr_threshold: float,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Eclipsing systems of one block and what the optical surveys detect.

    Parameters
    ----------
    drawn : dict of str to numpy.ndarray
        The block's detached systems with orbital periods below
        :data:`MAX_PERIOD_MAX`, as drawn by the chunk (masses in Msun, ``sep``
        in Rsun, ``f_gw`` in Hz, ``cooling_age_1``, ``cooling_age_2`` in Gyr,
        ``kstar_*`` type codes, ``sample_index``).
    in_band : numpy.ndarray of bool
        Which of ``drawn`` are above the gravitational-wave cut, in order.
    placed : dict of str to numpy.ndarray
        The in-band systems after the gravitational-wave stage: ``cos_i``,
        ``distance`` (kpc), ``l``, ``b`` (rad) and ``snr_<det>``.
    seed : numpy.random.SeedSequence
        The block's optical seed: orientations, positions, orbital phases and
        each survey's epochs draw from separate streams spawned from it.
    settings : OpticalSettings
    galaxy : MilkyWayModel
        Positions of the systems the gravitational-wave stage did not place.
    component : str
        Galactic component of the block.
    metallicity : float
        Progenitor metallicity Z of the block's sample (cooling law).
    n_rows : int
        Rows of the sample (length of the count arrays).
    detector_names : sequence of str
        Gravitational-wave detectors (``snr_<name>`` in ``placed``).
    snr_threshold : float
        Per-source SNR above which a system is detected in gravitational waves.

    Returns
    -------
    counts : dict of str to numpy.ndarray
        Per sample row, the keys of :func:`optical_count_keys`.
    catalogue : dict of str to numpy.ndarray
        Columns of :func:`eclipsing_columns` for the kept eclipsing systems.
    """
    # Every draw below comes from a stream of its own, and is made for all the
    # systems the chunk hands over (down to MAX_PERIOD_MAX, whatever period_max),
    # so that changing one setting or survey leaves the others' draws alone.
    gw = in_band
    row_in_placed = np.cumsum(in_band) - 1  # row in ``placed`` of in-band systems
    n_all = gw.size
    cos_i = np.empty(n_all)
    cos_i[gw] = placed["cos_i"]
    cos_i[~gw] = _stream(seed, "orientation").uniform(-1.0, 1.0, int((~gw).sum()))
    # BSE allows white dwarfs up to its Chandrasekhar mass, 1.44 Msun, where the
    # cold radius vanishes; keep them a hair below it.
    mass_1 = np.minimum(drawn["mass_1"] * MSUN, _HEAVIEST)
    mass_2 = np.minimum(drawn["mass_2"] * MSUN, _HEAVIEST)
    radius_1 = white_dwarf_radius(mass_1)
    radius_2 = white_dwarf_radius(mass_2)
    separation = drawn["sep"] * RSUN
    eclipsing = np.flatnonzero(eclipses(cos_i, radius_1, radius_2, separation))

    gw_e = gw[eclipsing]
    distance, l_rad, b_rad = (np.empty(eclipsing.size) for _ in range(3))
    placed_index = row_in_placed[eclipsing[gw_e]]
    distance[gw_e] = placed["distance"][placed_index]
    l_rad[gw_e] = placed["l"][placed_index]
    b_rad[gw_e] = placed["b"][placed_index]
    n_new = int((~gw_e).sum())
    if n_new:
        sky = galaxy.sample(component, n_new, _stream(seed, "positions"))
        distance[~gw_e] = sky.distance.to_value(u.kpc)
        l_rad[~gw_e] = sky.l.to_value(u.rad)
        b_rad[~gw_e] = sky.b.to_value(u.rad)
    phase0 = _stream(seed, "phase").uniform(0.0, 1.0, eclipsing.size)

    # The period cut, on systems whose draws no longer depend on it.
    below = drawn["f_gw"][eclipsing] >= settings.f_min
    candidate, gw = eclipsing[below], gw_e[below]
    placed_index = row_in_placed[candidate[gw]]
    distance, l_rad, b_rad, phase0 = (
        x[below] for x in (distance, l_rad, b_rad, phase0)
    )
    cos_i, mass_1, mass_2 = cos_i[candidate], mass_1[candidate], mass_2[candidate]
    radius_1, radius_2 = radius_1[candidate], radius_2[candidate]
    separation = separation[candidate]
    n = candidate.size
    dec = _declination(l_rad, b_rad)

    cooling_1 = drawn["cooling_age_1"][candidate] * GYR
    cooling_2 = drawn["cooling_age_2"][candidate] * GYR
    kstar_1, kstar_2 = drawn["kstar_1"][candidate], drawn["kstar_2"][candidate]
    teff_1 = effective_temperature(
        white_dwarf_luminosity(mass_1, cooling_1, kstar_1, metallicity), radius_1
    )
    teff_2 = effective_temperature(
        white_dwarf_luminosity(mass_2, cooling_2, kstar_2, metallicity), radius_2
    )
    # Stars beyond the photometric tables (hotter than 1e6 K or colder than
    # 1e3 K, reachable only by extreme masses and ages) are taken as dark.
    low, high = TEMPERATURE_RANGE
    visible_1 = (teff_1 >= low) & (teff_1 <= high)
    visible_2 = (teff_2 >= low) & (teff_2 <= high)
    a_v = extinction_v(distance, l_rad, b_rad, settings.dust_model)
    distance_modulus = 5.0 * np.log10(np.maximum(distance, 1e-12) * 100.0)
    magnitudes_1, magnitudes_2, combined = {}, {}, {}
    for band in settings.bands:
        shift = distance_modulus + a_v * band_extinction_ratio(band)
        magnitudes_1[band] = _magnitude(teff_1, radius_1, visible_1, band) + shift
        magnitudes_2[band] = _magnitude(teff_2, radius_2, visible_2, band) + shift
        combined[band] = combined_magnitude(magnitudes_1[band], magnitudes_2[band])

    f_gw = drawn["f_gw"][candidate]
    period = 2.0 / f_gw
    snr = {}
    for name in [*detector_names, "joint"]:
        snr[name] = np.zeros(n)
        snr[name][gw] = placed[f"snr_{name}"][placed_index]

    sample_index = drawn["sample_index"][candidate]
    counts = {"optical_eclipsing": np.bincount(sample_index, minlength=n_rows)}
    columns: dict[str, np.ndarray] = {}
    keep = np.zeros(n, dtype=bool)
    for survey in settings.surveys:
        n_points, detected = detect_eclipses(
            survey,
            _stream(seed, f"survey:{survey.name}"),
            period=period,
            phase0=phase0,
            cos_inclination=cos_i,
            radius_1=radius_1,
            radius_2=radius_2,
            separation=separation,
            magnitudes_1=np.stack([magnitudes_1[b] for b in survey.bands], axis=1),
            magnitudes_2=np.stack([magnitudes_2[b] for b in survey.bands], axis=1),
            declination=dec,
        )
        columns[f"n_points_{survey.name}"] = n_points.astype(np.int32)
        columns[f"detected_{survey.name}"] = detected
        counts[f"optical_{survey.name}"] = np.bincount(
            sample_index[detected], minlength=n_rows
        )
        for name in [*detector_names, "joint"]:
            both = detected & (snr[name] > snr_threshold)
            counts[f"optical_{survey.name}_{name}"] = np.bincount(
                sample_index[both], minlength=n_rows
            )
        reference = combined[survey.reference_band]
        keep |= detected | (
            reference <= survey.detection_limit + settings.catalogue_margin
        )

    columns.update(
        {
            "sample_index": sample_index.astype(np.int32),
            "kstar_1": kstar_1,
            "kstar_2": kstar_2,
            "mass_1": mass_1 / MSUN,
            "mass_2": mass_2 / MSUN,
            "f_gw": f_gw,
            "period": period / HOUR,
            "sep": separation / RSUN,
            "distance": distance,
            "l": l_rad,
            "b": b_rad,
            "dec": dec,
            "cooling_age_1": cooling_1 / GYR,
            "cooling_age_2": cooling_2 / GYR,
            "radius_1": radius_1 / RSUN,
            "radius_2": radius_2 / RSUN,
            "teff_1": teff_1,
            "teff_2": teff_2,
            "extinction_v": a_v,
            "cos_i": cos_i,
            **{f"mag_{band}": combined[band] for band in settings.bands},
            **{f"snr_{name}": value for name, value in snr.items()},
        }
    )
    return counts, {name: value[keep] for name, value in columns.items()}
