"""The Milky Way's stellar components and the Sun's place in them.

- **Structure.** :data:`MCMILLAN_2017` holds the best-fitting stellar components of
  McMillan (2017): thin and thick exponential discs and the axisymmetrised
  Bissantz & Gerhard (2002) bulge. Each component has a mass, a density profile, an
  age range and a metallicity label, and samples positions from its density exactly
  (discs: gamma and Laplace variates; bulge: inverse CDF of its ellipsoidal radius
  on a fine table). The stellar halo (~1 per cent of the stellar mass) is not
  modelled.
- **Sky coordinates.** :func:`sky_positions` takes Galactocentric Cartesian positions
  to barycentric distance, Galactic ``(l, b)`` and ecliptic ``(lon, lat)`` with
  astropy, in chunks (about 1 s per 1e6 points).

When stars formed in each component is the business of
:mod:`simfer.sims.star_formation`.

Units: constructors and results are astropy Quantities; internal arrays are SI
(m, s, kg).
"""

from __future__ import annotations

import functools
import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import astropy.units as u
import numpy as np
from astropy.coordinates import (
    ICRS,
    BarycentricTrueEcliptic,
    CartesianRepresentation,
    Galactic,
    Galactocentric,
    SkyCoord,
)
from numpy.typing import NDArray
from scipy.integrate import cumulative_simpson, quad

logger = logging.getLogger(__name__)

__all__ = [
    "MCMILLAN_2017",
    "ExponentialDisc",
    "GalacticComponent",
    "MilkyWayModel",
    "SkyPositions",
    "SunPosition",
    "TruncatedSpheroid",
    "sky_positions",
]

_KPC = u.kpc.to(u.m)
_GYR = u.Gyr.to(u.s)


def _generator(rng: np.random.Generator | int) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError("rng must be a numpy.random.Generator or an integer seed")


def _scalar(value: u.Quantity, unit: u.UnitBase, name: str, *, minimum=0.0) -> float:
    """Return ``value`` in SI, checking its unit and that it exceeds ``minimum``."""
    if not isinstance(value, u.Quantity) or not value.unit.is_equivalent(unit):
        raise TypeError(f"{name} must be a scalar Quantity convertible to {unit}")
    si = float(value.si.value)
    if not np.isfinite(si) or si <= minimum:
        raise ValueError(f"{name} must be finite and > {minimum}, got {value}")
    return si


def _count(n: int) -> int:
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    return int(n)


# --------------------------------------------------------------------- components
@dataclass(frozen=True)
class GalacticComponent(ABC):
    """A stellar component: mass, density, age range and metallicity label.

    Parameters
    ----------
    name : str
        Identifier, e.g. ``"thin_disc"``; star-formation models refer to it.
    metallicity : float
        Metal mass fraction Z assigned to the component's binaries.
    age_range : Quantity
        ``(youngest, oldest)`` stellar age in the component, Gyr.
    """

    name: str
    metallicity: float
    age_range: u.Quantity

    def _check_common(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("name must be a non-empty string")
        if not 0.0 < float(self.metallicity) < 0.1:
            raise ValueError(
                f"metallicity must be a mass fraction in (0, 0.1), got "
                f"{self.metallicity}"
            )
        ages = u.Quantity(self.age_range).to_value(u.Gyr)
        if ages.shape != (2,) or not 0.0 <= ages[0] < ages[1]:
            raise ValueError(
                "age_range must be (youngest, oldest) with 0 <= youngest "
                "< oldest, in Gyr"
            )

    @property
    @abstractmethod
    def stellar_mass(self) -> u.Quantity:
        """Total stellar mass of the density profile, Msun."""

    @abstractmethod
    def density(self, R: u.Quantity, z: u.Quantity) -> u.Quantity:
        """Stellar mass density at cylindrical radius ``R`` and height ``z``."""

    @abstractmethod
    def _sample_rz(self, n: int, rng: np.random.Generator) -> tuple[NDArray, NDArray]:
        """Cylindrical radius and height of ``n`` points, m."""

    def sample_positions(self, n: int, rng: np.random.Generator | int) -> u.Quantity:
        """Draw ``n`` Galactocentric Cartesian positions from the density.

        Parameters
        ----------
        n : int
            Number of positions.
        rng : numpy.random.Generator or int
            Random generator or seed.

        Returns
        -------
        Quantity
            Shape ``(3, n)``, kpc: ``x, y, z`` with the Galactic plane at ``z = 0``
            and azimuth uniform (the components are axisymmetric).
        """
        rng = _generator(rng)
        R, z = self._sample_rz(_count(n), rng)
        phi = rng.uniform(0.0, 2.0 * np.pi, R.size)
        return np.stack([R * np.cos(phi), R * np.sin(phi), z]) / _KPC * u.kpc


@dataclass(frozen=True)
class ExponentialDisc(GalacticComponent):
    """Double-exponential disc ``rho = Sigma0 / (2 z_d) exp(-R/R_d - |z|/z_d)``.

    Parameters
    ----------
    surface_density : Quantity
        Central surface density ``Sigma0``, Msun pc^-2.
    scale_length : Quantity
        Radial scale length ``R_d``, kpc.
    scale_height : Quantity
        Vertical scale height ``z_d``, kpc.

    Notes
    -----
    Mass ``2 pi Sigma0 R_d^2``. ``R`` follows a Gamma(2, ``R_d``) law and ``z`` a
    Laplace(0, ``z_d``) law, both sampled exactly.

    References
    ----------
    McMillan, P. J. 2017, MNRAS 465, 76, Sect. 2.
    """

    surface_density: u.Quantity = field(kw_only=True)
    scale_length: u.Quantity = field(kw_only=True)
    scale_height: u.Quantity = field(kw_only=True)

    def __post_init__(self) -> None:
        self._check_common()
        _scalar(self.surface_density, u.Msun / u.pc**2, "surface_density")
        _scalar(self.scale_length, u.kpc, "scale_length")
        _scalar(self.scale_height, u.kpc, "scale_height")

    @property
    def stellar_mass(self) -> u.Quantity:
        return (2 * np.pi * self.surface_density * self.scale_length**2).to(u.Msun)

    def density(self, R: u.Quantity, z: u.Quantity) -> u.Quantity:
        arg = R / self.scale_length + np.abs(z) / self.scale_height
        rho = self.surface_density / (2 * self.scale_height) * np.exp(-arg.decompose())
        return rho.to(u.Msun / u.pc**3)

    def _sample_rz(self, n, rng):
        r_d = self.scale_length.to_value(u.m)
        z_d = self.scale_height.to_value(u.m)
        return rng.gamma(2.0, r_d, n), rng.laplace(0.0, z_d, n)


@dataclass(frozen=True)
class TruncatedSpheroid(GalacticComponent):
    """Flattened, truncated power-law spheroid (the McMillan 2017 bulge).

    ``rho = rho0 (1 + m/r0)^(-alpha) exp(-(m/r_cut)^2)``, with ellipsoidal radius
    ``m = sqrt(R^2 + (z/q)^2)``.

    Parameters
    ----------
    central_density : Quantity
        ``rho0``, Msun pc^-3.
    scale_radius : Quantity
        ``r0``, kpc.
    cutoff_radius : Quantity
        ``r_cut``, kpc.
    alpha : float
        Power-law slope.
    axis_ratio : float
        Vertical flattening ``q`` in (0, 1].

    Notes
    -----
    ``m`` is drawn by inverting its cumulative mass on a 20 001-point table
    (Simpson integration; relative error in ``m`` below 1e-6), the direction is
    isotropic, and ``z`` is then scaled by ``q``.

    References
    ----------
    Bissantz, N. & Gerhard, O. 2002, MNRAS 330, 591.
    McMillan, P. J. 2017, MNRAS 465, 76, Sect. 2 (axisymmetrised form).
    """

    central_density: u.Quantity = field(kw_only=True)
    scale_radius: u.Quantity = field(kw_only=True)
    cutoff_radius: u.Quantity = field(kw_only=True)
    alpha: float = field(kw_only=True)
    axis_ratio: float = field(kw_only=True)

    def __post_init__(self) -> None:
        self._check_common()
        _scalar(self.central_density, u.Msun / u.pc**3, "central_density")
        _scalar(self.scale_radius, u.kpc, "scale_radius")
        _scalar(self.cutoff_radius, u.kpc, "cutoff_radius")
        if not np.isfinite(self.alpha) or self.alpha < 0:
            raise ValueError(f"alpha must be finite and >= 0, got {self.alpha}")
        if not 0.0 < self.axis_ratio <= 1.0:
            raise ValueError(f"axis_ratio must lie in (0, 1], got {self.axis_ratio}")

    def _shape(self, m: NDArray) -> NDArray:
        """Density over ``rho0`` at ellipsoidal radius ``m`` (m)."""
        r0 = self.scale_radius.to_value(u.m)
        rc = self.cutoff_radius.to_value(u.m)
        return (1.0 + m / r0) ** (-self.alpha) * np.exp(-((m / rc) ** 2))

    @property
    def stellar_mass(self) -> u.Quantity:
        rc = self.cutoff_radius.to_value(u.m)
        r0 = self.scale_radius.to_value(u.m)
        integral = sum(
            quad(lambda m: m * m * self._shape(m), lo, hi, epsrel=1e-12)[0]
            for lo, hi in ((0.0, r0), (r0, rc), (rc, 10.0 * rc))
        )
        rho0 = self.central_density.to_value(u.kg / u.m**3)
        return (4 * np.pi * self.axis_ratio * rho0 * integral * u.kg).to(u.Msun)

    def density(self, R: u.Quantity, z: u.Quantity) -> u.Quantity:
        m = np.hypot(R.to_value(u.m), z.to_value(u.m) / self.axis_ratio)
        return (self.central_density * self._shape(m)).to(u.Msun / u.pc**3)

    @functools.cached_property
    def _radius_table(self) -> tuple[NDArray, NDArray]:
        r0 = self.scale_radius.to_value(u.m)
        m = np.concatenate(
            [[0.0], np.geomspace(1e-6 * r0, 8 * self.cutoff_radius.si.value, 20_000)]
        )
        cdf = cumulative_simpson(m * m * self._shape(m), x=m, initial=0.0)
        return cdf / cdf[-1], m

    def _sample_rz(self, n, rng):
        cdf, grid = self._radius_table
        m = np.interp(rng.uniform(size=n), cdf, grid)
        cos_t = rng.uniform(-1.0, 1.0, n)
        return m * np.sqrt(1.0 - cos_t**2), self.axis_ratio * m * cos_t


# ------------------------------------------------------------ Sun and coordinates
@dataclass(frozen=True)
class SunPosition:
    """The Sun relative to the Galactic centre (astropy ``Galactocentric`` frame).

    Parameters
    ----------
    galcen_distance : Quantity
        Sun - Galactic-centre distance, kpc.
    z_sun : Quantity
        Height of the Sun above the Galactic mid-plane, pc.
    galcen_ra, galcen_dec : Quantity
        ICRS direction of the Galactic centre, deg (astropy's value, which is the
        Galactic ``(l, b) = (0, 0)`` direction to within 1e-4 deg).
    roll : Quantity
        Roll of the frame about the Sun - centre line, deg.

    Notes
    -----
    Defaults are astropy's "v4.0" parameter set, pinned here so that a change of
    astropy's defaults cannot move the Sun.

    References
    ----------
    GRAVITY Collaboration 2018, A&A 615, L15 (``galcen_distance`` = 8.122 kpc).
    Bennett, M. & Bovy, J. 2019, MNRAS 482, 1417 (``z_sun`` = 20.8 pc).
    """

    galcen_distance: u.Quantity = 8.122 * u.kpc
    z_sun: u.Quantity = 20.8 * u.pc
    galcen_ra: u.Quantity = 266.4051 * u.deg
    galcen_dec: u.Quantity = -28.936175 * u.deg
    roll: u.Quantity = 0.0 * u.deg

    def __post_init__(self) -> None:
        _scalar(self.galcen_distance, u.kpc, "galcen_distance")
        dz = _scalar(abs(self.z_sun), u.pc, "z_sun", minimum=-1.0)
        if dz >= self.galcen_distance.si.value:
            raise ValueError("z_sun must be smaller than galcen_distance")

    def frame(self) -> Galactocentric:
        """The astropy ``Galactocentric`` frame of this Sun position."""
        return Galactocentric(
            galcen_coord=ICRS(ra=self.galcen_ra, dec=self.galcen_dec),
            galcen_distance=self.galcen_distance,
            z_sun=self.z_sun,
            roll=self.roll,
        )


@dataclass(frozen=True)
class SkyPositions:
    """Positions of sources in Galactocentric, Galactic and ecliptic coordinates.

    Attributes
    ----------
    xyz : Quantity
        Galactocentric Cartesian positions, shape ``(3, n)``, kpc.
    distance : Quantity
        Distance from the solar-system barycentre, kpc.
    l, b : Quantity
        Galactic longitude in [0, 2 pi) and latitude, rad.
    lon_ecl, lat_ecl : Quantity
        Ecliptic longitude in [0, 2 pi) and latitude (``BarycentricTrueEcliptic``,
        equinox J2000), rad.
    """

    xyz: u.Quantity
    distance: u.Quantity
    l: u.Quantity  # noqa: E741 - the Galactic longitude is called l
    b: u.Quantity
    lon_ecl: u.Quantity
    lat_ecl: u.Quantity


def sky_positions(
    xyz: u.Quantity, sun: SunPosition | None = None, *, chunk_size: int = 1_000_000
) -> SkyPositions:
    """Convert Galactocentric Cartesian positions to distances and sky angles.

    Parameters
    ----------
    xyz : Quantity
        Galactocentric Cartesian positions, shape ``(3, n)``, length units.
    sun : SunPosition, optional
        The Sun's position; :class:`SunPosition` defaults if omitted.
    chunk_size : int
        Points converted at once (bounds temporary memory).

    Returns
    -------
    SkyPositions
        Barycentric distance, Galactic and ecliptic coordinates.

    Notes
    -----
    astropy's ``Galactocentric -> Galactic`` and ``-> BarycentricTrueEcliptic``
    transforms, applied chunk by chunk: 0.35-0.8 s per 1e6 points for both frames.
    """
    if not isinstance(xyz, u.Quantity) or xyz.ndim != 2 or xyz.shape[0] != 3:
        raise ValueError("xyz must be a length Quantity of shape (3, n)")
    if int(chunk_size) < 1:
        raise ValueError("chunk_size must be a positive integer")
    frame = (SunPosition() if sun is None else sun).frame()
    p = xyz.to_value(u.kpc)
    out = np.empty((5, p.shape[1]))
    for start in range(0, p.shape[1], int(chunk_size)):
        part = slice(start, start + int(chunk_size))
        coord = SkyCoord(CartesianRepresentation(p[:, part] * u.kpc), frame=frame)
        gal = coord.transform_to(Galactic())
        ecl = coord.transform_to(BarycentricTrueEcliptic())
        out[:, part] = (
            gal.distance.to_value(u.kpc),
            gal.l.rad,
            gal.b.rad,
            ecl.lon.rad,
            ecl.lat.rad,
        )
    return SkyPositions(
        xyz=xyz.to(u.kpc),
        distance=out[0] * u.kpc,
        l=out[1] * u.rad,
        b=out[2] * u.rad,
        lon_ecl=out[3] * u.rad,
        lat_ecl=out[4] * u.rad,
    )


@dataclass(frozen=True)
class MilkyWayModel:
    """A set of stellar components and the Sun's position among them.

    Parameters
    ----------
    name : str
        Label used in logs and records.
    components : tuple of GalacticComponent
        Components with distinct names.
    sun : SunPosition
        Where the observer sits.
    """

    name: str
    components: tuple[GalacticComponent, ...]
    sun: SunPosition = field(default_factory=SunPosition)

    def __post_init__(self) -> None:
        names = [c.name for c in self.components]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"components must be non-empty with unique names: {names}")

    def component(self, name: str) -> GalacticComponent:
        """Return the component called ``name``."""
        for comp in self.components:
            if comp.name == name:
                return comp
        raise ValueError(
            f"no component {name!r}; have {[c.name for c in self.components]}"
        )

    @property
    def stellar_mass(self) -> u.Quantity:
        """Total stellar mass of all components, Msun."""
        return sum((c.stellar_mass for c in self.components), 0.0 * u.Msun)

    def sample(self, name: str, n: int, rng: np.random.Generator | int) -> SkyPositions:
        """Draw ``n`` positions from component ``name`` with their sky coordinates."""
        xyz = self.component(name).sample_positions(n, rng)
        logger.debug("sampled %d positions in %s/%s", n, self.name, name)
        return sky_positions(xyz, self.sun)


# ------------------------------------------------------------- named models
#: McMillan (2017) best-fitting stellar components (values as distributed with
#: AGAMA, ``data/McMillan17.ini``). Masses of these profiles: thin disc 3.52e10,
#: thick disc 1.05e10, bulge 8.87e9 Msun. Age ranges: thin disc younger than
#: 10 Gyr (Yu & Jeffery 2011 take it to have formed 10 Gyr ago); thick disc begun
#: ~1.6 Gyr before the thin one (Kilic et al. 2017, ApJ 837, 162); bulge ~10 Gyr
#: old (Clarkson et al. 2008, ApJ 684, 1110). Metallicities: solar Z = 0.02 for the
#: thin disc and bulge (bulge mean [Fe/H] ~ 0, Zoccali et al. 2008, A&A 486, 177),
#: Z = 0.006 ([Fe/H] ~ -0.5) for the thick disc (Bland-Hawthorn & Gerhard 2016,
#: ARA&A 54, 529).
MCMILLAN_2017 = MilkyWayModel(
    name="McMillan2017",
    components=(
        ExponentialDisc(
            "thin_disc",
            0.02,
            [0.0, 10.0] * u.Gyr,
            surface_density=895.679 * u.Msun / u.pc**2,
            scale_length=2.49955 * u.kpc,
            scale_height=0.3 * u.kpc,
        ),
        ExponentialDisc(
            "thick_disc",
            0.006,
            [10.0, 11.6] * u.Gyr,
            surface_density=183.444 * u.Msun / u.pc**2,
            scale_length=3.02134 * u.kpc,
            scale_height=0.9 * u.kpc,
        ),
        TruncatedSpheroid(
            "bulge",
            0.02,
            [9.5, 10.5] * u.Gyr,
            central_density=98.351 * u.Msun / u.pc**3,
            scale_radius=0.075 * u.kpc,
            cutoff_radius=2.1 * u.kpc,
            alpha=1.8,
            axis_ratio=0.5,
        ),
    ),
)
