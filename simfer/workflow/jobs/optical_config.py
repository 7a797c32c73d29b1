"""The ``optical`` block of the ``dwd_galaxy`` workflow: eclipsing DWDs in surveys.

Maps the YAML settings onto :class:`simfer.sims.dwd_optical.OpticalSettings`. Every
survey starts from simfer's model of it (:data:`simfer.sims.surveys.GAIA`,
:data:`simfer.sims.surveys.RUBIN`, whose docstrings cite each number) and the
YAML overrides what it names::

    optical:
      period_max: "30 h"
      surveys:
        gaia: {detection_limit: 20}
        rubin: {detection_limit: 24, min_eclipse_points: 3,
                band_visits: {u: 56, g: 80, r: 184, i: 184, z: 160, y: 160}}
      dust: {local_extinction: 0.7, scale_height: "103 pc"}

A combination the survey model rejects (say visits that do not split into the
cadence's groups) is reported with the survey's key path before anything runs.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import astropy.units as u
from pydantic import BaseModel, ConfigDict, Field, field_validator

from simfer.sims.dwd_optical import MAX_PERIOD_MAX, OpticalSettings
from simfer.sims.extinction import DustDisc
from simfer.sims.surveys import GAIA, RUBIN, Survey
from simfer.workflow.quantities import Angle, PositiveDistance, PositiveDuration

__all__ = ["DustConfig", "OpticalConfig", "SurveyConfig", "build_optical"]

_SURVEYS = {"gaia": GAIA, "rubin": RUBIN}


class SurveyConfig(BaseModel):
    """Overrides of one survey's model; unset keys keep simfer's values."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    detection_limit: float | None = Field(
        default=None,
        description="Faintest out-of-eclipse magnitude in the reference band "
        "(Gaia G, Rubin r) for a detection [mag].",
    )
    limiting_magnitude: dict[str, float] | None = Field(
        default=None,
        description="Per band, the faintest usable single-epoch magnitude [mag].",
    )
    saturation_magnitude: dict[str, float] | None = Field(
        default=None, description="Per band, the brightest unsaturated magnitude."
    )
    band_visits: dict[str, int] | None = Field(
        default=None,
        description="Epochs per source per band over the baseline; their sum must "
        "be a multiple of the visits per group (2 for Gaia and Rubin).",
    )
    baseline: PositiveDuration | None = Field(
        default=None, description="Survey duration (a whole number of years for Rubin)."
    )
    min_eclipse_points: int | None = Field(
        default=None, ge=1, description="Significant in-eclipse points needed."
    )
    n_sigma: float | None = Field(
        default=None,
        ge=0,
        description="Depth an in-eclipse point needs, in photometric errors.",
    )
    require_both_eclipses: bool | None = Field(
        default=None,
        description="Need min_eclipse_points in each eclipse, not in both together.",
    )
    declination_range: tuple[Angle, Angle] | None = Field(
        default=None, description="Footprint [dec_min, dec_max]."
    )

    def apply(self, survey: Survey) -> Survey:
        """The survey with these overrides (ValueError if they do not fit)."""
        changes = {}
        for name in ("detection_limit", "min_eclipse_points", "n_sigma",
                     "require_both_eclipses"):  # fmt: skip
            if getattr(self, name) is not None:
                changes[name] = getattr(self, name)
        for name in ("limiting_magnitude", "saturation_magnitude", "band_visits"):
            given = getattr(self, name)
            if given is None:
                continue
            unknown = sorted(set(given) - set(survey.bands))
            if unknown:
                raise ValueError(
                    f"{name}: unknown bands {unknown}; {survey.name} has "
                    f"{list(survey.bands)}"
                )
            values = list(getattr(survey, name))
            for band, value in given.items():
                values[survey.band_index(band)] = value
            changes[name] = tuple(values)
        if self.declination_range is not None:
            changes["declination_range"] = tuple(
                float(q.to_value(u.rad)) for q in self.declination_range
            )
        cadence = survey.cadence
        if self.band_visits is not None:
            per_group = len(cadence.group_offsets)
            total = sum(changes["band_visits"])
            if total % per_group:
                raise ValueError(
                    f"band_visits: the total ({total}) must be a multiple of the "
                    f"{per_group} visits per group of {survey.name}'s cadence"
                )
            cadence = dataclasses.replace(cadence, n_groups=total // per_group)
        if self.baseline is not None:
            changes["baseline"] = float(self.baseline.to_value(u.s))
        return dataclasses.replace(survey, cadence=cadence, **changes)


class DustConfig(BaseModel):
    """The analytic dust disc (:class:`simfer.sims.extinction.DustDisc`)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    local_extinction: float = Field(
        default=0.7,
        gt=0,
        description="V-band extinction per kpc at the Sun [mag/kpc] "
        "(Robin et al. 2003).",
    )
    scale_length: PositiveDistance = Field(
        default="3.192 kpc",
        validate_default=True,
        description="Radial scale length (Li et al. 2018).",
    )
    scale_height: PositiveDistance = Field(
        default="103 pc",
        validate_default=True,
        description="Vertical scale height (Li et al. 2018).",
    )

    def build(self) -> DustDisc:
        return DustDisc(
            local_extinction=self.local_extinction * u.mag / u.kpc,
            scale_length=self.scale_length.to(u.kpc),
            scale_height=self.scale_height.to(u.kpc),
        )


class OpticalConfig(BaseModel):
    """Eclipsing DWDs seen by optical surveys (Gaia, Rubin)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    enabled: bool = Field(default=True, description="Run the optical stage.")
    period_max: PositiveDuration = Field(
        default="30 h",
        validate_default=True,
        description="Longest orbital period considered, at most 48 h (Jin et al. "
        "2025: 30 h).",
    )
    surveys: dict[Literal["gaia", "rubin"], SurveyConfig] = Field(
        default_factory=lambda: {"gaia": SurveyConfig(), "rubin": SurveyConfig()},
        min_length=1,
        description="Surveys to model (gaia, rubin) and their overrides; "
        "'enabled: false' switches the optical stage off.",
    )
    dust: DustConfig = Field(default_factory=DustConfig)
    catalogue_margin: float = Field(
        default=1.0,
        ge=0,
        description="Keep eclipsing systems up to this many mag beyond a survey's "
        "detection limit in the eclipsing catalogue.",
    )

    @field_validator("surveys")
    @classmethod
    def _surveys_fit(cls, surveys: dict) -> dict:
        for name, overrides in surveys.items():
            try:
                overrides.apply(_SURVEYS[name])
            except ValueError as error:
                raise ValueError(f"{name}: {error}") from None
        return surveys

    @field_validator("period_max")
    @classmethod
    def _period_below_the_drawn_range(cls, value: u.Quantity) -> u.Quantity:
        if value > MAX_PERIOD_MAX * u.s:
            raise ValueError(
                f"expected at most {MAX_PERIOD_MAX / 3600:g} h (the population is "
                f"drawn down to that period), got {value}"
            )
        return value


def build_optical(config: OpticalConfig) -> OpticalSettings | None:
    """The optical stage's settings, or None when it is disabled."""
    if not config.enabled:
        return None
    return OpticalSettings(
        surveys=tuple(o.apply(_SURVEYS[n]) for n, o in config.surveys.items()),
        period_max=float(config.period_max.to_value(u.s)),
        dust_model=config.dust.build(),
        catalogue_margin=config.catalogue_margin,
    )
