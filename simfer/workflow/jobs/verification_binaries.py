"""Job kind ``verification_binaries``: known Galactic binaries seen by LISA and TianQin.

For every binary of a catalogue (by default the LISA verification binaries of
Kupfer et al. 2018) and any binaries given in the file, the job computes the
sky/inclination/polarisation-averaged and the per-source SNR for each detector and
the network, Fisher errors on frequency, fdot, amplitude, inclination and sky
position, and draws the binaries over the sensitivity curves.

Outputs in the run directory: ``tables/sources.parquet`` (inputs with units),
``tables/snr.parquet``, ``tables/fisher_<detector>.parquet``,
``tables/sensitivity_<detector>.parquet`` and ``figures/characteristic_strain.png``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np
from astropy.coordinates import BarycentricTrueEcliptic, Galactic
from astropy.table import QTable, vstack
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from simfer.inference.fisher import fisher_galactic_binaries
from simfer.inference.snr import snr_averaged, snr_network, snr_per_source
from simfer.plots import plot_characteristic_strain
from simfer.sims.catalogues import load_verification_binaries
from simfer.sims.galactic_binaries import GalacticBinary, chirp_mass
from simfer.workflow.jobs import JOB_DESCRIPTIONS, JobKind, finite_median
from simfer.workflow.jobs.detector_config import (
    DetectorsBlock,
    DetectorSettings,
    build_detectors,
)
from simfer.workflow.quantities import (
    Angle,
    PositiveDistance,
    PositiveDuration,
    PositiveFrequency,
    PositiveMass,
)

__all__ = ["JOB", "BinarySource", "VerificationBinariesConfig", "run"]

logger = logging.getLogger(__name__)


class BinarySource(BaseModel):
    """A circular Galactic binary given by hand in the workflow file."""

    model_config = ConfigDict(extra="forbid")

    name: str
    period: PositiveDuration | None = Field(
        default=None, description="Orbital period (give this or frequency)."
    )
    frequency: PositiveFrequency | None = Field(
        default=None,
        description="Gravitational-wave frequency, twice the orbital one "
        "(give this or period).",
    )
    m_1: PositiveMass
    m_2: PositiveMass
    distance: PositiveDistance
    inclination: Angle = Field(description="Orbital inclination, 0 to 180 deg.")
    galactic_l: Angle
    galactic_b: Angle

    @model_validator(mode="after")
    def _one_of_period_or_frequency(self) -> BinarySource:
        if (self.period is None) == (self.frequency is None):
            raise ValueError(
                "expected exactly one of 'period' and 'frequency'; found "
                + ("both" if self.period is not None else "neither")
            )
        return self

    @field_validator("inclination")
    @classmethod
    def _inclination_range(cls, value: u.Quantity) -> u.Quantity:
        if not 0 <= value.to_value(u.deg) <= 180:
            raise ValueError(f"expected 0 to 180 deg; found {value}")
        return value

    @field_validator("galactic_b")
    @classmethod
    def _latitude_range(cls, value: u.Quantity) -> u.Quantity:
        if abs(value.to_value(u.deg)) > 90:
            raise ValueError(f"expected -90 to 90 deg; found {value}")
        return value


def _default_detectors() -> dict[str, DetectorSettings]:
    return {"LISA": DetectorSettings(), "TianQin": DetectorSettings()}


class VerificationBinariesConfig(BaseModel):
    """Settings of the ``verification_binaries`` job kind."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    catalogue: str | None = Field(
        default="kupfer2018",
        description="'kupfer2018' (shipped), the path of an ECSV file with the same "
        "columns, or null for only the binaries under 'sources'.",
    )
    sources: list[BinarySource] = Field(
        default_factory=list, description="Binaries added to the catalogue."
    )
    detectors: DetectorsBlock = Field(default_factory=_default_detectors)
    snr_threshold: float = Field(
        default=7.0, gt=0, description="Per-source SNR above which a binary counts."
    )
    fisher: bool = Field(default=True, description="Compute Fisher errors.")

    @model_validator(mode="after")
    def _has_sources(self) -> VerificationBinariesConfig:
        if self.catalogue is None and not self.sources:
            raise ValueError(
                "expected a catalogue or at least one entry under 'sources'; "
                "found neither"
            )
        return self

    @field_validator("catalogue")
    @classmethod
    def _readable_catalogue(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value in (None, "kupfer2018"):
            return value
        path = Path(value).expanduser()
        if not path.is_absolute() and info.context and "workflow_dir" in info.context:
            path = Path(info.context["workflow_dir"]) / path  # relative to the file
        if not path.is_file():
            raise ValueError(
                f"expected 'kupfer2018' or an existing ECSV file; found {value!r}, "
                "which is not a file"
            )
        try:
            load_verification_binaries(path)  # every column and unit checked now
        except (OSError, ValueError) as error:
            raise ValueError(
                "expected a catalogue with the shipped columns and units; "
                f"found {error}"
            ) from None
        return str(path.resolve())


def _source_table(config: VerificationBinariesConfig) -> QTable:
    """The binaries to process, in the catalogue's column layout."""
    tables = []
    if config.catalogue is not None:
        path = None if config.catalogue == "kupfer2018" else config.catalogue
        catalogue = load_verification_binaries(path)
        tables.append(
            QTable(
                {
                    "name": catalogue["name"],
                    "f_gw": catalogue["f_gw"].to(u.Hz),
                    "m_1": catalogue["m_1"],
                    "m_2": catalogue["m_2"],
                    "distance": catalogue["distance"].to(u.pc),
                    "inclination": catalogue["inclination"].to(u.deg),
                    "l": catalogue["l"].to(u.deg),
                    "b": catalogue["b"].to(u.deg),
                    "snr_lisa_published": catalogue["snr_lisa_4yr"],
                }
            )
        )
    if config.sources:
        rows = []
        for source in config.sources:
            f_gw = (
                source.frequency if source.frequency is not None else 2 / source.period
            )
            rows.append(
                {
                    "name": source.name,
                    "f_gw": f_gw.to(u.Hz),
                    "m_1": source.m_1.to(u.solMass),
                    "m_2": source.m_2.to(u.solMass),
                    "distance": source.distance.to(u.pc),
                    "inclination": source.inclination.to(u.deg),
                    "l": source.galactic_l.to(u.deg),
                    "b": source.galactic_b.to(u.deg),
                    "snr_lisa_published": np.nan,
                }
            )
        tables.append(QTable(rows=rows))
    sources = vstack(tables) if len(tables) > 1 else tables[0]

    sources["chirp_mass"] = chirp_mass(sources["m_1"], sources["m_2"]) * u.kg
    sources["chirp_mass"] = sources["chirp_mass"].to(u.solMass)
    ecliptic = Galactic(l=sources["l"], b=sources["b"]).transform_to(
        BarycentricTrueEcliptic()
    )
    sources["ecliptic_lon"] = ecliptic.lon.to(u.deg)
    sources["ecliptic_lat"] = ecliptic.lat.to(u.deg)
    return sources


def _signal_parameters(sources: QTable, rng: np.random.Generator) -> dict[str, Any]:
    """SI arrays for the SNR and Fisher kernels; unknown angles drawn from ``rng``.

    The polarisation angle and the initial phase of these binaries are not
    measured: they are drawn uniformly (psi in [0, pi), phase in [0, 2 pi)).
    """
    n = len(sources)
    return {
        "chirp_mass": sources["chirp_mass"].to_value(u.kg),
        "frequency": sources["f_gw"].to_value(u.Hz),
        "distance": sources["distance"].to_value(u.m),
        "cos_inclination": np.cos(sources["inclination"].to_value(u.rad)),
        "ecliptic_latitude": sources["ecliptic_lat"].to_value(u.rad),
        "ecliptic_longitude": sources["ecliptic_lon"].to_value(u.rad),
        "polarisation": rng.uniform(0.0, np.pi, n),
        "initial_phase": rng.uniform(0.0, 2 * np.pi, n),
    }


def run(config: VerificationBinariesConfig, context: Any) -> dict[str, Any]:
    """Run the job (see the module docstring); returns the summary."""
    detectors = build_detectors(config.detectors)
    sources = _source_table(config)
    logger.info("%d binaries, detectors %s", len(sources), ", ".join(detectors))
    rng = context.rng("angles")
    signal = _signal_parameters(sources, rng)
    detector_inputs = {
        name: detector_settings.model_dump(mode="json")
        for name, detector_settings in config.detectors.items()
    }
    base_inputs = {
        # full-precision values (JSON floats round-trip exactly), with units
        "sources": {
            name: [str(sources[name].unit), np.asarray(sources[name]).tolist()]
            if hasattr(sources[name], "unit")
            else np.asarray(sources[name]).tolist()
            for name in sources.colnames
        },
        "seed": context.seed,
    }

    def compute_snr() -> dict[str, QTable]:
        table = QTable({"name": sources["name"], "f_gw": sources["f_gw"]})
        for name, detector in detectors.items():
            table[f"snr_avg_{name}"] = snr_averaged(
                signal["chirp_mass"], signal["frequency"], signal["distance"], detector
            )
            table[f"snr_{name}"] = snr_per_source(
                signal["chirp_mass"],
                signal["frequency"],
                signal["distance"],
                detector,
                signal["ecliptic_latitude"],
                signal["ecliptic_longitude"],
                signal["cos_inclination"],
                signal["polarisation"],
            )
        if len(detectors) > 1:
            table["snr_avg_joint"] = snr_network(
                *[table[f"snr_avg_{name}"] for name in detectors]
            )
            table["snr_joint"] = snr_network(
                *[table[f"snr_{name}"] for name in detectors]
            )
        table["polarisation"] = signal["polarisation"] * u.rad
        table["initial_phase"] = signal["initial_phase"] * u.rad
        table["snr_lisa_published"] = sources["snr_lisa_published"]
        return {"sources": sources, "snr": table}

    tables = context.record.step(
        "snr", {**base_inputs, "detectors": detector_inputs}, compute_snr
    )
    snr = tables["snr"]

    fisher_tables: dict[str, QTable] = {}
    if config.fisher:
        binaries = GalacticBinary.from_physical(
            signal["chirp_mass"],
            signal["frequency"],
            signal["distance"],
            cos_inclination=signal["cos_inclination"],
            polarisation=signal["polarisation"],
            ecliptic_latitude=signal["ecliptic_latitude"],
            ecliptic_longitude=signal["ecliptic_longitude"],
            initial_phase=signal["initial_phase"],
        )
        for name, detector in context.progress(
            list(detectors.items()), "Fisher forecasts", len(detectors)
        ):

            def compute_fisher(detector=detector, name=name) -> dict[str, QTable]:
                errors = fisher_galactic_binaries(binaries, detector)
                errors.add_column(sources["name"], name="name", index=0)
                return {f"fisher_{name}": errors}

            fisher_tables.update(
                context.record.step(
                    f"fisher_{name}",
                    {**base_inputs, "detector": detector_inputs[name]},
                    compute_fisher,
                )
            )

    for name, detector in detectors.items():
        context.record.write_table(f"sensitivity_{name}", detector.sensitivity_table())

    reference = next(iter(detectors.values()))
    height = np.asarray(snr[f"snr_avg_{reference.name}"]) * np.sqrt(
        sources["f_gw"].to_value(u.Hz)
        * np.asarray(reference.psd(sources["f_gw"].to_value(u.Hz)))
    )
    figure = plot_characteristic_strain(
        list(detectors.values()),
        frequency=sources["f_gw"].to_value(u.Hz),
        characteristic_strain=height,
        labels=list(sources["name"]),
        f_range=(1e-5, 1.0),
        title="Verification binaries: height above the "
        f"{reference.name} curve is their averaged {reference.name} SNR",
    )
    context.record.write_figure("characteristic_strain", figure)

    return _summary(config, detectors, sources, snr, fisher_tables)


def _summary(config, detectors, sources, snr, fisher_tables) -> dict[str, Any]:
    summary: dict[str, Any] = {"n_sources": len(sources)}
    threshold = config.snr_threshold
    summary["snr_threshold"] = threshold
    for name in [*detectors, "joint"]:
        if f"snr_{name}" not in snr.colnames:
            continue
        summary[f"n_detected_{name}"] = int(np.sum(snr[f"snr_{name}"] > threshold))
        summary[f"n_detected_avg_{name}"] = int(
            np.sum(snr[f"snr_avg_{name}"] > threshold)
        )
    if "LISA" in detectors:
        published = np.asarray(sources["snr_lisa_published"], dtype=float)
        ours = np.asarray(snr["snr_LISA"], dtype=float)
        known = np.isfinite(published) & (published > 0)
        if known.any():
            ratio = ours[known] / published[known]
            summary["lisa_snr_over_published_median"] = float(np.median(ratio))
            summary["lisa_snr_over_published_min"] = float(np.min(ratio))
            summary["lisa_snr_over_published_max"] = float(np.max(ratio))
    for name, table in fisher_tables.items():
        detector = name.removeprefix("fisher_")
        detected = np.asarray(snr[f"snr_{detector}"]) > threshold
        if detected.any():
            summary[f"median_sigma_f_over_f_{detector}"] = finite_median(
                table["sigma_f"].to_value(u.Hz)[detected]
                / sources["f_gw"].to_value(u.Hz)[detected]
            )
            summary[f"median_sky_area_deg2_{detector}"] = finite_median(
                np.asarray(table["sky_area_deg2"])[detected]
            )
    return summary


JOB = JobKind(
    name="verification_binaries",
    description=JOB_DESCRIPTIONS["verification_binaries"],
    config_model=VerificationBinariesConfig,
    run=run,
    summary_keys={
        "n_sources": "number of binaries processed",
        "snr_threshold": "per-source SNR threshold for the counts",
        "n_detected_<det>": "binaries with per-source SNR above the threshold",
        "n_detected_avg_<det>": "binaries with averaged SNR above the threshold",
        "lisa_snr_over_published_{median,min,max}": "our per-source LISA SNR over "
        "the published 4-yr SNR of Kupfer et al. 2018",
        "median_sigma_f_over_f_<det>": "median fractional frequency error, detected",
        "median_sky_area_deg2_<det>": "median sky-localisation area [deg2], detected",
    },
)
