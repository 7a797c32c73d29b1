"""The mbhb_snl job end to end on a small problem, and its validation."""

import json
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
import xarray as xr
import yaml
from astropy.table import QTable
from typer.testing import CliRunner

from simfer.cli import app
from simfer.workflow.jobs import get_job_kind

runner = CliRunner()

SHIPPED = Path(__file__).parents[2] / "workflows" / "mbhb_snl.yaml"

# a month of data and two parameters: SNL and a short MCMC in about a minute
WORKFLOW = """\
kind: mbhb_snl
seed: 11
config:
  t_obs: "30 d"
  parameters: [log_chirp_mass, log_distance]
  snl:
    n_rounds: 2
    simulations_per_round: 200
    num_posterior_samples: 1000
    warmup_steps: 50
    num_chains: 10
  mcmc:
    n_walkers: 8
    max_steps: 3000
    check_interval: 200
    min_autocorrelation_times: 20
    r_hat_threshold: 1.05
    tau_tolerance: 0.1
  c2st_samples: 500
"""
COVERAGE = """\
  coverage:
    n_injections: 20
    simulations: 1000
    samples_per_injection: 100
"""


def _run(directory, text, *extra):
    workflow = directory / "snl.yaml"
    workflow.write_text(text)
    out = directory / "run"
    result = runner.invoke(app, ["run", str(workflow), "--out", str(out), *extra])
    assert result.exit_code == 0, result.output
    return workflow, out


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("snl"), WORKFLOW)


def test_shipped_workflow_validates():
    result = runner.invoke(app, ["validate", str(SHIPPED)])
    assert result.exit_code == 0, result.output
    config = yaml.safe_load(result.stdout)["config"]
    assert config["snl"]["n_rounds"] * config["snl"]["simulations_per_round"] == 4000
    assert config["mcmc"]["min_autocorrelation_times"] == 50
    assert config["mcmc"]["r_hat_threshold"] == 1.01


def test_run_writes_posteriors_and_counts_simulations(small_run):
    _, out = small_run
    summary = json.loads((out / "summary.json").read_text())
    keys = set(get_job_kind("mbhb_snl").summary_keys)
    coverage_keys = {"coverage_injections", "tarp_max_deviation", "tarp_ks_pvalue",
                     "sbc_min_pvalue"}  # fmt: skip
    assert set(summary) == keys - coverage_keys
    rounds = QTable.read(out / "tables/snl_rounds.parquet", format="parquet")
    assert list(rounds["round"]) == [1, 2]
    assert list(rounds["simulations"]) == [200, 200]
    assert summary["snl_simulations"] == 400  # every simulated parameter set
    assert summary["injection_snr"] > 50  # the last month of a loud source
    diagnostics = QTable.read(out / "tables/mcmc_diagnostics.parquet")
    n_steps = diagnostics.meta["n_steps"]
    # 8 walkers per step, plus the starting points
    assert 8 * n_steps <= summary["mcmc_likelihood_evaluations"] <= 8 * (n_steps + 1)
    assert summary["simulation_ratio"] == pytest.approx(
        400 / summary["mcmc_likelihood_evaluations"]
    )
    for method, n in (("snl", 1000), ("mcmc", None)):
        table = QTable.read(out / f"tables/{method}_samples.parquet")
        physical = ["chirp_mass_detector", "luminosity_distance"]
        assert table.colnames == ["log_chirp_mass", "log_distance", *physical]
        assert table["luminosity_distance"].unit == u.Gpc
        np.testing.assert_allclose(  # the physical form of the sampled ln D_L
            table["luminosity_distance"].to_value(u.m),
            np.exp(np.asarray(table["log_distance"])), rtol=1e-12,
        )  # fmt: skip
        tree = xr.open_datatree(out / f"fields/posterior_{method}.nc")
        posterior = tree["posterior"]
        assert posterior["luminosity_distance"].attrs["units"] == "Gpc"
        assert posterior["chirp_mass_detector"].attrs["units"] == "solMass"
        stored = np.asarray(posterior["luminosity_distance"]).ravel()
        assert n is None or len(stored) == n
        np.testing.assert_allclose(
            np.sort(stored),
            np.sort(table["luminosity_distance"].to_value(u.Gpc)[: len(stored)]),
            rtol=1e-12,
        )
    assert (out / "models/snl_likelihood.pt").exists()
    assert (out / "figures/corner.png").stat().st_size > 10_000


def test_saved_flow_samples_again_in_a_new_prior(small_run):
    """A later process rebuilds the whitened prior from snl_coordinates.json and
    samples the saved flow: its posterior matches the run's SNL samples."""
    from simfer.inference.diagnostics import compare_marginals
    from simfer.inference.snl import load_density_estimator, sample_posterior
    from simfer.inference.whitened_priors import WhitenedBoxUniform

    _, out = small_run
    flow, settings = load_density_estimator(out / "models/snl_likelihood")
    coordinates = json.loads((out / "models/snl_coordinates.json").read_text())
    prior = WhitenedBoxUniform(coordinates["low"], coordinates["high"],
                               coordinates["centre"],
                               coordinates["whitening_matrix"])  # fmt: skip
    u_samples = sample_posterior(flow, prior, coordinates["x_observed"], settings,
                                 seed=5, num_samples=1000)  # fmt: skip
    samples = prior.to_parameters(u_samples)
    stored = QTable.read(out / "tables/snl_samples.parquet")
    reference = np.column_stack([np.asarray(stored[n]) for n in
                                 coordinates["parameter_names"]])  # fmt: skip
    table = compare_marginals(samples, reference, coordinates["parameter_names"])
    # two 1000-sample draws of one posterior: medians scatter by ~0.06 sigma
    # and widths by ~3 %
    assert np.all(np.abs(table["median_offset_sigma"]) < 0.25)
    assert np.all(np.abs(table["width_ratio"] - 1) < 0.15)


def test_snl_matches_the_mcmc_reference(small_run):
    _, out = small_run
    summary = json.loads((out / "summary.json").read_text())
    # the acceptance criteria of the full workflow, met here by 400 simulations
    # in 2-d: medians within half an MCMC sigma, widths within 25 %, and a
    # classifier that barely tells the two apart (0.5 at best)
    assert summary["max_median_offset_sigma"] < 0.5
    assert 0.75 < summary["min_width_ratio"] <= summary["max_width_ratio"] < 1.25
    assert summary["c2st"] < 0.6
    # score compression at the injection loses < 1 % over the posterior
    assert 1.0 - 1e-6 < summary["compression_max_sigma_ratio"] < 1.01


def test_resume_reuses_snl_and_mcmc(small_run):
    workflow, out = small_run
    summary = json.loads((out / "summary.json").read_text())
    result = runner.invoke(app, ["run", str(workflow), "--out", str(out), "--resume"])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "summary.json").read_text()) == summary
    log = (out / "run.log").read_text()
    for step in ("snl", "mcmc", "comparison"):
        assert f"step {step}: inputs unchanged" in log


def test_a_proposal_the_box_cannot_hold_is_an_input_error(tmp_path):
    workflow = tmp_path / "snl.yaml"
    workflow.write_text(WORKFLOW)
    scale = "config.snl.initial_proposal_scale=1e6"
    out = str(tmp_path / "r")
    result = runner.invoke(app, ["run", str(workflow), "--out", out, "--set", scale])
    assert result.exit_code != 0
    assert "snl.initial_proposal_scale" in result.output
    assert "too large for the box" in result.output


@pytest.mark.slow
def test_coverage_of_the_amortised_likelihood(tmp_path):
    _, out = _run(tmp_path, WORKFLOW + COVERAGE)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["coverage_injections"] == 20
    # 20 injections: a calibrated posterior's TARP curve stays within ~0.3 of
    # the diagonal (DKW at 95 %: 1.36 / sqrt(20)) and SBC p-values are not tiny
    assert summary["tarp_max_deviation"] < 0.35
    assert summary["sbc_min_pvalue"] > 1e-3
    assert (out / "figures/coverage.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    ("override", "key_path"),
    [
        ("config.parameters=[log_chirp_mass, spin]", "config.parameters"),
        ("config.source.mass_ratio=1.5", "config.source.mass_ratio"),
        ("config.t_obs=0 s", "config.t_obs"),
        ("config.prior_width=0", "config.prior_width"),
        ("config.snl.density_estimator=gmm", "config.snl.density_estimator"),
        ("config.snl.n_rounds=0", "config.snl.n_rounds"),
        ("config.snl.validation_fraction=1.5", "config.snl.validation_fraction"),
        ("config.mcmc.n_walkers=7", "config.mcmc.n_walkers"),
        ("config.mcmc.n_walkers=2", "config.mcmc.n_walkers"),
        ("config.coverage.n_injections=5", "config.coverage.n_injections"),
        ("config.waveform_backend=pycbc", "config.waveform_backend"),
        ("config.snl.epochs=3", "config.snl.epochs"),
        ("config.prior_width=0.5", "config.prior_width"),
        ("config.snl.initial_proposal_scale=0.5", "config.snl.initial_proposal_scale"),
        ("config.n_bins=10", "config.n_bins"),
    ],
)
def test_bad_inputs_fail_validation_naming_the_key(tmp_path, override, key_path):
    workflow = tmp_path / "snl.yaml"
    workflow.write_text(WORKFLOW)
    result = runner.invoke(app, ["validate", str(workflow), "--set", override])
    assert result.exit_code == 2, result.output
    assert key_path in result.output
