"""Job kind ``dwd_galaxy``: the Milky Way's double white dwarfs for LISA and TianQin.

For each star-formation model the job assembles the Galactic DWD population today
from COSMIC samples (:mod:`simfer.sims.dwd_population`), counts the sources each
detector and the network detect with a per-source SNR above the threshold, with
bootstrap errors from the finite COSMIC sample, and runs Fisher forecasts for every
detected source.

Outputs in the run directory, per model ``<m>`` and detector ``<d>``:

- ``tables/catalogue_<m>.parquet``: every DWD above the catalogue frequency cut,
  each standing for ``system_weight`` Galactic systems (see summary);
- ``tables/detected_<m>_<d>.parquet``: the detected sources with their Fisher
  errors;
- ``tables/counts.parquet``: counts with bootstrap errors beside Jin et al. (2025);
- figures: characteristic strain, distributions, sky maps, Fisher errors.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Literal

import astropy.units as u
import numpy as np
from astropy.table import QTable, join
from pydantic import BaseModel, ConfigDict, Field, field_validator

from simfer.inference.fisher import fisher_galactic_binaries
from simfer.plots import (
    plot_characteristic_strain,
    plot_histograms,
    plot_magnitude_period,
    plot_sky_map,
)
from simfer.sims.binary_evolution import (
    BinaryPhysics,
    InitialConditions,
    PopulationSynthesisSettings,
    settings_hash,
)
from simfer.sims.dwd_population import assemble_population
from simfer.sims.dwd_samples import (
    DWDSample,
    DWDSampleCache,
    load_shipped_sample,
    shipped_sample_labels,
)
from simfer.sims.galactic_binaries import GalacticBinary
from simfer.sims.galaxy import MCMILLAN_2017
from simfer.workflow.jobs import (
    JOB_DESCRIPTIONS,
    JobInputError,
    JobKind,
    finite_median,
)
from simfer.workflow.jobs.detector_config import (
    DetectorsBlock,
    DetectorSettings,
    build_detectors,
)
from simfer.workflow.jobs.optical_config import OpticalConfig, build_optical
from simfer.workflow.jobs.star_formation_config import (
    CustomStarFormation,
    build_star_formation,
)
from simfer.workflow.quantities import PositiveFrequency

__all__ = ["JOB", "DWDGalaxyConfig", "run"]

logger = logging.getLogger(__name__)

#: Detections with SNR > 7 over the nominal missions, Jin, Ma, Shao & Wang 2025
#: (MNRAS 536, 2770; arXiv:2406.16474), abstract.
JIN_2025_COUNTS = {
    "model_1": {"TianQin": 5e3, "LISA": 1.7e4, "joint": 1.8e4},
    "model_2": {"TianQin": 1e4, "LISA": 3.3e4, "joint": 3.5e4},
}
#: Detached eclipsing DWDs with orbital periods below 30 h that Gaia and the
#: Rubin Observatory detect, Jin et al. 2025 (arXiv:2406.16474), abstract.
JIN_2025_ECLIPSING = {
    "model_1": {"gaia": 67.0, "rubin": 273.0},
    "model_2": {"gaia": 186.0, "rubin": 554.0},
}


class PopulationSynthesisConfig(BaseModel):
    """COSMIC settings; samples matching the shipped ones need no COSMIC run."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    initial_conditions: dict[str, Any] = Field(
        default_factory=dict,
        description="Overrides of simfer.sims.binary_evolution.InitialConditions "
        "(IMF, binary fraction, mass-ratio, period and eccentricity models); the "
        "metallicity is set by 'metallicities'.",
    )
    binary_physics: BinaryPhysics = Field(default_factory=BinaryPhysics)
    metallicities: list[float] = Field(
        default_factory=lambda: [0.02, 0.006],
        min_length=1,
        description="One COSMIC sample per metallicity Z; each Galaxy component uses "
        "the nearest in log Z.",
    )
    n_binaries: int | None = Field(
        default=None,
        gt=0,
        description="Binaries per COSMIC run. Unset: use a shipped sample when the "
        "settings match one (33,000 binaries), else evolve 30,000. Set: use exactly "
        "this many (from the cache, or a new COSMIC run of ~20 ms per binary).",
    )
    seed: int | None = Field(
        default=None,
        ge=0,
        description="Seed of the i-th COSMIC run: seed + i [default 20250]. Setting "
        "it, like n_binaries, asks for exactly that sample.",
    )
    n_proc: int = Field(
        default=1, ge=1, description="COSMIC worker processes for a new sample."
    )
    cache_dir: str = Field(
        default="~/.cache/simfer/dwd_samples",
        description="Where COSMIC samples are cached, keyed by their settings.",
    )

    @field_validator("initial_conditions")
    @classmethod
    def _valid_initial_conditions(cls, value: dict[str, Any]) -> dict[str, Any]:
        if "metallicity" in value:
            raise ValueError(
                "expected no 'metallicity' here (set 'metallicities' instead); "
                "found one"
            )
        InitialConditions(**value)  # names the offending setting if invalid
        return value

    @field_validator("metallicities")
    @classmethod
    def _metallicity_range(cls, value: list[float]) -> list[float]:
        if len(set(value)) != len(value):
            raise ValueError(f"expected each metallicity once; found {value}")
        for z in value:
            if not 1e-4 <= z <= 0.03:
                raise ValueError(
                    f"expected metallicities Z in COSMIC's range 1e-4 to 0.03; "
                    f"found {z}"
                )
        return value

    @field_validator("cache_dir")
    @classmethod
    def _usable_cache_dir(cls, value: str) -> str:
        # checked before any COSMIC run, whose result would otherwise be lost
        path = Path(value).expanduser()
        existing = next(p for p in (path, *path.parents) if p.exists())
        if not existing.is_dir() or not os.access(existing, os.W_OK):
            raise ValueError(
                f"expected a writable directory (or one that can be created); "
                f"found {value!r}, below {str(existing)!r} which is not a writable "
                "directory"
            )
        return value

    def settings(self) -> list[PopulationSynthesisSettings]:
        """One validated settings object per metallicity."""
        return [
            PopulationSynthesisSettings(
                initial_conditions=InitialConditions(
                    **self.initial_conditions, metallicity=z
                ),
                binary_physics=self.binary_physics,
            )
            for z in self.metallicities
        ]


def _default_detectors() -> dict[str, DetectorSettings]:
    return {"LISA": DetectorSettings(), "TianQin": DetectorSettings()}


class DWDGalaxyConfig(BaseModel):
    """Settings of the ``dwd_galaxy`` job kind."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    population_synthesis: PopulationSynthesisConfig = Field(
        default_factory=PopulationSynthesisConfig
    )
    galaxy: Literal["mcmillan2017"] = Field(
        default="mcmillan2017", description="Galaxy model (McMillan 2017)."
    )
    star_formation: list[Literal["model_1", "model_2"] | CustomStarFormation] = Field(
        default_factory=lambda: ["model_1", "model_2"],
        min_length=1,
        description="Star-formation models to run: 'model_1', 'model_2' "
        "(simfer.sims.star_formation) or models of your own (name plus a history "
        "per component: constant, exponential, bursts or tabulated).",
    )

    @field_validator("star_formation")
    @classmethod
    def _each_model_once(cls, value: list) -> list:
        names = [_model_name(entry) for entry in value]
        if len(set(names)) != len(names):
            raise ValueError(f"expected each model once; found {names}")
        return value

    galaxy_fraction: float = Field(
        default=1.0,
        gt=0.0,
        le=1.0,
        description="Fraction of the Galaxy's DWDs simulated; each stands for "
        "1/fraction systems. Below 1 for quick looks.",
    )
    detectors: DetectorsBlock = Field(default_factory=_default_detectors)
    snr_threshold: float = Field(default=7.0, gt=0.0)
    fisher: bool = Field(default=True, description="Fisher errors for detections.")
    n_bootstrap: int = Field(default=200, ge=10, description="Bootstrap replicates.")
    f_min_catalogue: PositiveFrequency = Field(
        default="0.1 mHz",
        validate_default=True,
        description="GW frequency above which DWDs are located and catalogued. "
        "Part of the random draw's definition: changing it gives another "
        "realisation of the Galaxy (the same expected counts).",
    )
    catalogue_snr_min: float = Field(
        default=0.0,
        ge=0.0,
        description="Keep only catalogue rows with joint SNR at least this (counts "
        "are unaffected). The full-Galaxy catalogue above 0.1 mHz has ~9e6 rows "
        "(~1.5 GB per model); 0.1 keeps the ~1e5 rows that matter.",
    )
    chirp_mass_precision: float = Field(
        default=0.1,
        gt=0.0,
        description="Relative chirp-mass error counted as 'measured'.",
    )
    optical: OpticalConfig = Field(
        default_factory=OpticalConfig,
        description="Eclipsing DWDs seen by Gaia and Rubin, and the joint "
        "electromagnetic + gravitational-wave sample.",
    )


def _resolve_samples(
    config: PopulationSynthesisConfig,
) -> tuple[list[DWDSample], list[str]]:
    """The DWD sample of each metallicity, and where each came from.

    A shipped sample is used when its settings match and neither ``n_binaries``
    nor ``seed`` asks for a particular sample; otherwise the cache returns the
    exact (settings, size, seed) sample, evolving it with COSMIC if needed.
    """
    shipped = {}
    for label in shipped_sample_labels():
        sample = load_shipped_sample(label)
        shipped[sample.settings_hash] = sample
    exact = config.n_binaries is not None or config.seed is not None
    n_binaries = config.n_binaries or 30000
    seed = 20250 if config.seed is None else config.seed
    cache = DWDSampleCache(Path(config.cache_dir).expanduser())
    samples, origins = [], []
    for i, settings in enumerate(config.settings()):
        z = settings.initial_conditions.metallicity
        key = settings_hash(settings)
        if key in shipped and not exact:
            logger.info("Z=%g: using the shipped COSMIC sample (%d DWDs from %d "
                        "binaries)", z, len(shipped[key].dwds),
                        shipped[key].n_binaries_sampled)  # fmt: skip
            samples.append(shipped[key])
            origins.append("shipped")
            continue
        path = cache.path_for(settings, n_binaries, seed + i)
        logger.info(
            "Z=%g: sample of %d binaries (seed %d) from %s", z, n_binaries, seed + i,
            path if path.exists() else "a new COSMIC run (~20 ms per binary)",
        )  # fmt: skip
        origins.append("cache" if path.exists() else "cosmic")
        sample = cache.get_or_create(
            settings, n_binaries, seed + i, n_proc=config.n_proc
        )
        if len(sample.dwds) == 0:
            raise JobInputError(
                f"the COSMIC sample for Z={z:g} ({n_binaries} binaries, seed "
                f"{seed + i}) holds no double white dwarf; use more binaries or "
                "other population_synthesis settings"
            )
        samples.append(sample)
    return samples, origins


def run(config: DWDGalaxyConfig, context: Any) -> dict[str, Any]:
    """Run the job (see the module docstring); returns the summary."""
    detectors = build_detectors(config.detectors)
    samples, origins = _resolve_samples(config.population_synthesis)
    context.record.write_table(
        "dwd_samples",
        QTable(
            {
                "metallicity": [
                    s.settings.initial_conditions.metallicity for s in samples
                ],
                "origin": origins,
                "n_binaries": [s.n_binaries_sampled for s in samples],
                "seed": [s.seed for s in samples],
                "n_dwds": [len(s.dwds) for s in samples],
                "dwds_per_msun": [s.dwds_per_solar_mass for s in samples] / u.Msun,
                "n_dropped": [s.n_dropped for s in samples],
                "cosmic_version": [s.cosmic_version for s in samples],
                "settings_hash": [s.settings_hash for s in samples],
            }
        ),
    )
    sample_info = {
        f"Z={s.settings.initial_conditions.metallicity:g}": {
            "settings_hash": s.settings_hash,
            "n_binaries": s.n_binaries_sampled,
            "n_dwds": len(s.dwds),
            "seed": s.seed,
        }
        for s in samples
    }
    shared_inputs = {
        "samples": sample_info,
        "detectors": {
            k: v.model_dump(mode="json") for k, v in config.detectors.items()
        },
        "galaxy_fraction": config.galaxy_fraction,
        "snr_threshold": config.snr_threshold,
        "n_bootstrap": config.n_bootstrap,
        "f_min_catalogue": str(config.f_min_catalogue),
        "catalogue_snr_min": config.catalogue_snr_min,
        "optical": config.optical.model_dump(mode="json"),
        "seed": context.seed,
    }

    summary: dict[str, Any] = {"galaxy_fraction": config.galaxy_fraction}
    optical = build_optical(config.optical)
    if optical is not None:
        context.record.write_table("surveys", _survey_table(optical))
    count_rows = []
    for entry in config.star_formation:
        model_summary, rows = _run_model(
            entry, config, context, detectors, samples, shared_inputs
        )
        summary.update(model_summary)
        count_rows += rows

    counts = QTable(rows=count_rows)
    context.record.write_table("counts", counts)
    if {"model_1", "model_2"} <= {_model_name(e) for e in config.star_formation}:
        for name in [*detectors, "joint"]:
            model_1 = summary[f"model_1_n_detected_{name}"]
            summary[f"ratio_model_2_over_model_1_{name}"] = (
                summary[f"model_2_n_detected_{name}"] / model_1 if model_1 else None
            )
    return summary


def _survey_table(optical) -> QTable:
    """The resolved survey settings, one row per survey (defaults included)."""
    rows = []
    for survey in optical.surveys:
        rows.append(
            {
                "survey": survey.name,
                "bands": ",".join(survey.bands),
                "visits_per_band": ",".join(str(v) for v in survey.band_visits),
                "epochs": survey.n_epochs,
                "baseline_yr": survey.baseline / u.yr.to(u.s),
                "single_epoch_limits": ",".join(
                    f"{m:g}" for m in survey.limiting_magnitude
                ),
                "saturation": ",".join(f"{m:g}" for m in survey.saturation_magnitude),
                "reference_band": survey.reference_band,
                "detection_limit": survey.detection_limit,
                "dec_min_deg": np.degrees(survey.declination_range[0]),
                "dec_max_deg": np.degrees(survey.declination_range[1]),
                "visits_per_group": len(survey.cadence.group_offsets),
                "min_eclipse_points": survey.min_eclipse_points,
                "require_both_eclipses": survey.require_both_eclipses,
                "n_sigma": survey.n_sigma,
                "period_max_h": optical.period_max / 3600.0,
            }
        )
    return QTable(rows=rows)


def _model_name(entry: str | CustomStarFormation) -> str:
    return entry if isinstance(entry, str) else entry.name


def _run_model(entry, config, context, detectors, samples, shared_inputs):
    """Population, detections and Fisher errors of one star-formation model."""
    model_name = _model_name(entry)
    seed = context.seed_sequence(f"population_{model_name}")
    definition = entry if isinstance(entry, str) else entry.model_dump(mode="json")

    def compute_population() -> dict[str, QTable]:
        population = assemble_population(
            samples,
            MCMILLAN_2017,
            build_star_formation(entry),
            list(detectors.values()),
            seed=seed,
            galaxy_fraction=config.galaxy_fraction,
            snr_threshold=config.snr_threshold,
            f_min_catalogue=config.f_min_catalogue,
            catalogue_snr_min=config.catalogue_snr_min,
            n_bootstrap=config.n_bootstrap,
            optical=build_optical(config.optical),
            progress=context.progress,
        )
        catalogue = population.to_qtable()
        catalogue.meta["system_weight"] = population.system_weight
        rows = []
        estimates = {
            **population.counts,
            **population.totals,
            **population.optical_counts,
        }
        for name, estimate in estimates.items():
            rows.append(
                {
                    "quantity": name,
                    "value": float(estimate.value),
                    "bootstrap_std": float(estimate.std),
                    "p16": float(estimate.p16),
                    "p84": float(estimate.p84),
                    "poisson_std": float(estimate.poisson_std),
                }
            )
        tables = {
            f"catalogue_{model_name}": catalogue,
            f"counts_{model_name}": QTable(rows=rows),
        }
        if config.optical.enabled:
            tables[f"eclipsing_{model_name}"] = population.eclipsing_qtable()
        return tables

    tables = context.record.step(
        f"population_{model_name}",
        {**shared_inputs, "model": definition},
        compute_population,
    )
    catalogue = tables[f"catalogue_{model_name}"]
    counts = {row["quantity"]: row for row in tables[f"counts_{model_name}"]}
    weight = float(catalogue.meta.get("system_weight", 1 / config.galaxy_fraction))

    summary: dict[str, Any] = {}
    count_rows = []
    for name in [*detectors, "joint"]:
        row = counts[f"detected_{name}"]
        summary[f"{model_name}_n_detected_{name}"] = float(row["value"])
        summary[f"{model_name}_n_detected_{name}_bootstrap_std"] = float(
            row["bootstrap_std"]
        )
        reference = JIN_2025_COUNTS.get(model_name, {}).get(name)
        count_rows.append(_count_row(model_name, name, row, reference, weight))
    for name in ("alive", "in_band", "merged", "formed"):
        if name in counts:
            summary[f"{model_name}_n_{name}"] = float(counts[name]["value"])
    if config.optical.enabled:
        optical_summary, optical_rows = _optical_counts(
            model_name, counts, list(config.optical.surveys), [*detectors, "joint"],
            weight,
        )  # fmt: skip
        summary.update(optical_summary)
        count_rows += optical_rows
        _optical_figures(
            model_name, tables[f"eclipsing_{model_name}"], config, detectors, weight,
            context,
        )  # fmt: skip

    detected_tables = {}
    for name, detector in detectors.items():
        detected = catalogue[
            np.asarray(catalogue[f"snr_{name}"]) > config.snr_threshold
        ]
        if config.fisher and len(detected):
            fisher_inputs = {**shared_inputs, "model_definition": definition}
            detected = _with_fisher(
                detected, detector, name, model_name, context, fisher_inputs
            )
            mc_error = np.asarray(detected["sigma_Mc_over_Mc"], dtype=float)
            measured = np.isfinite(mc_error) & (mc_error <= config.chirp_mass_precision)
            summary[f"{model_name}_fraction_chirp_mass_measured_{name}"] = float(
                measured.mean()
            )
            summary[f"{model_name}_median_sigma_f_over_f_{name}"] = finite_median(
                detected["sigma_f"].to_value(u.Hz) / detected["f_gw"].to_value(u.Hz)
            )
            summary[f"{model_name}_median_sigma_D_over_D_{name}"] = finite_median(
                detected["sigma_D_over_D"]
            )
            well_conditioned = ~np.asarray(detected["ill_conditioned"], dtype=bool)
            summary[f"{model_name}_median_sky_area_deg2_{name}"] = finite_median(
                np.asarray(detected["sky_area_deg2"])[well_conditioned]
            )
        context.record.write_table(f"detected_{model_name}_{name}", detected)
        detected_tables[name] = detected

    _figures(
        model_name,
        catalogue,
        detected_tables,
        detectors,
        weight,
        config.snr_threshold,
        context,
    )
    return summary, count_rows


#: Below this many simulated systems a count is noted in the log as unreliable.
_FEW_SIMULATED = 10


def _count_row(model_name, label, row, reference, weight):
    """One row of the counts table: a count, its errors and the reference."""
    value = float(row["value"])
    n_simulated = round(value / weight)
    if n_simulated < _FEW_SIMULATED:
        logger.warning(
            "%s, %s: the count %.4g rests on %d simulated system(s), each standing "
            "for %g; raise galaxy_fraction for a usable number",
            model_name, label, value, n_simulated, weight,
        )  # fmt: skip
    return {
        "model": model_name,
        "detector": label,
        "n_detected": value,
        "n_simulated": n_simulated,
        "bootstrap_std": float(row["bootstrap_std"]),
        "p16": float(row["p16"]),
        "p84": float(row["p84"]),
        "jin2025": np.nan if reference is None else reference,
        "ratio_to_jin2025": np.nan if reference is None else value / reference,
    }


def _optical_counts(model_name, counts, surveys, gw_names, weight):
    """Summary entries and count rows of the optical stage, beside Jin et al."""
    summary: dict[str, Any] = {}
    rows = []
    eclipsing = counts["optical_eclipsing"]
    summary[f"{model_name}_n_eclipsing"] = float(eclipsing["value"])
    for survey in surveys:
        labels = [(survey, f"optical_{survey}")]
        labels += [(f"{survey}_and_{g}", f"optical_{survey}_{g}") for g in gw_names]
        for label, key in labels:
            row = counts[key]
            summary[f"{model_name}_n_detected_{label}"] = float(row["value"])
            summary[f"{model_name}_n_detected_{label}_bootstrap_std"] = float(
                row["bootstrap_std"]
            )
            reference = JIN_2025_ECLIPSING.get(model_name, {}).get(label)
            rows.append(_count_row(model_name, label, row, reference, weight))
    return summary, rows


def _optical_figures(model_name, eclipsing, config, detectors, weight, context):
    """Magnitude against period; the joint sample on the strain plane."""
    if len(eclipsing) == 0:
        return
    period = eclipsing["period"].to_value(u.hour)
    surveys = list(config.optical.surveys)
    for survey in surveys:
        band = "G" if survey == "gaia" else "r"
        limit = build_optical(config.optical).surveys[surveys.index(survey)]
        context.record.write_figure(
            f"eclipsing_{survey}_{model_name}",
            plot_magnitude_period(
                period,
                np.asarray(eclipsing[f"mag_{band}"]),
                groups={
                    f"detected by {survey}": np.asarray(eclipsing[f"detected_{survey}"])
                },
                limits={f"{survey} limit": limit.detection_limit},
                magnitude_label=f"apparent {band} [mag]",
                title=f"Eclipsing DWDs (P < {config.optical.period_max}) within "
                f"{config.optical.catalogue_margin:g} mag of a survey limit, "
                f"{model_name}\na point = {weight:g} DWDs; legend counts are "
                "simulated systems",
            ),
        )
    em_detected = np.zeros(len(eclipsing), dtype=bool)
    for survey in surveys:
        em_detected |= np.asarray(eclipsing[f"detected_{survey}"], dtype=bool)
    joint = em_detected & (np.asarray(eclipsing["snr_joint"]) > config.snr_threshold)
    reference = next(iter(detectors.values()))
    frequency = eclipsing["f_gw"].to_value(u.Hz)[em_detected]
    snr = np.asarray(eclipsing[f"snr_{reference.name}"])[em_detected]
    strain = snr * np.sqrt(frequency * np.asarray(reference.psd(frequency)))
    # Systems below the GW catalogue cut carry SNR 0: no strain point to draw.
    drawn = strain > 0
    context.record.write_figure(
        f"eclipsing_strain_{model_name}",
        plot_characteristic_strain(
            list(detectors.values()),
            frequency=frequency[drawn],
            characteristic_strain=strain[drawn],
            highlight=joint[em_detected][drawn],
            legend=(f"network SNR > {config.snr_threshold:g}", "below"),
            title=f"{model_name}: eclipsing DWDs detected by a survey; red also "
            f"SNR > {config.snr_threshold:g} (network)\nheight above the "
            f"{reference.name} curve = per-source {reference.name} SNR",
        ),
    )


def _with_fisher(detected, detector, name, model_name, context, shared_inputs):
    """Fisher errors of the detected sources, joined to their catalogue rows."""

    def compute() -> dict[str, QTable]:
        sources = GalacticBinary.from_physical(
            detected["chirp_mass"].to_value(u.kg),
            detected["f_gw"].to_value(u.Hz),
            detected["distance"].to_value(u.m),
            cos_inclination=np.asarray(detected["cos_i"]),
            polarisation=detected["psi"].to_value(u.rad),
            ecliptic_latitude=detected["lat_ecl"].to_value(u.rad),
            ecliptic_longitude=detected["lon_ecl"].to_value(u.rad),
            initial_phase=detected["phase"].to_value(u.rad),
            fdot=detected["fdot"].to_value(u.Hz / u.s),
        )
        errors = fisher_galactic_binaries(sources, detector)
        errors["row"] = np.arange(len(detected))
        return {f"fisher_{model_name}_{name}": errors}

    errors = context.record.step(
        f"fisher_{model_name}_{name}",
        {**shared_inputs, "model": model_name, "detector": name},
        compute,
    )[f"fisher_{model_name}_{name}"]
    detected = detected.copy()
    detected["row"] = np.arange(len(detected))
    errors.rename_column("snr", "fisher_snr")
    return join(detected, errors, keys="row", join_type="left")


def _figures(
    model_name, catalogue, detected_tables, detectors, weight, threshold, context
):
    """Characteristic strain, distributions, sky map and Fisher errors."""
    reference = next(iter(detectors.values()))
    frequency = catalogue["f_gw"].to_value(u.Hz)
    snr_reference = np.asarray(catalogue[f"snr_avg_{reference.name}"])
    strain = snr_reference * np.sqrt(frequency * np.asarray(reference.psd(frequency)))
    detected_mask = np.zeros(len(catalogue), dtype=bool)
    for name in detectors:
        detected_mask |= np.asarray(catalogue[f"snr_{name}"]) > threshold

    rng = np.random.default_rng(0)  # thinning of undetected points for the plot only
    keep_fraction = min(1.0, 3e4 / max(1, int((~detected_mask).sum())))
    keep = detected_mask | (rng.random(len(catalogue)) < keep_fraction)
    context.record.write_figure(
        f"characteristic_strain_{model_name}",
        plot_characteristic_strain(
            list(detectors.values()),
            frequency=frequency[keep],
            characteristic_strain=strain[keep],
            highlight=detected_mask[keep],
            title=f"{model_name}: a red (detected) point = {weight:g} DWDs, "
            f"a grey one = {weight / keep_fraction:.3g}\n"
            f"height above the {reference.name} curve = averaged {reference.name} SNR",
        ),
    )
    context.record.write_figure(
        f"distributions_{model_name}",
        plot_histograms(
            {
                "f_gw [Hz]": {
                    n: t["f_gw"].to_value(u.Hz) for n, t in detected_tables.items()
                },
                "distance [kpc]": {
                    n: t["distance"].to_value(u.kpc) for n, t in detected_tables.items()
                },
                "chirp mass [Msun]": {
                    n: t["chirp_mass"].to_value(u.Msun)
                    for n, t in detected_tables.items()
                },
            },
            log=("f_gw [Hz]",),
            title=f"Detected DWDs, {model_name}",
        ),
    )
    union = detected_tables[next(iter(detected_tables))]
    context.record.write_figure(
        f"sky_{model_name}",
        plot_sky_map(
            union["l"].to_value(u.rad),
            union["b"].to_value(u.rad),
            colour=np.log10(np.asarray(union[f"snr_{next(iter(detected_tables))}"])),
            colour_label="log10 SNR",
            title=f"Detected by {next(iter(detected_tables))}, {model_name} "
            "(Galactic coordinates)",
        ),
    )
    fisher_panels = {}
    for label, column, scale in (
        ("sigma_f / f", "sigma_f", "f_gw"),
        ("sigma_Mc / Mc", "sigma_Mc_over_Mc", None),
        ("sigma_D / D", "sigma_D_over_D", None),
        ("sky area [deg2]", "sky_area_deg2", None),
    ):
        groups = {}
        for name, table in detected_tables.items():
            if column not in table.colnames:
                continue
            values = np.asarray(u.Quantity(table[column]).value, dtype=float)
            if scale is not None:
                values = values / table[scale].to_value(u.Hz)
            groups[name] = values
        if groups:
            fisher_panels[label] = groups
    if fisher_panels:
        context.record.write_figure(
            f"fisher_errors_{model_name}",
            plot_histograms(
                fisher_panels,
                log=tuple(fisher_panels),
                title=f"Fisher errors of detected DWDs, {model_name}",
            ),
        )


JOB = JobKind(
    name="dwd_galaxy",
    description=JOB_DESCRIPTIONS["dwd_galaxy"],
    config_model=DWDGalaxyConfig,
    run=run,
    summary_keys={
        "galaxy_fraction": "fraction of the Galaxy simulated",
        "<model>_n_detected_<det>": "detections (per-source SNR > threshold)",
        "<model>_n_detected_<det>_bootstrap_std": "bootstrap error from the finite "
        "COSMIC sample",
        "<model>_n_{alive,in_band,merged,formed}": "DWD totals in the Galaxy",
        "<model>_fraction_chirp_mass_measured_<det>": "detected sources with "
        "sigma_Mc/Mc below chirp_mass_precision",
        "<model>_median_sky_area_deg2_<det>": "median sky-localisation area "
        "(well-conditioned Fisher matrices)",
        "<model>_median_sigma_f_over_f_<det>": "median fractional frequency error",
        "<model>_median_sigma_D_over_D_<det>": "median fractional distance error "
        "(GR fdot assumed; NaN where fdot is not measured)",
        "ratio_model_2_over_model_1_<det>": "Model 2 / Model 1 detections",
        "<model>_n_eclipsing": "detached DWDs below optical.period_max whose "
        "inclination shows eclipses, at any brightness",
        "<model>_n_detected_<survey>": "eclipsing DWDs a survey (gaia, rubin) detects",
        "<model>_n_detected_<survey>_and_<det>": "detected by the survey and with "
        "per-source SNR > threshold in <det> (or the joint network)",
    },
)
