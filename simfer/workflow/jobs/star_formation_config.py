"""Star-formation histories written in a workflow file.

An entry of ``star_formation:`` is either a named model (``model_1``, ``model_2``)
or a model of the user's own, one history per Galactic component::

    star_formation:
      - model_1
      - name: young_burst
        thin_disc: {kind: exponential, age_max: "10 Gyr", timescale: "-3 Gyr"}
        bulge: {kind: bursts, episodes: [{age_min: "9 Gyr", age_max: "11 Gyr"}]}

A component left out takes its Model 1 history. Unless ``mass`` is given, a
component forms its stellar mass in the Galaxy model, as the named models do.
"""

from __future__ import annotations

from typing import Annotated, Literal

import astropy.units as u
from pydantic import BaseModel, ConfigDict, Field, model_validator

from simfer.sims.galaxy import MCMILLAN_2017
from simfer.sims.star_formation import (
    MODEL_1,
    MODEL_2,
    BurstSFH,
    ConstantSFH,
    ExponentialSFH,
    StarFormationHistory,
    StarFormationModel,
    TabulatedSFH,
)
from simfer.workflow.quantities import Duration, PositiveDuration, PositiveMass

__all__ = ["NAMED_MODELS", "CustomStarFormation", "build_star_formation"]

NAMED_MODELS = {"model_1": MODEL_1, "model_2": MODEL_2}

_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)


class _History(BaseModel):
    model_config = _STRICT

    mass: PositiveMass | None = Field(
        default=None,
        description="Stellar mass formed [default: the component's stellar mass].",
    )


class ConstantHistory(_History):
    """Constant rate between two ages (lookback times)."""

    kind: Literal["constant"]
    age_min: Duration = Field(default="0 Gyr", validate_default=True)
    age_max: PositiveDuration


class ExponentialHistory(_History):
    """Rate ~ exp(-(age_max - age) / timescale): declining for timescale > 0."""

    kind: Literal["exponential"]
    age_min: Duration = Field(default="0 Gyr", validate_default=True)
    age_max: PositiveDuration
    timescale: Duration = Field(description="Negative for a rising rate.")


class BurstEpisode(BaseModel):
    """One constant-rate burst and its share of the component's mass."""

    model_config = _STRICT

    age_min: Duration
    age_max: PositiveDuration
    mass_fraction: float = Field(default=1.0, gt=0.0, le=1.0)


class BurstsHistory(_History):
    """Top-hat bursts; their mass fractions must add up to 1."""

    kind: Literal["bursts"]
    episodes: list[BurstEpisode] = Field(min_length=1)

    @model_validator(mode="after")
    def _fractions_add_up(self) -> BurstsHistory:
        total = sum(episode.mass_fraction for episode in self.episodes)
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"expected mass fractions adding up to 1; found {total}")
        return self


class TabulatedHistory(_History):
    """Rate given at ages, linear in between (rescaled to the mass formed)."""

    kind: Literal["tabulated"]
    ages: list[Duration] = Field(min_length=2)
    rates: list[float] = Field(min_length=2, description="Relative rates.")


ComponentHistory = Annotated[
    ConstantHistory | ExponentialHistory | BurstsHistory | TabulatedHistory,
    Field(discriminator="kind"),
]


class CustomStarFormation(BaseModel):
    """A star-formation model of the user's own."""

    model_config = _STRICT

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    description: str = ""
    thin_disc: ComponentHistory | None = None
    thick_disc: ComponentHistory | None = None
    bulge: ComponentHistory | None = None

    @model_validator(mode="after")
    def _buildable(self) -> CustomStarFormation:
        if self.name in NAMED_MODELS:
            raise ValueError(f"expected a new name; found {self.name!r}, a named model")
        try:
            build_star_formation(self)
        except (TypeError, ValueError) as error:
            raise ValueError(f"expected valid histories; found {error}") from None
        return self


def build_star_formation(entry: str | CustomStarFormation) -> StarFormationModel:
    """The :class:`StarFormationModel` of a ``star_formation:`` entry."""
    if isinstance(entry, str):
        return NAMED_MODELS[entry]
    histories = {}
    for component in MCMILLAN_2017.components:
        spec = getattr(entry, component.name)
        if spec is None:
            histories[component.name] = MODEL_1.history(component.name)
            continue
        mass = spec.mass if spec.mass is not None else component.stellar_mass
        histories[component.name] = _history(spec, mass.to(u.Msun))
    return StarFormationModel(entry.name, histories, entry.description)


def _history(spec, mass: u.Quantity) -> StarFormationHistory:
    if isinstance(spec, ConstantHistory):
        return ConstantSFH(spec.age_max, mass, age_min=spec.age_min)
    if isinstance(spec, ExponentialHistory):
        return ExponentialSFH(spec.age_max, spec.timescale, mass, age_min=spec.age_min)
    if isinstance(spec, BurstsHistory):
        return BurstSFH(
            [(e.age_min, e.age_max, e.mass_fraction * mass) for e in spec.episodes]
        )
    ages = u.Quantity([age.to(u.Gyr) for age in spec.ages])
    return TabulatedSFH(ages, spec.rates * u.Msun / u.yr, total_mass=mass)
