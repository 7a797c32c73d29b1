"""Job kind ``mbhb_snl``: one LISA MBHB analysed by SNL and checked against MCMC.

The job injects one massive black-hole binary into LISA A, E (and T) data with
Gaussian noise and infers a subset of its parameters two ways
(:class:`simfer.inference.mbhb_inference.MBHBInferenceProblem`):

- **SNL** (:func:`simfer.inference.snl.run_snl`): sequential neural likelihood
  on score-compressed data, one compressed statistic per inferred parameter;
- **MCMC** (:func:`simfer.inference.mcmc.run_ensemble`): emcee's ensemble
  sampler on the exact Gaussian likelihood of the full data (relative binning),
  run until at least ``min_autocorrelation_times`` autocorrelation times and a
  split R-hat below ``r_hat_threshold``.

Both count their waveform evaluations (one per parameter set), so the cost
ratio is measured in the same unit. SNL works in Fisher-whitened parameters
``u = L^T (theta - theta_0)``, theta_0 the fiducial source and ``F = L L^T``
the Fisher matrix there (:mod:`simfer.inference.whitened_priors`): sbi's
networks are float32, ``ln M_c`` varies by 1e-6 of its value across the
posterior, and mass ratio and spins are correlated to 0.99, which in the
original parameters leaves the flow too broad and the slice sampler stuck.
Round 1 simulates at ``u ~ N(0, 3^2 I)`` within the prior box (the region a
search's Fisher matrix points to), later rounds at the previous posterior.

With ``coverage.n_injections > 0`` the job also checks calibration: an
amortised neural likelihood (one round of NLE) is trained on draws of the
round-1 proposal, taken as the prior, and for injections drawn from it the
posterior is sampled and scored by TARP (Lemos et al. 2023) and
simulation-based calibration ranks (Talts et al. 2018).

Assumptions: the parameters not inferred are fixed at their injected values;
priors are flat in the inferred parameters (``log_chirp_mass`` is ln of the
detector-frame chirp mass in kg, ``log_distance`` ln of D_L in m) over a box of
``prior_width`` Fisher sigmas about the injection; the compression's fiducial
source is the injection (a search's best fit in a real analysis).

Outputs in the run directory (``summary.json`` also holds the injection's SNR):

- ``tables/problem.parquet``: per inferred parameter, the injected (fiducial)
  value, Fisher sigma and prior box; ``tables/compression.parquet``: the score
  compression's Fisher matrix and its whitening ``L^-1`` at the fiducial (with
  the fiducial and the settings this regenerates the basis);
- ``tables/snl_samples.parquet``, ``tables/mcmc_samples.parquet``: posterior
  samples of the inferred parameters and their physical forms
  (``chirp_mass_detector`` in solMass, ``luminosity_distance`` in Gpc, t_c in
  s); ``fields/posterior_snl.nc``, ``fields/posterior_mcmc.nc``: the physical
  forms as ArviZ InferenceData (NetCDF; units in each variable's attributes,
  the compressed data as ``observed_data``; MCMC with one chain per walker);
- ``tables/snl_rounds.parquet``: simulations, drops, epochs and times per
  round; ``tables/mcmc_diagnostics.parquet``: autocorrelation time and R-hat
  per parameter;
- ``tables/comparison.parquet``: SNL against MCMC per parameter (median offset
  in MCMC sigmas, width ratio); ``tables/compression_loss.parquet``: at 8 MCMC
  draws (rows), sigma with compressed over sigma with full data, per parameter;
- ``models/snl_likelihood.pt`` and ``.json``: the trained flow (reload with
  :func:`simfer.inference.snl.load_density_estimator`);
  ``models/snl_coordinates.json``: its whitened coordinates and observation,
  to sample it again (see the file's ``description``);
- ``figures/corner.png``: SNL, MCMC and the Fisher Gaussian at the injection,
  in physical units; with coverage, ``figures/coverage.png`` and
  ``tables/coverage_ranks.parquet``, ``tables/coverage_tarp.parquet``.

References
----------
Martín Vílchez, N. & Sopuerta, C. F. 2024, arXiv:2406.00565.
Papamakarios, G., Sterratt, D. C. & Murray, I. 2019, AISTATS (SNL).
Foreman-Mackey, D. et al. 2013, PASP 125, 306 (emcee).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Literal

import astropy.units as u
import numpy as np
from astropy.cosmology import Planck18
from astropy.table import QTable
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from simfer.workflow.jobs import JOB_DESCRIPTIONS, JobInputError, JobKind
from simfer.workflow.jobs.mbhb_fisher import (
    NoiseSettings,
    SourceEntry,
    _check_parameter_names,
)
from simfer.workflow.quantities import PositiveDuration

__all__ = ["JOB", "CoverageConfig", "MBHBSNLConfig", "MCMCConfig", "SNLConfig",
           "run"]  # fmt: skip

logger = logging.getLogger(__name__)

#: Version of the stored tables; bump when their columns or computation change.
_TABLE_VERSION = 2

#: The default injection: a loud (SNR ~ 2000) source a year before merger.
DEFAULT_SOURCE = {
    "name": "mbhb",
    "total_mass": "1e6 solMass",
    "mass_ratio": 0.5,
    "chi1": 0.5,
    "chi2": 0.3,
    "redshift": 2.0,
    "inclination": "1 rad",
    "phase": "0.5 rad",
    "ecliptic_longitude": "1 rad",
    "ecliptic_latitude": "0.3 rad",
    "polarization": "0.7 rad",
    "t_c": "0 s",
}
#: Inferred by default: masses, spins, coalescence time and distance.
DEFAULT_PARAMETERS = ["log_chirp_mass", "mass_ratio", "chi1", "chi2", "t_c",
                      "log_distance"]  # fmt: skip


class SNLConfig(BaseModel):
    """SNL settings (:class:`simfer.inference.snl.SNLSettings`)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    n_rounds: int = Field(
        default=4, ge=1, description="Rounds of simulate-then-train; 1 is NLE [4]."
    )
    simulations_per_round: int = Field(
        default=1000, ge=10, description="Simulations per round [1000]."
    )
    simulation_batch_size: int = Field(
        default=250, ge=1, description="Parameter sets per simulator call [250]."
    )
    density_estimator: Literal["maf", "nsf"] = Field(
        default="maf", description="Masked autoregressive or neural spline flow."
    )
    hidden_features: int = Field(default=50, ge=1, description="Network width [50].")
    num_transforms: int = Field(default=5, ge=1, description="Flow layers [5].")
    num_bins: int = Field(default=10, ge=1, description="Spline bins (NSF) [10].")
    learning_rate: float = Field(default=5e-4, gt=0, description="Adam step [5e-4].")
    training_batch_size: int = Field(
        default=200, ge=1, description="Minibatch size [200]."
    )
    validation_fraction: float = Field(
        default=0.1, gt=0, lt=1,
        description="Simulations held out for early stopping [0.1].",
    )  # fmt: skip
    stop_after_epochs: int = Field(
        default=20, ge=1,
        description="Stop training after this many epochs without a better "
        "validation loss [20].",
    )  # fmt: skip
    max_num_epochs: int = Field(
        default=1000, ge=1, description="Epochs per round at most (warns) [1000]."
    )
    mcmc_method: Literal["slice_np_vectorized", "slice_np"] = Field(
        default="slice_np_vectorized",
        description="sbi's slice sampler of the posterior, chains vectorised or "
        "not [slice_np_vectorized].",
    )
    num_chains: int = Field(default=20, ge=1, description="Slice-sampler chains [20].")
    thin: int = Field(
        default=1, ge=1, le=10, description="Keep every thin-th slice step [1]."
    )
    warmup_steps: int = Field(
        default=200, ge=0, description="Slice steps discarded per chain [200]."
    )
    init_strategy: Literal["resample", "sir", "proposal"] = Field(
        default="resample",
        description="How sbi starts the chains (MCMCPosterior) [resample].",
    )
    num_posterior_samples: int = Field(
        default=4000, ge=10, description="Samples of the final posterior [4000]."
    )

    initial_proposal_scale: float | None = Field(
        default=3.0,
        ge=1,
        description="Round 1 simulates at N(0, scale^2 I) in Fisher-whitened "
        "parameters (Fisher sigmas, decorrelated) within the prior box, at least "
        "1 so that it covers the posterior; null draws round 1 from the prior box "
        "itself [3].",
    )

    @model_validator(mode="after")
    def _consistent(self) -> SNLConfig:
        self.settings()  # the cross-field checks of SNLSettings
        return self

    def settings(self):
        """The :class:`SNLSettings` of these values."""
        from simfer.inference.snl import SNLSettings

        return SNLSettings(**self.model_dump(exclude={"initial_proposal_scale"}))


class MCMCConfig(BaseModel):
    """The reference MCMC (:func:`simfer.inference.mcmc.run_ensemble`)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    enabled: bool = Field(default=True, description="Run the MCMC reference.")
    n_walkers: int = Field(
        default=32, ge=4, description="Walkers (even, at least twice the dimension)."
    )
    max_steps: int = Field(
        default=200_000, ge=4,
        description="Stop unconverged after this many steps per walker; the run "
        "goes on, with mcmc_converged false in the summary and a warning [200000].",
    )  # fmt: skip
    check_interval: int = Field(
        default=500, ge=4, description="Steps between convergence checks [500]."
    )
    min_autocorrelation_times: float = Field(
        default=50.0, gt=0,
        description="Converged needs a chain this many times its largest "
        "integrated autocorrelation time [50].",
    )  # fmt: skip
    tau_tolerance: float = Field(
        default=0.01, gt=0,
        description="... and the autocorrelation times changed by less than "
        "this fraction since the last check [0.01].",
    )  # fmt: skip
    r_hat_threshold: float = Field(
        default=1.01, gt=1,
        description="... and every split R-hat below this [1.01].",
    )  # fmt: skip

    @field_validator("n_walkers")
    @classmethod
    def _even(cls, value: int) -> int:
        if value % 2:
            raise ValueError(f"expected an even number of walkers; found {value}")
        return value


class CoverageConfig(BaseModel):
    """Calibration of an amortised neural likelihood over prior injections."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    n_injections: int = Field(
        default=0, ge=0,
        description="Injections drawn from the training prior of the amortised "
        "likelihood, SNL's round-1 proposal (0: no check) [0].",
    )  # fmt: skip
    simulations: int = Field(
        default=2000, ge=10, description="Prior simulations to train on [2000]."
    )
    samples_per_injection: int = Field(
        default=200, ge=10, description="Posterior samples per injection [200]."
    )

    @field_validator("n_injections")
    @classmethod
    def _enough(cls, value: int) -> int:
        # the rank test needs >= 5 expected counts in each of >= 4 bins
        if 0 < value < 20:
            raise ValueError(
                f"expected 0 (no check) or at least 20 injections; found {value}"
            )
        return value


class MBHBSNLConfig(BaseModel):
    """Settings of the ``mbhb_snl`` job kind."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    source: SourceEntry = Field(
        default_factory=lambda: SourceEntry(**DEFAULT_SOURCE),
        description="The injected binary (source frame) [a 1e6 solMass binary "
        "at z = 2, SNR ~ 2000].",
    )
    t_obs: PositiveDuration = Field(
        default="1 yr",
        validate_default=True,
        description="Observed time before merger: the data span [1 yr].",
    )
    channels: Literal["AE", "AET"] = Field(default="AE", description="TDI channels.")
    noise: NoiseSettings = Field(
        default_factory=NoiseSettings,
        description="LISA noise (SciRD, no Galactic foreground by default).",
    )
    parameters: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PARAMETERS),
        min_length=1,
        description="Inferred parameters, flat priors in these (log_* are ln of "
        "the detector-frame chirp mass in kg and of D_L in m); the others are "
        "fixed at their injected values.",
    )
    prior_width: float = Field(
        default=10.0,
        ge=1,
        description="Half-width of the uniform prior box about the injection, "
        "in Fisher sigmas (from the inverse Fisher matrix of the inferred "
        "parameters, the others fixed), at least 1, clipped to the physical "
        "range [10].",
    )
    n_bins: int = Field(
        default=800,
        ge=16,
        le=100_000,
        description="Relative-binning bins of the MCMC likelihood [800].",
    )
    waveform_backend: Literal["jax", "lalsimulation"] = Field(
        default="jax", description="IMRPhenomD implementation [jax]."
    )
    snl: SNLConfig = Field(
        default_factory=SNLConfig, description="Sequential neural likelihood."
    )
    mcmc: MCMCConfig = Field(
        default_factory=MCMCConfig, description="The emcee reference posterior."
    )
    coverage: CoverageConfig = Field(
        default_factory=CoverageConfig,
        description="Optional calibration check (TARP, SBC) of an amortised "
        "neural likelihood.",
    )
    c2st_samples: int = Field(
        default=2000, ge=100, description="Samples per set in the C2ST [2000]."
    )

    @field_validator("parameters")
    @classmethod
    def _known_parameters(cls, value: list[str]) -> list[str]:
        return _check_parameter_names(value, "parameters")

    @model_validator(mode="after")
    def _enough_walkers(self) -> MBHBSNLConfig:
        if self.mcmc.enabled and self.mcmc.n_walkers < 2 * len(self.parameters):
            raise ValueError(
                f"expected mcmc.n_walkers >= 2 x {len(self.parameters)} parameters; "
                f"found {self.mcmc.n_walkers}"
            )
        return self


# --- building blocks ------------------------------------------------------------


def _injection(entry: SourceEntry):
    from simfer.sims.mbhb_sources import MBHBSources

    total, q = entry.total_and_ratio()
    return MBHBSources.from_total_mass_ratio(
        total, q, chi1=entry.chi1, chi2=entry.chi2, redshift=entry.redshift,
        inclination=entry.inclination, phase=entry.phase,
        ecliptic_longitude=entry.ecliptic_longitude,
        ecliptic_latitude=entry.ecliptic_latitude,
        polarization=entry.polarization, t_c=entry.t_c,
    )  # fmt: skip


def _whitened_prior(problem):
    """The prior box in Fisher-whitened parameters ``u = L^T (theta - theta_0)``.

    ``F = L L^T`` is the Fisher matrix of the compressed data at the fiducial
    source theta_0, so near theta_0 the likelihood is about N(u; x, I): the
    flow learns a near-identity map and the slice sampler sees no correlations
    (:mod:`simfer.inference.whitened_priors`).
    """
    from simfer.inference.whitened_priors import WhitenedBoxUniform

    whitening = np.linalg.cholesky(problem.compression.fisher).T
    return WhitenedBoxUniform(problem.lower, problem.upper, problem.truth, whitening)


def _proposal(prior, scale: float | None):
    """N(0, scale^2 I) in whitened parameters within the box, or the box."""
    from simfer.inference.whitened_priors import WhitenedBoxTruncatedNormal

    return prior if scale is None else WhitenedBoxTruncatedNormal(prior, scale)


#: Physical forms of the inferred parameters: name -> (column, unit, axis label).
_PHYSICAL = {
    "log_chirp_mass": ("chirp_mass_detector", u.solMass, "M_c, detector frame"),
    "mass_ratio": ("mass_ratio", u.one, "q = m2 / m1"),
    "chi1": ("chi1", u.one, "chi1"),
    "chi2": ("chi2", u.one, "chi2"),
    "t_c": ("t_c", u.s, "t_c"),
    "phase": ("phase", u.rad, "phase"),
    "log_distance": ("luminosity_distance", u.Gpc, "D_L"),
    "inclination": ("inclination", u.rad, "inclination"),
    "ecliptic_longitude": ("ecliptic_longitude", u.rad, "ecliptic longitude"),
    "ecliptic_latitude": ("ecliptic_latitude", u.rad, "ecliptic latitude"),
    "polarization": ("polarization", u.rad, "polarization"),
}


def _physical_values(name: str, values: np.ndarray) -> u.Quantity:
    """An inferred parameter in its physical unit (``log_*`` are ln of SI)."""
    unit = _PHYSICAL[name][1]
    if name == "log_chirp_mass":
        return (np.exp(values) * u.kg).to(unit)
    if name == "log_distance":
        return (np.exp(values) * u.m).to(unit)
    return np.asarray(values) * unit


def _samples_table(problem, samples: np.ndarray) -> QTable:
    """The inferred parameters as sampled, then their physical forms."""
    names = problem.parameter_names
    table = QTable({name: samples[:, i] for i, name in enumerate(names)})
    for i, name in enumerate(names):
        column = _PHYSICAL[name][0]
        if column == name:  # already physical: give it its unit
            table[name] = _physical_values(name, samples[:, i])
        else:
            table[column] = _physical_values(name, samples[:, i])
    return table


def _sample_array(table: QTable, names) -> np.ndarray:
    """The inferred parameters (n, d), units stripped (ln SI for ``log_*``)."""
    return np.column_stack(
        [np.asarray(u.Quantity(table[name]).value, dtype=float) for name in names]
    )


def _physical_array(names, samples: np.ndarray) -> np.ndarray:
    return np.column_stack(
        [_physical_values(name, samples[:, i]).value for i, name in enumerate(names)]
    )


def _inference_data(samples: np.ndarray, names, x_observed, chains: int = 1):
    """Samples as an ArviZ DataTree with ``chains`` chains, physical units.

    ``samples`` (n, d) of the inferred parameters are ordered as emcee flattens
    its chains: step by step, the walkers of a step consecutive (a single chain
    for SNL's samples). Each variable carries its unit in ``attrs["units"]``;
    ``observed_data`` holds the compressed data.
    """
    from arviz_base import from_dict

    draws = len(samples) // chains
    physical = _physical_array(names, samples[: chains * draws])
    columns = [_PHYSICAL[name][0] for name in names]
    posterior = {
        column: physical[:, i].reshape(draws, chains).T
        for i, column in enumerate(columns)
    }
    tree = from_dict(
        {"posterior": posterior,
         "observed_data": {"compressed_data": np.asarray(x_observed)}},
    )  # fmt: skip
    for name, column in zip(names, columns, strict=True):
        tree["posterior"][column].attrs["units"] = str(_PHYSICAL[name][1])
    return tree


# --- the run --------------------------------------------------------------------


def run(config: MBHBSNLConfig, context: Any) -> dict[str, Any]:
    """Run the job (see the module docstring); returns the summary."""
    import torch

    from simfer.inference.mbhb_inference import MBHBInferenceProblem
    from simfer.inference.mbhb_snr import signal_snr

    # sbi's training and slice sampling gain nothing from threads on a small
    # network and lose to the simulator's own threads; set once per process
    torch.set_num_threads(1)
    noise = config.noise.build()
    started = time.perf_counter()
    try:
        problem = MBHBInferenceProblem.build(
            _injection(config.source),
            config.parameters,
            rng=context.rng("noise"),
            t_obs=float(config.t_obs.to_value(u.s)),
            noise=noise,
            channels=config.channels,
            prior_width=config.prior_width,
            n_bins=config.n_bins,
            waveform_backend=config.waveform_backend,
            cosmology=Planck18,
        )
    except ValueError as error:
        raise JobInputError(
            f"cannot set up the analysis of the source: {error}"
        ) from None
    logger.info(
        "data: %d frequencies, %.3g-%.3g Hz; %d parameters; set up in %.1f s",
        len(problem.frequencies), problem.frequencies[0], problem.frequencies[-1],
        problem.dimension, time.perf_counter() - started,
    )  # fmt: skip
    names = problem.parameter_names
    snr = float(
        signal_snr(problem.compression.signal(problem.injection), config.channels)[0]
    )
    logger.info("optimal SNR of the injection (%s): %.1f", config.channels, snr)
    try:  # a proposal the box cannot hold fails here, not deep inside SNL
        _proposal(_whitened_prior(problem), config.snl.initial_proposal_scale)
        problem.fisher_draws(1, context.rng("prior_check"))
    except ValueError as error:
        raise JobInputError(
            f"snl.initial_proposal_scale = {config.snl.initial_proposal_scale} "
            f"and prior_width = {config.prior_width} do not fit together: {error}"
        ) from None
    _write_problem(problem, context)

    common = {
        "table_version": _TABLE_VERSION,
        "problem": config.model_dump(
            mode="json",
            include={
                "source",
                "t_obs",
                "channels",
                "noise",
                "parameters",
                "prior_width",
                "n_bins",
                "waveform_backend",
            },
        ),
        "seed": context.seed,  # every step's seed derives from it
        "cosmology": Planck18.name,
    }

    def inputs(*blocks: str) -> dict[str, Any]:
        """What a step depends on: the problem and the named config blocks."""
        return common | config.model_dump(mode="json", include=set(blocks))

    snl_tables = context.record.step(
        "snl",
        inputs("snl"),
        lambda: _run_snl(problem, config, context),
    )
    snl_samples = _sample_array(snl_tables["snl_samples"], names)
    context.record.write_dataset(
        "posterior_snl", _inference_data(snl_samples, names, problem.x_observed)
    )

    summary = {"injection_snr": snr} | _snl_summary(snl_tables["snl_rounds"])
    mcmc_samples = None
    if config.mcmc.enabled:
        mcmc_tables = context.record.step(
            "mcmc",
            inputs("mcmc"),
            lambda: _run_mcmc(problem, config, context),
        )
        mcmc_samples = _sample_array(mcmc_tables["mcmc_samples"], names)
        walkers = config.mcmc.n_walkers
        context.record.write_dataset(
            "posterior_mcmc",
            _inference_data(mcmc_samples, names, problem.x_observed, chains=walkers),
        )
        summary |= _mcmc_summary(mcmc_tables["mcmc_diagnostics"])
        summary["simulation_ratio"] = (
            summary["snl_simulations"] / summary["mcmc_likelihood_evaluations"]
        )
        comparison_tables = context.record.step(
            "comparison",
            inputs("snl", "mcmc", "c2st_samples"),
            lambda: _compare(problem, snl_samples, mcmc_samples, config, context),
        )
        summary |= _comparison_summary(comparison_tables)

    if config.coverage.n_injections:
        coverage_tables = context.record.step(
            "coverage",
            inputs("snl", "coverage"),
            lambda: _run_coverage(problem, config, context),
        )
        summary |= _coverage_figure_and_summary(problem, coverage_tables, context)

    _corner_figure(problem, snl_samples, mcmc_samples, context)
    return summary


def _or_input_error(what: str, call):
    """``call()``, its ValueError (bad settings for this source) a JobInputError."""
    try:
        return call()
    except ValueError as error:
        raise JobInputError(f"{what}: {error}") from None


def _seed(context, step: str) -> int:
    """A non-negative int seed for ``step`` (torch and sbi take ints)."""
    return int(context.seed_sequence(step).generate_state(1)[0])


def _write_problem(problem, context) -> None:
    names = problem.parameter_names
    table = QTable(
        {
            "parameter": list(names),
            "injected": problem.truth,
            "fisher_sigma": problem.fisher_sigma,
            "prior_lower": problem.lower,
            "prior_upper": problem.upper,
            "x_observed": problem.x_observed,
        }
    )
    context.record.write_table("problem", table)
    compression = problem.compression
    basis = QTable({"parameter": list(names)})
    for j, name in enumerate(names):
        basis[f"fisher_{name}"] = compression.fisher[:, j]
    for j, name in enumerate(names):
        basis[f"whitening_{name}"] = compression.whitening[:, j]
    context.record.write_table("compression", basis)


def _run_snl(problem, config: MBHBSNLConfig, context) -> dict[str, QTable]:
    from simfer.inference.snl import run_snl, save_density_estimator

    settings = config.snl.settings()
    before = problem.simulator_calls

    prior = _whitened_prior(problem)

    def simulator(whitened, rng):
        return problem.simulate(prior.to_parameters(whitened), rng)

    result = _or_input_error("SNL", lambda: run_snl(
        simulator, prior, problem.x_observed, settings, seed=_seed(context, "snl"),
        initial_proposal=_proposal(prior, config.snl.initial_proposal_scale),
    ))  # fmt: skip
    models = context.record.directory / "models"
    models.mkdir(exist_ok=True)
    save_density_estimator(models / "snl_likelihood", result)
    # what a later process needs to sample the flow again: it models the
    # compressed data given whitened parameters u, theta = centre + W^-1 u
    context.record.write_json(
        "models/snl_coordinates.json",
        {
            "description": "the flow snl_likelihood models the compressed data "
            "x given u = W (theta - centre); rebuild its prior with "
            "simfer.inference.whitened_priors.WhitenedBoxUniform(low, high, "
            "centre, whitening_matrix) and sample with "
            "simfer.inference.snl.sample_posterior(flow, prior, x_observed, ...)",
            "parameter_names": list(problem.parameter_names),
            "centre": prior.centre.tolist(),
            "low": prior.low.tolist(),
            "high": prior.high.tolist(),
            "whitening_matrix": prior.matrix.tolist(),
            "x_observed": problem.x_observed.tolist(),
        },
    )
    rounds = QTable(
        {
            "round": [r.index + 1 for r in result.rounds],  # as the log counts
            "simulations": [r.simulations_requested for r in result.rounds],
            "simulations_kept": [r.simulations_kept for r in result.rounds],
            "simulations_dropped": [r.simulations_dropped for r in result.rounds],
            "proposal_seconds": [r.proposal_seconds for r in result.rounds],
            "simulation_seconds": [r.simulation_seconds for r in result.rounds],
            "training_seconds": [r.training_seconds for r in result.rounds],
            "epochs": [r.epochs_trained for r in result.rounds],
            "validation_loss": [r.best_validation_loss for r in result.rounds],
        }
    )
    rounds.meta["waveform_evaluations"] = problem.simulator_calls - before
    rounds.meta["sampling_seconds"] = result.sampling_seconds
    rounds.meta["total_seconds"] = result.total_seconds
    samples = prior.to_parameters(result.samples)
    logger.info(
        "SNL: %d simulations in %.0f s", problem.simulator_calls - before,
        result.total_seconds,
    )  # fmt: skip
    return {"snl_samples": _samples_table(problem, samples), "snl_rounds": rounds}


def _run_mcmc(problem, config: MBHBSNLConfig, context) -> dict[str, QTable]:
    from simfer.inference.mcmc import run_ensemble

    settings = config.mcmc
    before = problem.likelihood_calls
    rng = context.rng("mcmc")
    initial = problem.fisher_draws(settings.n_walkers, rng)
    started = time.perf_counter()
    result = run_ensemble(
        problem.log_posterior,
        initial,
        seed=_seed(context, "mcmc"),
        max_steps=settings.max_steps,
        block=settings.check_interval,
        min_autocorrelation_times=settings.min_autocorrelation_times,
        tau_tolerance=settings.tau_tolerance,
        r_hat_threshold=settings.r_hat_threshold,
    )
    seconds = time.perf_counter() - started
    if not result.converged:
        logger.warning(
            "MCMC not converged after %d steps (%.1f autocorrelation times, "
            "largest R-hat %.4f): raise mcmc.max_steps", result.n_steps,
            result.chain_in_autocorrelation_times, float(np.max(result.r_hat)),
        )  # fmt: skip
    diagnostics = QTable(
        {
            "parameter": list(problem.parameter_names),
            "autocorrelation_time": result.autocorrelation_time,
            "r_hat": result.r_hat,
        }
    )
    diagnostics.meta |= {
        "likelihood_evaluations": problem.likelihood_calls - before,
        "n_steps": result.n_steps,
        "converged": bool(result.converged),
        "acceptance_fraction": float(result.acceptance_fraction),
        "seconds": seconds,
    }
    logger.info(
        "MCMC: %d likelihood evaluations, %d steps in %.0f s",
        problem.likelihood_calls - before, result.n_steps, seconds,
    )  # fmt: skip
    return {
        "mcmc_samples": _samples_table(problem, result.samples),
        "mcmc_diagnostics": diagnostics,
    }


def _compare(problem, snl, mcmc, config, context) -> dict[str, QTable]:
    from simfer.inference.diagnostics import c2st, compare_marginals

    names = problem.parameter_names
    comparison = QTable(compare_marginals(snl, mcmc, names))
    # the classifier sees standardised parameters: ln M_c's scale would
    # otherwise underflow its float32 inputs
    scale = problem.fisher_sigma
    comparison.meta["c2st"] = c2st(
        (snl - problem.truth) / scale, (mcmc - problem.truth) / scale,
        seed=_seed(context, "c2st"), max_samples=config.c2st_samples,
    )  # fmt: skip
    # information the compression loses, at MCMC draws across the posterior
    rng = context.rng("compression_loss")
    draws = mcmc[rng.choice(len(mcmc), size=8, replace=False)]
    ratios = np.array(
        [problem.compression.fisher_ratio(problem.sources(row[None]))
         for row in draws]
    )  # fmt: skip
    loss = QTable({name: ratios[:, i] for i, name in enumerate(names)})
    return {"comparison": comparison, "compression_loss": loss}


def _draw(prior, box, n: int, rng: np.random.Generator) -> np.ndarray:
    """n draws of ``prior`` (the box or a truncated normal in it) with ``rng``."""
    d = box.low.size
    if prior is box:
        theta = rng.uniform(box.low, box.high, size=(n, d))
        return box.to_whitened(theta)
    kept = np.empty((0, d))
    while len(kept) < n:
        draws = prior.scale * rng.standard_normal((2 * n, d))
        kept = np.concatenate([kept, draws[box.inside(draws)]])
    return kept[:n]


def _run_coverage(problem, config: MBHBSNLConfig, context) -> dict[str, QTable]:
    from simfer.inference.diagnostics import rank_statistics, tarp_coverage
    from simfer.inference.snl import run_snl, sample_posterior

    settings = config.snl.settings()
    coverage = config.coverage
    amortised = type(settings)(
        **(
            settings.to_dict()
            | {
                "n_rounds": 1,
                "simulations_per_round": coverage.simulations,
                "num_posterior_samples": 10,
            }
        )
    )
    # calibration is checked under the prior the posterior is sampled with:
    # the round-1 proposal of SNL (the region SNL trains on), or the box
    prior = _proposal(_whitened_prior(problem), config.snl.initial_proposal_scale)
    box = _whitened_prior(problem)

    def simulator(whitened, rng):
        return problem.simulate(box.to_parameters(whitened), rng)

    seed = _seed(context, "coverage")
    result = _or_input_error(
        "coverage: training the amortised likelihood",
        lambda: run_snl(simulator, prior, problem.x_observed, amortised, seed=seed),
    )
    rng = context.rng("coverage_injections")
    truths = _draw(prior, box, coverage.n_injections, rng)
    observations = simulator(truths, rng)
    keep = np.all(np.isfinite(observations), axis=1)
    truths, observations = truths[keep], observations[keep]
    posteriors = np.stack(
        [
            sample_posterior(result.density_estimator, prior, x, amortised,
                             seed=seed + 1 + i,
                             num_samples=coverage.samples_per_injection)
            for i, x in enumerate(
                context.progress(observations, "coverage injections",
                                 len(observations)))
        ]
    )  # fmt: skip
    tarp = tarp_coverage(posteriors, truths, seed=seed)
    ranks = rank_statistics(posteriors, truths)
    rank_table = QTable({name: ranks[:, i] for i, name in
                         enumerate(problem.parameter_names)})  # fmt: skip
    rank_table.meta["samples_per_injection"] = coverage.samples_per_injection
    tarp_table = QTable({"alpha": tarp.alpha, "ecp": tarp.ecp})
    tarp_table.meta |= {
        "max_deviation": tarp.max_deviation,
        "area": tarp.area,
        "signed_area_upper_half": tarp.signed_area_upper_half,
        "ks_pvalue": tarp.ks_pvalue,
        "n_injections": len(truths),
        "dropped_injections": int(np.sum(~keep)),
    }
    return {"coverage_ranks": rank_table, "coverage_tarp": tarp_table}


# --- figures and summary ----------------------------------------------------------


def _corner_figure(problem, snl, mcmc, context) -> None:
    from simfer.plots import posterior_corner

    sets = {"SNL": snl}
    if mcmc is not None:
        sets["MCMC"] = mcmc
    sets["Fisher"] = problem.fisher_draws(len(snl), context.rng("fisher_draws"))
    names = problem.parameter_names
    labels = []
    for name in names:
        _, unit, label = _PHYSICAL[name]
        labels.append(label if unit == u.one else f"{label} [{unit:latex_inline}]")
    figure = posterior_corner(
        {label: _physical_array(names, s) for label, s in sets.items()},
        [_PHYSICAL[n][0] for n in names],
        _physical_array(names, problem.truth[None])[0],
        labels=labels,
        title="SNL (compressed data)"
        + (" against MCMC (full data)" if mcmc is not None else ""),
    )  # fmt: skip
    context.record.write_figure("corner", figure)


def _coverage_figure_and_summary(problem, tables, context) -> dict[str, Any]:
    from simfer.inference.diagnostics import sbc_uniformity_pvalues
    from simfer.plots import coverage_plot

    ranks_table, tarp_table = tables["coverage_ranks"], tables["coverage_tarp"]
    names = problem.parameter_names
    ranks = np.column_stack([np.asarray(ranks_table[n]) for n in names])
    n_samples = int(ranks_table.meta["samples_per_injection"])
    figure = coverage_plot(
        np.asarray(tarp_table["alpha"]), np.asarray(tarp_table["ecp"]), ranks,
        n_samples, names=names, n_injections=len(ranks),
        title="Amortised NLE: calibration over injections from its training prior",
    )  # fmt: skip
    context.record.write_figure("coverage", figure)
    pvalues = sbc_uniformity_pvalues(ranks, n_samples)
    meta = tarp_table.meta
    return {
        "coverage_injections": int(meta["n_injections"]),
        "tarp_max_deviation": float(meta["max_deviation"]),
        "tarp_ks_pvalue": float(meta["ks_pvalue"]),
        "sbc_min_pvalue": float(np.min(pvalues)),
    }


def _snl_summary(rounds: QTable) -> dict[str, Any]:
    return {
        "snl_simulations": int(rounds.meta["waveform_evaluations"]),
        "snl_dropped": int(np.sum(rounds["simulations_dropped"])),
        "snl_seconds": float(rounds.meta["total_seconds"]),
    }


def _mcmc_summary(diagnostics: QTable) -> dict[str, Any]:
    meta = diagnostics.meta
    tau = np.asarray(diagnostics["autocorrelation_time"])
    return {
        "mcmc_likelihood_evaluations": int(meta["likelihood_evaluations"]),
        "mcmc_seconds": float(meta["seconds"]),
        "mcmc_converged": bool(meta["converged"]),
        "mcmc_max_autocorrelation_time": float(np.max(tau)),
        "mcmc_autocorrelation_times": float(meta["n_steps"] / np.max(tau))
        if np.max(tau) >= 1  # a few steps can give tau ~ 0 or negative
        else float("nan"),
        "mcmc_max_r_hat": float(np.max(diagnostics["r_hat"])),
    }


def _comparison_summary(tables: dict[str, QTable]) -> dict[str, Any]:
    comparison, loss = tables["comparison"], tables["compression_loss"]
    ratios = np.column_stack([np.asarray(loss[c]) for c in loss.colnames])
    return {
        "c2st": float(comparison.meta["c2st"]),
        "max_median_offset_sigma": float(
            np.max(np.abs(comparison["median_offset_sigma"]))
        ),
        "min_width_ratio": float(np.min(comparison["width_ratio"])),
        "max_width_ratio": float(np.max(comparison["width_ratio"])),
        "compression_max_sigma_ratio": float(np.max(ratios)),
    }


JOB = JobKind(
    name="mbhb_snl",
    description=JOB_DESCRIPTIONS["mbhb_snl"],
    config_model=MBHBSNLConfig,
    run=run,
    summary_keys={
        "injection_snr": "optimal SNR of the injected signal in the channels used",
        "snl_simulations": "waveform evaluations (parameter sets simulated) by SNL",
        "snl_dropped": "SNL simulations dropped for NaN or infinite data",
        "snl_seconds": "wall-clock time of SNL, s",
        "mcmc_likelihood_evaluations": "waveform evaluations (likelihood calls) "
        "by the MCMC reference",
        "mcmc_seconds": "wall-clock time of the MCMC, s",
        "mcmc_converged": "the MCMC met both convergence criteria",
        "mcmc_max_autocorrelation_time": "largest integrated autocorrelation "
        "time of the MCMC, steps",
        "mcmc_autocorrelation_times": "MCMC chain length in units of its largest "
        "autocorrelation time (>= min_autocorrelation_times when converged)",
        "mcmc_max_r_hat": "largest split R-hat of the MCMC",
        "simulation_ratio": "snl_simulations / mcmc_likelihood_evaluations",
        "c2st": "classifier two-sample accuracy, SNL against MCMC (0.5: "
        "indistinguishable)",
        "max_median_offset_sigma": "largest |median(SNL) - median(MCMC)| in MCMC "
        "sigmas",
        "min_width_ratio": "smallest SNL/MCMC marginal width ratio",
        "max_width_ratio": "largest SNL/MCMC marginal width ratio",
        "compression_max_sigma_ratio": "largest sigma(compressed)/sigma(full data) "
        "at MCMC draws (1: no information lost)",
        "coverage_injections": "prior injections of the calibration check",
        "tarp_max_deviation": "largest |ECP - credibility| of TARP",
        "tarp_ks_pvalue": "KS p-value of TARP's credibility levels",
        "sbc_min_pvalue": "smallest SBC rank-uniformity p-value over parameters",
    },
)
