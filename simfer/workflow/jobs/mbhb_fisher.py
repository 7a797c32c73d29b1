"""Job kind ``mbhb_fisher``: LISA Fisher forecasts for massive black-hole binaries.

The sources come from one of three blocks: ``sources`` (a list of binaries given
one by one), ``grid`` (a Cartesian grid of total masses and redshifts, other
parameters fixed or the angles drawn isotropically) or ``population`` (n binaries
drawn from simple distributions with the run's seed). For each the job computes
the optimal SNR, the Fisher matrix over the chosen parameters
(:func:`simfer.inference.mbhb_fisher.mbhb_fisher`: IMRPhenomD/HM/XHM modes,
LISA's A, E, T response and noise), the 1-sigma errors, the fractional errors of
the distance and the detector- and source-frame masses, and the sky area.
Source-frame masses are redshifted with Planck18.

Outputs in the run directory:

- ``tables/sources.parquet``: the sources (source frame, with units);
- ``tables/fisher.parquet``: one row per source: SNR, every sigma, the derived
  fractional errors, sky area, condition number and finite-difference step error;
- ``tables/covariance.parquet``: the covariance matrices, one row per source and
  parameter, in the parameters' units (ln for ``log_*``, s, rad);
- ``figures/signal_vs_noise.png``: characteristic strain of A and E of one source
  against the A/E noise; ``figures/corner.png``: its Fisher error ellipses;
  ``figures/errors_vs_redshift.png`` (several redshifts only): distance, sky and
  source-frame chirp-mass errors against redshift, one line per total mass.
"""

from __future__ import annotations

import logging
import math
import warnings
from typing import Annotated, Any, Literal

import astropy.units as u
import numpy as np
from astropy.cosmology import Planck18
from astropy.table import QTable, vstack
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from simfer.inference.mbhb_fisher import (
    BOUNDED_ANGLE_PRIORS,
    FISHER_PARAMETERS,
    mbhb_fisher,
)
from simfer.inference.mbhb_snr import mbhb_tdi_signal
from simfer.plots import (
    plot_errors_vs_redshift,
    plot_fisher_ellipses,
    plot_signal_and_noise,
)
from simfer.sims.lisa_tdi_noise import (
    LISA_ARM_LENGTH,
    SCIRD_ACCELERATION_ASD,
    SCIRD_OMS_ASD,
    LisaTdiNoise,
)
from simfer.sims.mbhb_sources import Q_MIN, MBHBSources
from simfer.workflow.jobs import JOB_DESCRIPTIONS, JobInputError, JobKind, finite_median
from simfer.workflow.quantities import (
    Angle,
    Duration,
    PositiveDistance,
    PositiveDuration,
    PositiveFrequency,
    PositiveMass,
    format_quantity,
    parse_quantity,
)

__all__ = [
    "JOB",
    "MBHBFisherConfig",
    "NoiseSettings",
    "SourceEntry",
    "SourceGrid",
    "SourcePopulation",
    "run",
]

logger = logging.getLogger(__name__)

#: Version of the stored Fisher tables (see ``inputs`` in ``run``).
_TABLE_VERSION = 2

#: Parameters drawn in the corner figure by default (those that are free).
CORNER_PARAMETERS = (
    "log_chirp_mass",
    "mass_ratio",
    "chi1",
    "chi2",
    "log_distance",
    "inclination",
    "ecliptic_longitude",
    "ecliptic_latitude",
)
#: Sources per call of mbhb_fisher (one progress step each).
_BATCH = 32


# --- value types --------------------------------------------------------------


def _mass_ratio_range(value: float) -> float:
    if not Q_MIN <= value <= 1:
        raise ValueError(
            f"expected a mass ratio q = m2/m1 in [{Q_MIN:g}, 1]; found {value!r}"
        )
    return value


def _spin_range(value: float) -> float:
    if not -1 < value < 1:
        raise ValueError(f"expected an aligned spin in (-1, 1); found {value!r}")
    return value


def _positive_redshift(value: float) -> float:
    if not value > 0:
        raise ValueError(f"expected a redshift > 0; found {value!r}")
    return value


def _inclination_range(value: u.Quantity) -> u.Quantity:
    if not 0 <= value.to_value(u.deg) <= 180:
        raise ValueError(f"expected 0 to 180 deg; found {value}")
    return value


def _latitude_range(value: u.Quantity) -> u.Quantity:
    if abs(value.to_value(u.deg)) > 90:
        raise ValueError(f"expected -90 to 90 deg; found {value}")
    return value


MassRatio = Annotated[float, AfterValidator(_mass_ratio_range)]
Spin = Annotated[float, AfterValidator(_spin_range)]
Redshift = Annotated[float, AfterValidator(_positive_redshift)]
Inclination = Annotated[Angle, AfterValidator(_inclination_range)]
Latitude = Annotated[Angle, AfterValidator(_latitude_range)]


def _parse_priors(value: Any) -> str | dict[str, float | u.Quantity]:
    """``none``, ``bounded_angles`` or a mapping of parameter name to 1-sigma width.

    Widths of dimensionless parameters (``log_*``, ``mass_ratio``, spins) are bare
    positive numbers; ``t_c`` takes a duration and the angles an angle, with units.
    """
    if value is None:
        return "none"
    if isinstance(value, str):
        if value not in ("none", "bounded_angles"):
            raise ValueError(
                "expected 'none', 'bounded_angles' or a mapping of parameter name "
                f"to prior width; found {value!r}"
            )
        return value
    if not isinstance(value, dict):
        raise ValueError(
            "expected 'none', 'bounded_angles' or a mapping of parameter name to "
            f"prior width; found {value!r}"
        )
    widths: dict[str, float | u.Quantity] = {}
    for name, width in value.items():
        if name not in FISHER_PARAMETERS:
            raise ValueError(
                f"expected prior names from {', '.join(FISHER_PARAMETERS)}; "
                f"found {name!r}"
            )
        unit = FISHER_PARAMETERS[name]
        if unit == u.one:
            number_like = isinstance(width, int | float) and not isinstance(width, bool)
            if not (number_like and math.isfinite(width) and width > 0):
                raise ValueError(
                    f"expected the prior width of {name!r} as a positive number; "
                    f"found {width!r}"
                )
            widths[name] = float(width)
        else:
            physical_type, example = (
                ("time", "100 s") if unit == u.s else ("angle", "10 deg")
            )
            try:
                widths[name] = parse_quantity(width, physical_type, positive=True)
            except ValueError:
                raise ValueError(
                    f"expected the prior width of {name!r} as a positive "
                    f"{physical_type} with a unit, e.g. {example!r}; found {width!r}"
                ) from None
    return widths


def _serialise_priors(value: str | dict[str, Any]) -> str | dict[str, Any]:
    if isinstance(value, str):
        return value
    return {
        name: format_quantity(width) if isinstance(width, u.Quantity) else width
        for name, width in value.items()
    }


Priors = Annotated[
    str | dict[str, float | u.Quantity],
    PlainValidator(_parse_priors),
    PlainSerializer(_serialise_priors),
    WithJsonSchema(
        {
            "anyOf": [
                {"enum": ["none", "bounded_angles"]},
                {
                    "type": "object",
                    "additionalProperties": {"type": ["number", "string"]},
                },
            ]
        }
    ),
]


def _quantity_field(default: str, description: str) -> Any:
    return Field(default=default, validate_default=True, description=description)


_ANGLE_DESCRIPTIONS = {
    "inclination": "Angle between orbital angular momentum and line of sight, "
    "0 to 180 deg [default 60 deg; face-on sources make phase and polarization "
    "degenerate].",
    "phase": "Observer's azimuthal phase in the source frame [default 0 deg].",
    "ecliptic_longitude": "Ecliptic longitude, SSB frame [default 0 deg].",
    "ecliptic_latitude": "Ecliptic latitude, -90 to 90 deg [default 0 deg].",
    "polarization": "Polarization angle [default 0 deg].",
    "t_c": "Time of the 22-mode peak, SSB frame (lisabeta's Deltat) [default 0 s].",
}
_ANGLES = ("inclination", "phase", "ecliptic_longitude", "ecliptic_latitude",
           "polarization")  # fmt: skip


# --- the three ways to give sources ---------------------------------------------


class _SourceAngles(BaseModel):
    """Angles and coalescence time shared by hand-given sources and grids."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    inclination: Inclination = _quantity_field(
        "60 deg", _ANGLE_DESCRIPTIONS["inclination"]
    )
    phase: Angle = _quantity_field("0 deg", _ANGLE_DESCRIPTIONS["phase"])
    ecliptic_longitude: Angle = _quantity_field(
        "0 deg", _ANGLE_DESCRIPTIONS["ecliptic_longitude"]
    )
    ecliptic_latitude: Latitude = _quantity_field(
        "0 deg", _ANGLE_DESCRIPTIONS["ecliptic_latitude"]
    )
    polarization: Angle = _quantity_field("0 deg", _ANGLE_DESCRIPTIONS["polarization"])
    t_c: Duration = _quantity_field("0 s", _ANGLE_DESCRIPTIONS["t_c"])


class SourceEntry(_SourceAngles):
    """One binary given by hand: source-frame masses, spins, redshift, angles."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str | None = Field(
        default=None, description="Label in tables and figures [default source_<i>]."
    )
    total_mass: PositiveMass | None = Field(
        default=None,
        description="Source-frame total mass m1 + m2 (give this and mass_ratio, "
        "or m1 and m2).",
    )
    mass_ratio: MassRatio | None = Field(
        default=None, description=f"q = m2/m1 in [{Q_MIN:g}, 1], with total_mass."
    )
    m1: PositiveMass | None = Field(
        default=None, description="Source-frame mass of the heavier black hole."
    )
    m2: PositiveMass | None = Field(
        default=None, description="Source-frame mass of the lighter black hole."
    )
    chi1: Spin = Field(
        default=0.0, description="Aligned spin of the heavier hole, (-1, 1) [0]."
    )
    chi2: Spin = Field(
        default=0.0, description="Aligned spin of the lighter hole, (-1, 1) [0]."
    )
    redshift: Redshift = Field(description="Cosmological redshift z > 0.")

    @field_validator("m2")
    @classmethod
    def _lighter_second(
        cls, value: u.Quantity | None, info: ValidationInfo
    ) -> u.Quantity | None:
        m1 = info.data.get("m1")
        if value is None or m1 is None:
            return value
        q = float(value / m1)
        if q > 1:
            raise ValueError(
                f"expected m2 <= m1 (m1 is the heavier black hole); found m2 = "
                f"{value} above m1 = {m1}"
            )
        if q < Q_MIN:
            raise ValueError(f"expected m2/m1 >= {Q_MIN:g}; found m2/m1 = {q:.3g}")
        return value

    @model_validator(mode="after")
    def _one_mass_pair(self) -> SourceEntry:
        total = self.total_mass is not None or self.mass_ratio is not None
        components = self.m1 is not None or self.m2 is not None
        if total and components:
            raise ValueError(
                "expected either total_mass and mass_ratio or m1 and m2; found both"
            )
        if total and (self.total_mass is None or self.mass_ratio is None):
            missing = "mass_ratio" if self.mass_ratio is None else "total_mass"
            raise ValueError(
                f"expected total_mass and mass_ratio together; found no {missing}"
            )
        if components and (self.m1 is None or self.m2 is None):
            missing = "m2" if self.m2 is None else "m1"
            raise ValueError(f"expected m1 and m2 together; found no {missing}")
        if not (total or components):
            raise ValueError(
                "expected the masses, as total_mass and mass_ratio or as m1 and m2; "
                "found neither"
            )
        return self

    def total_and_ratio(self) -> tuple[u.Quantity, float]:
        """Source-frame total mass (solMass) and q = m2/m1."""
        if self.total_mass is not None:
            return self.total_mass.to(u.solMass), float(self.mass_ratio)
        return (self.m1 + self.m2).to(u.solMass), float(self.m2 / self.m1)


class SourceGrid(_SourceAngles):
    """A Cartesian grid: every total mass at every redshift."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    total_mass: list[PositiveMass] = Field(
        min_length=1, description="Source-frame total masses m1 + m2."
    )
    redshift: list[Redshift] = Field(min_length=1, description="Redshifts z > 0.")
    mass_ratio: MassRatio = Field(
        default=0.5, description=f"q = m2/m1 in [{Q_MIN:g}, 1] [default 0.5]."
    )
    chi1: Spin = Field(default=0.0, description="Aligned spin, heavier hole [0].")
    chi2: Spin = Field(default=0.0, description="Aligned spin, lighter hole [0].")
    random_angles: bool = Field(
        default=False,
        description="Draw each source's angles isotropically with the run's seed "
        "(cos inclination and sin latitude uniform in [-1, 1], longitude and phase "
        "in [0, 2 pi), polarization in [0, pi)) instead of the fixed ones below.",
    )

    @field_validator("total_mass", "redshift")
    @classmethod
    def _each_once(cls, value: list) -> list:
        keys = [float(v.to_value(u.solMass)) if hasattr(v, "unit") else v
                for v in value]  # fmt: skip
        if len(set(keys)) != len(keys):
            raise ValueError(f"expected each value once; found {keys}")
        return value

    @model_validator(mode="after")
    def _random_or_fixed_angles(self) -> SourceGrid:
        fixed = sorted(set(_ANGLES) & self.model_fields_set)
        if self.random_angles and fixed:
            raise ValueError(
                "expected no fixed angles with random_angles: true; found "
                + ", ".join(fixed)
            )
        return self


def _ordered_range(value: tuple) -> tuple:
    low, high = value
    if high < low:
        raise ValueError(f"expected [low, high] with low <= high; found {list(value)}")
    return value


class SourcePopulation(BaseModel):
    """Binaries drawn with the run's seed; angles isotropic."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    n_sources: int = Field(ge=1, le=100_000, description="Number of binaries.")
    total_mass_range: Annotated[
        tuple[PositiveMass, PositiveMass], AfterValidator(_ordered_range)
    ] = Field(
        default=("1e5 solMass", "1e7 solMass"),
        validate_default=True,
        description="Source-frame total mass, log-uniform [default 1e5 to 1e7 "
        "solMass].",
    )
    mass_ratio_range: Annotated[
        tuple[MassRatio, MassRatio], AfterValidator(_ordered_range)
    ] = Field(default=(0.1, 1.0), description="q = m2/m1, uniform [0.1 to 1].")
    spin_range: Annotated[tuple[Spin, Spin], AfterValidator(_ordered_range)] = Field(
        default=(-0.9, 0.9),
        description="Each aligned spin, uniform and independent [-0.9 to 0.9].",
    )
    redshift_range: Annotated[
        tuple[Redshift, Redshift], AfterValidator(_ordered_range)
    ] = Field(default=(1.0, 5.0), description="Redshift, uniform in z [1 to 5].")
    t_c: Duration = _quantity_field("0 s", _ANGLE_DESCRIPTIONS["t_c"])


class NoiseSettings(BaseModel):
    """LISA noise (:class:`simfer.sims.lisa_tdi_noise.LisaTdiNoise`)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    generation: Literal[1, 2] = Field(default=1, description="TDI generation [1].")
    confusion: Literal["karnesis2021", "robson2019"] | None = Field(
        default=None,
        description="Galactic foreground fit added to A and E, or null for "
        "instrument noise only [default null].",
    )
    mission_duration: PositiveDuration = Field(
        default="4 yr",
        validate_default=True,
        description="Mission duration that sets the foreground level (not the "
        "observed time before merger, t_obs) [default 4 yr].",
    )
    arm_length: PositiveDistance = Field(
        default=f"{LISA_ARM_LENGTH:g} m",
        validate_default=True,
        description="Arm length [default 2.5e9 m].",
    )
    acceleration_asd_factor: float = Field(
        default=1.0,
        gt=0,
        description="Test-mass acceleration noise amplitude in units of the "
        f"requirement, {SCIRD_ACCELERATION_ASD:g} m s^-2 Hz^-1/2 [default 1].",
    )
    oms_asd_factor: float = Field(
        default=1.0,
        gt=0,
        description="Optical-metrology noise amplitude in units of the "
        f"requirement, {SCIRD_OMS_ASD * 1e12:g} pm Hz^-1/2 [default 1].",
    )

    @model_validator(mode="after")
    def _buildable(self) -> NoiseSettings:
        try:
            self.build()
        except (TypeError, ValueError) as error:
            raise ValueError(f"expected valid noise settings; found {error}") from None
        return self

    def build(self) -> LisaTdiNoise:
        """The noise model (rescaled, as the Fisher matrices use it)."""
        return LisaTdiNoise(
            generation=self.generation,
            rescaled=True,
            confusion=self.confusion,
            t_obs=self.mission_duration,
            arm_length=float(self.arm_length.to_value(u.m)),
            acceleration_asd=SCIRD_ACCELERATION_ASD * self.acceleration_asd_factor,
            oms_asd=SCIRD_OMS_ASD * self.oms_asd_factor,
        )


def _check_parameter_names(value: list[str], what: str) -> list[str]:
    unknown = [name for name in value if name not in FISHER_PARAMETERS]
    if unknown:
        raise ValueError(
            f"expected {what} from {', '.join(FISHER_PARAMETERS)}; found "
            + ", ".join(repr(name) for name in unknown)
        )
    if len(set(value)) != len(value):
        raise ValueError(f"expected each parameter once; found {value}")
    return value


class MBHBFisherConfig(BaseModel):
    """Settings of the ``mbhb_fisher`` job kind."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    sources: list[SourceEntry] | None = Field(
        default=None,
        min_length=1,
        description="Binaries given one by one (or use grid or population).",
    )
    grid: SourceGrid | None = Field(
        default=None, description="Every total mass at every redshift."
    )
    population: SourcePopulation | None = Field(
        default=None, description="Binaries drawn from simple distributions."
    )
    approximant: Literal["IMRPhenomD", "IMRPhenomHM", "IMRPhenomXHM"] = Field(
        default="IMRPhenomD",
        description="Waveform model; HM and XHM include higher modes "
        "[default IMRPhenomD].",
    )
    t_obs: PositiveDuration | None = Field(
        default="1 yr",
        validate_default=True,
        description="Observed time before merger: the signal starts this long "
        "before coalescence (Newtonian chirp), or at f_min if later; null: from "
        "f_min [default 1 yr].",
    )
    f_min: PositiveFrequency = Field(
        default="1e-5 Hz",
        validate_default=True,
        description="Lower edge of the band [default 1e-5 Hz].",
    )
    f_max: PositiveFrequency = Field(
        default="1 Hz",
        validate_default=True,
        description="Upper edge of the band, above f_min [default 1 Hz].",
    )
    n_grid: int = Field(
        default=200,
        ge=32,
        le=10_000,
        description="Points of each source's sparse frequency grid, >= 32 [200].",
    )
    channels: Literal["AET", "AE"] = Field(
        default="AET", description="TDI channels in the inner product [AET]."
    )
    parameters: list[str] = Field(
        default_factory=lambda: list(FISHER_PARAMETERS),
        min_length=1,
        description="Free parameters of the Fisher matrix, the others held fixed "
        "[default all: " + ", ".join(FISHER_PARAMETERS) + "].",
    )
    priors: Priors = Field(
        default="none",
        description="Gaussian priors added to the Fisher matrix: 'none' [default], "
        "'bounded_angles' (each angle the width of a uniform distribution over its "
        "range, width/sqrt(12)) or a mapping of parameter name to 1-sigma width "
        "(numbers for log_*, mass_ratio, chi1, chi2; '100 s' for t_c; '10 deg' for "
        "angles).",
    )
    noise: NoiseSettings = Field(default_factory=NoiseSettings)
    condition_threshold: float = Field(
        default=1e10,
        gt=1,
        description="Condition number above which a Fisher matrix counts as "
        "ill-conditioned (warned, counted in the summary) [1e10].",
    )
    plot_source: str | None = Field(
        default=None,
        description="Name of the source drawn in signal_vs_noise and corner "
        "[default the first].",
    )
    corner_parameters: list[str] = Field(
        default_factory=lambda: list(CORNER_PARAMETERS),
        min_length=1,
        description="Parameters of the corner figure, those free [default "
        + ", ".join(CORNER_PARAMETERS)
        + "].",
    )

    @field_validator("f_max")
    @classmethod
    def _above_f_min(cls, value: u.Quantity, info: ValidationInfo) -> u.Quantity:
        f_min = info.data.get("f_min")
        if f_min is not None and value <= f_min:
            raise ValueError(
                f"expected a frequency above f_min = {f_min}; found {value}"
            )
        return value

    @field_validator("parameters")
    @classmethod
    def _known_parameters(cls, value: list[str]) -> list[str]:
        return _check_parameter_names(value, "parameter names")

    @field_validator("corner_parameters")
    @classmethod
    def _known_corner_parameters(cls, value: list[str]) -> list[str]:
        return _check_parameter_names(value, "parameter names")

    @field_validator("priors")
    @classmethod
    def _priors_on_free_parameters(cls, value: Any, info: ValidationInfo) -> Any:
        free = info.data.get("parameters")
        if isinstance(value, dict) and free is not None:
            fixed = [name for name in value if name not in free]
            if fixed:
                raise ValueError(
                    "expected priors on free parameters only (see 'parameters'); "
                    f"found {', '.join(fixed)}"
                )
        return value

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, value: list[SourceEntry] | None) -> Any:
        if value is not None:
            names = _entry_names(value)
            repeated = sorted({n for n in names if names.count(n) > 1})
            if repeated:
                raise ValueError(f"expected each name once; found {repeated} twice")
        return value

    @model_validator(mode="after")
    def _one_source_block(self) -> MBHBFisherConfig:
        given = [k for k in ("sources", "grid", "population") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(
                "expected exactly one of 'sources', 'grid' and 'population'; found "
                + (" and ".join(given) if given else "none")
            )
        return self

    @field_validator("plot_source")
    @classmethod
    def _known_source(cls, value: str | None, info: ValidationInfo) -> str | None:
        blocks = [info.data.get(k) for k in ("sources", "grid", "population")]
        if value is None or sum(b is not None for b in blocks) != 1:
            return value  # a missing or doubled source block is reported itself
        names = _source_names(*blocks)
        if value not in names:
            shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
            raise ValueError(
                f"expected one of the source names ({shown}); found {value!r}"
            )
        return value

    def names(self) -> list[str]:
        """Source names, in the order of the tables (known before any draw)."""
        return _source_names(self.sources, self.grid, self.population)


def _source_names(sources, grid, population) -> list[str]:
    """Names of the sources of whichever block is given."""
    if sources is not None:
        return _entry_names(sources)
    if grid is not None:
        names = [
            f"M{mass.to_value(u.solMass):.3g}_z{z:.3g}"
            for mass in grid.total_mass
            for z in grid.redshift
        ]
        if len(set(names)) < len(names):  # values equal to 3 digits: number them
            names = [f"{name}_{i}" for i, name in enumerate(names)]
        return names
    width = len(str(population.n_sources - 1))
    return [f"population_{i:0{width}d}" for i in range(population.n_sources)]


def _entry_names(entries: list[SourceEntry]) -> list[str]:
    return [e.name if e.name is not None else f"source_{i}"
            for i, e in enumerate(entries)]  # fmt: skip


# --- sources ------------------------------------------------------------------


def _isotropic_angles(rng: np.random.Generator, n: int) -> dict[str, u.Quantity]:
    """Isotropic orientations and sky positions (rad)."""
    return {
        "inclination": np.arccos(rng.uniform(-1.0, 1.0, n)) * u.rad,
        "phase": rng.uniform(0.0, 2 * np.pi, n) * u.rad,
        "ecliptic_longitude": rng.uniform(0.0, 2 * np.pi, n) * u.rad,
        "ecliptic_latitude": np.arcsin(rng.uniform(-1.0, 1.0, n)) * u.rad,
        "polarization": rng.uniform(0.0, np.pi, n) * u.rad,
    }


def _source_table(config: MBHBFisherConfig, context: Any) -> QTable:
    """The sources, source frame, with units (random draws use the run's seed)."""
    names = config.names()
    n = len(names)
    if config.sources is not None:
        pairs = [entry.total_and_ratio() for entry in config.sources]
        columns = {
            "total_mass": u.Quantity([p[0] for p in pairs]),
            "mass_ratio": np.array([p[1] for p in pairs]),
            "chi1": np.array([e.chi1 for e in config.sources]),
            "chi2": np.array([e.chi2 for e in config.sources]),
            "redshift": np.array([e.redshift for e in config.sources]),
        }
        for name in (*_ANGLES, "t_c"):
            columns[name] = u.Quantity([getattr(e, name) for e in config.sources])
    elif config.grid is not None:
        grid = config.grid
        mass, z = np.meshgrid(
            u.Quantity(grid.total_mass).to_value(u.solMass), grid.redshift,
            indexing="ij",
        )  # fmt: skip
        columns = {
            "total_mass": mass.ravel() * u.solMass,
            "mass_ratio": np.full(n, grid.mass_ratio),
            "chi1": np.full(n, grid.chi1),
            "chi2": np.full(n, grid.chi2),
            "redshift": z.ravel(),
        }
        if grid.random_angles:
            columns |= _isotropic_angles(context.rng("grid_angles"), n)
        else:
            for name in _ANGLES:
                columns[name] = np.full(n, 1.0) * getattr(grid, name)
        columns["t_c"] = np.full(n, 1.0) * grid.t_c
    else:
        population = config.population
        rng = context.rng("population")
        low, high = (m.to_value(u.solMass) for m in population.total_mass_range)
        columns = {
            "total_mass": np.exp(rng.uniform(np.log(low), np.log(high), n)) * u.solMass,
            "mass_ratio": rng.uniform(*population.mass_ratio_range, n),
            "chi1": rng.uniform(*population.spin_range, n),
            "chi2": rng.uniform(*population.spin_range, n),
            "redshift": rng.uniform(*population.redshift_range, n),
        }
        columns |= _isotropic_angles(rng, n)
        columns["t_c"] = np.full(n, 1.0) * population.t_c

    table = QTable({"name": names})
    table["total_mass"] = columns["total_mass"].to(u.solMass)
    table["mass_ratio"] = columns["mass_ratio"]
    q = np.asarray(columns["mass_ratio"])
    table["m1"] = table["total_mass"] / (1 + q)
    table["m2"] = table["total_mass"] * q / (1 + q)
    table["chirp_mass"] = table["total_mass"] * (q / (1 + q) ** 2) ** 0.6
    table["chi1"] = columns["chi1"]
    table["chi2"] = columns["chi2"]
    table["redshift"] = columns["redshift"]
    table["luminosity_distance"] = Planck18.luminosity_distance(table["redshift"])
    for name in _ANGLES:
        table[name] = columns[name].to(u.deg)
    table["t_c"] = columns["t_c"].to(u.s)
    return table


def _mbhb_sources(table: QTable) -> MBHBSources:
    """The MBHBSources of (rows of) a source table."""
    return MBHBSources.from_total_mass_ratio(
        table["total_mass"],
        np.asarray(table["mass_ratio"]),
        chi1=np.asarray(table["chi1"]),
        chi2=np.asarray(table["chi2"]),
        redshift=np.asarray(table["redshift"]),
        **{name: table[name] for name in (*_ANGLES, "t_c")},
    )


def _prior_widths(priors: str | dict[str, Any]) -> dict[str, float] | None:
    """Prior widths in the parameters' units, as mbhb_fisher takes them."""
    if priors == "none":
        return None
    if priors == "bounded_angles":
        return dict(BOUNDED_ANGLE_PRIORS)
    return {
        name: float(width.to_value(FISHER_PARAMETERS[name]))
        if isinstance(width, u.Quantity)
        else float(width)
        for name, width in priors.items()
    }


def _signal_options(config: MBHBFisherConfig) -> dict[str, Any]:
    """Options shared by mbhb_fisher and mbhb_tdi_signal."""
    return {
        "approximant": config.approximant,
        "t_obs": config.t_obs,
        "f_min": config.f_min,
        "f_max": config.f_max,
        "n_grid": config.n_grid,
        "cosmology": Planck18,
    }


# --- the run ------------------------------------------------------------------


def run(config: MBHBFisherConfig, context: Any) -> dict[str, Any]:
    """Run the job (see the module docstring); returns the summary."""
    sources = _source_table(config, context)
    context.record.write_table("sources", sources)
    noise = config.noise.build()
    priors = _prior_widths(config.priors)
    free = [name for name in FISHER_PARAMETERS if name in config.parameters]
    logger.info(
        "%d source(s), %s, %d free parameters", len(sources), config.approximant,
        len(free),
    )  # fmt: skip

    inputs = {
        # bumped whenever the tables' columns or the computation change, so
        # that --resume recomputes a step stored by older code
        "table_version": _TABLE_VERSION,
        # full-precision values (JSON floats round-trip exactly), with units
        "sources": {
            name: [str(sources[name].unit), np.asarray(sources[name]).tolist()]
            if hasattr(sources[name], "unit")
            else np.asarray(sources[name]).tolist()
            for name in sources.colnames
        },
        "settings": config.model_dump(
            mode="json",
            include={
                "approximant",
                "t_obs",
                "f_min",
                "f_max",
                "n_grid",
                "channels",
                "parameters",
                "priors",
                "noise",
                "condition_threshold",
            },
        ),
        "cosmology": Planck18.name,
    }

    def compute_fisher() -> dict[str, QTable]:
        fisher_tables, covariance_tables = [], []
        batches = [
            slice(lo, min(lo + _BATCH, len(sources)))
            for lo in range(0, len(sources), _BATCH)
        ]
        for batch in context.progress(batches, "Fisher matrices", len(batches)):
            rows = sources[batch]
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    result = mbhb_fisher(
                        _mbhb_sources(rows),
                        free,
                        priors=priors,
                        channels=config.channels,
                        noise=noise,
                        condition_threshold=config.condition_threshold,
                        **_signal_options(config),
                    )
            except ValueError as error:
                raise JobInputError(
                    f"cannot compute the Fisher matrices of the batch of sources "
                    f"{rows['name'][0]} to {rows['name'][-1]} (a 'source i' below "
                    f"is the batch's i-th, i.e. source {batch.start} + i of the "
                    f"run): {error}"
                ) from None
            for warning in caught:  # number the sources as the run does
                warnings.warn(
                    f"sources {rows['name'][0]} to {rows['name'][-1]} ('source i' "
                    f"is source {batch.start} + i of the run): {warning.message}",
                    warning.category,
                    stacklevel=1,
                )
            fisher_tables.append(_fisher_table(rows, result, batch, config))
            covariance_tables.append(_covariance_table(rows, result, batch))
        return {
            "fisher": vstack(fisher_tables),
            "covariance": vstack(covariance_tables),
        }

    tables = context.record.step("fisher", inputs, compute_fisher)
    fisher, covariance = tables["fisher"], tables["covariance"]

    plot_index = (
        0 if config.plot_source is None else config.names().index(config.plot_source)
    )
    _figures(config, sources, fisher, covariance, plot_index, noise, context)
    return _summary(fisher)


def _fisher_table(
    rows: QTable, result: Any, batch: slice, config: MBHBFisherConfig
) -> QTable:
    """One row per source: identification, then MBHBFisher.table()."""
    table = QTable(
        {
            "name": rows["name"],
            "index": np.arange(batch.start, batch.stop),
            "total_mass": rows["total_mass"],
            "mass_ratio": rows["mass_ratio"],
            "redshift": rows["redshift"],
        }
    )
    errors = result.table()
    for name in errors.colnames:
        table[name] = errors[name]
    condition = np.asarray(result.condition_number)
    table["ill_conditioned"] = ~(condition <= config.condition_threshold)
    return table


def _covariance_table(rows: QTable, result: Any, batch: slice) -> QTable:
    """Covariance matrices: a row per (source, parameter), a column per parameter."""
    names = list(result.parameter_names)
    k = len(names)
    table = QTable(
        {
            "name": np.repeat(np.asarray(rows["name"]), k),
            "index": np.repeat(np.arange(batch.start, batch.stop), k),
            "parameter": np.tile(names, len(rows)),
        }
    )
    flat = np.asarray(result.covariance).reshape(-1, k)
    for column, name in enumerate(names):
        table[name] = flat[:, column]
    return table


def _figures(config, sources, fisher, covariance, index, noise, context) -> None:
    """Signal against noise and the error ellipses of one source; errors vs z."""
    name = sources["name"][index]
    row = sources[index : index + 1]
    title_source = (
        f"{name}: M = {row['total_mass'][0].to_value(u.solMass):.3g} Msun, "
        f"q = {row['mass_ratio'][0]:.3g}, z = {row['redshift'][0]:.3g}"
    )

    signal = mbhb_tdi_signal(_mbhb_sources(row), noise=noise, **_signal_options(config))
    f_low, f_high = (float(f[0]) for f in signal.frequency_range)
    frequency = np.geomspace(f_low, f_high, 2000)
    channels = signal.evaluate(frequency, index=0)
    band = (config.f_min.to_value(u.Hz), config.f_max.to_value(u.Hz))
    noise_frequency = np.geomspace(*band, 2000)
    psd = noise.psd(noise_frequency)
    snr = float(fisher["snr"][index])
    context.record.write_figure(
        "signal_vs_noise",
        plot_signal_and_noise(
            frequency,
            {
                "|A|": 2 * frequency * np.abs(channels[0]),
                "|E|": 2 * frequency * np.abs(channels[1]),
            },
            noise_frequency,
            {"A, E noise": np.sqrt(noise_frequency * psd[0])},
            ylabel="2 f |h(f)| and sqrt(f S(f)) (rescaled TDI)",
            title=f"{title_source}, {config.approximant}, SNR {snr:.3g} "
            f"({config.channels})",
        ),
    )

    block = covariance[np.asarray(covariance["index"]) == index]
    shown = [p for p in FISHER_PARAMETERS
             if p in config.corner_parameters and p in block.colnames]  # fmt: skip
    order = [list(block["parameter"]).index(p) for p in shown]
    matrix = np.array([[block[q][i] for q in shown] for i in order], dtype=float)
    if shown and np.all(np.isfinite(matrix)):
        context.record.write_figure(
            "corner",
            plot_fisher_ellipses(
                matrix,
                shown,
                labels=[_AXIS_LABELS.get(p, p) for p in shown],
                title=f"Fisher errors, {title_source}",
            ),
        )
    else:
        logger.warning(
            "no corner figure: the covariance of %s is not finite (ill-conditioned "
            "Fisher matrix) or no corner parameter is free",
            name,
        )

    redshift = np.asarray(fisher["redshift"], dtype=float)
    if np.unique(redshift).size > 1:
        context.record.write_figure(
            "errors_vs_redshift",
            plot_errors_vs_redshift(
                redshift,
                {
                    "sigma_DL / DL": np.asarray(fisher["relative_error_distance"]),
                    "sky area [deg2]": fisher["sky_area"].to_value(u.deg**2),
                    "sigma_Mc / Mc (source frame)": np.asarray(
                        fisher["relative_error_source_chirp_mass"]
                    ),
                },
                group=fisher["total_mass"].to_value(u.solMass),
                group_label="M [Msun]",
                title=f"LISA Fisher errors against redshift, {config.approximant}, "
                f"t_obs {config.t_obs}",
            ),
        )


_AXIS_LABELS = {
    "log_chirp_mass": "δ ln Mc",
    "mass_ratio": "δ q",
    "chi1": "δ χ1",
    "chi2": "δ χ2",
    "t_c": "δ t_c [s]",
    "phase": "δ φ [rad]",
    "log_distance": "δ ln DL",
    "inclination": "δ ι [rad]",
    "ecliptic_longitude": "δ λ [rad]",
    "ecliptic_latitude": "δ β [rad]",
    "polarization": "δ ψ [rad]",
}


def _summary(fisher: QTable) -> dict[str, Any]:
    condition = np.asarray(fisher["condition_number"], dtype=float)
    finite_condition = condition[np.isfinite(condition)]
    return {
        "n_sources": len(fisher),
        "median_snr": finite_median(fisher["snr"]),
        "median_relative_error_distance": finite_median(
            fisher["relative_error_distance"]
        ),
        "median_sky_area_deg2": finite_median(fisher["sky_area"].to_value(u.deg**2)),
        "median_relative_error_source_chirp_mass": finite_median(
            fisher["relative_error_source_chirp_mass"]
        ),
        "max_condition_number": float(np.max(condition))
        if finite_condition.size == condition.size
        else float("inf"),
        "n_ill_conditioned": int(np.sum(np.asarray(fisher["ill_conditioned"]))),
        "n_unreliable": int(np.sum(~np.asarray(fisher["reliable"], dtype=bool))),
        "max_step_error": float(np.nanmax(np.asarray(fisher["step_error"]))),
    }


JOB = JobKind(
    name="mbhb_fisher",
    description=JOB_DESCRIPTIONS["mbhb_fisher"],
    config_model=MBHBFisherConfig,
    run=run,
    summary_keys={
        "n_sources": "number of binaries",
        "median_snr": "median optimal SNR (channels of the config)",
        "median_relative_error_distance": "median sigma_DL / DL",
        "median_sky_area_deg2": "median 1-sigma sky area [deg2]",
        "median_relative_error_source_chirp_mass": "median fractional error of "
        "the source-frame chirp mass (distance error included via the redshift)",
        "max_condition_number": "largest condition number of the normalised "
        "Fisher matrices plus priors (null if one is infinite)",
        "n_ill_conditioned": "Fisher matrices above condition_threshold",
        "n_unreliable": "sources whose Fisher errors are not trustworthy "
        "(MBHBFisher.reliable: ill-conditioned, step-dependent, or an error of "
        "0.5 or more on a parameter other than t_c)",
        "max_step_error": "largest relative change of a 1-sigma error between "
        "finite-difference steps",
    },
)
