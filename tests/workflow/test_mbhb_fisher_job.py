"""The mbhb_fisher job end to end on three sources, and its validation."""

import json
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
import yaml
from astropy.table import QTable
from typer.testing import CliRunner

from simfer.cli import app
from simfer.inference.mbhb_fisher import FISHER_PARAMETERS, mbhb_fisher
from simfer.sims.mbhb_sources import MBHBSources
from simfer.workflow.jobs import get_job_kind
from simfer.workflow.runner import RunContext, prepare

runner = CliRunner()

SHIPPED = Path(__file__).parents[2] / "workflows" / "mbhb_fisher.yaml"

WORKFLOW = """\
kind: mbhb_fisher
seed: 7
config:
  sources:
    - name: light
      total_mass: "3e5 solMass"
      mass_ratio: 0.5
      chi1: 0.5
      chi2: 0.3
      redshift: 1
      inclination: "60 deg"
      phase: "30 deg"
      ecliptic_longitude: "60 deg"
      ecliptic_latitude: "20 deg"
      polarization: "40 deg"
    - name: heavy
      total_mass: "2e6 solMass"
      mass_ratio: 0.3
      chi1: 0.2
      chi2: -0.4
      redshift: 3
      inclination: "100 deg"
      ecliptic_latitude: "-50 deg"
      t_c: "1000 s"
    - total_mass: "1e6 solMass"
      mass_ratio: 0.8
      redshift: 2
  t_obs: "1 yr"
  plot_source: heavy
"""

# the same sources as WORKFLOW, written as a direct call (angles in degrees)
DIRECT = {
    "total_mass": [3e5, 2e6, 1e6],
    "mass_ratio": [0.5, 0.3, 0.8],
    "chi1": [0.5, 0.2, 0.0],
    "chi2": [0.3, -0.4, 0.0],
    "redshift": [1.0, 3.0, 2.0],
    "inclination": [60.0, 100.0, 60.0],
    "phase": [30.0, 0.0, 0.0],
    "ecliptic_longitude": [60.0, 0.0, 0.0],
    "ecliptic_latitude": [20.0, -50.0, 0.0],
    "polarization": [40.0, 0.0, 0.0],
    "t_c": [0.0, 1000.0, 0.0],
}


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    directory = tmp_path_factory.mktemp("mbhb")
    workflow = directory / "mbhb.yaml"
    workflow.write_text(WORKFLOW)
    out = directory / "run"
    result = runner.invoke(app, ["run", str(workflow), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return workflow, out


def test_shipped_workflow_validates():
    result = runner.invoke(app, ["validate", str(SHIPPED)])
    assert result.exit_code == 0, result.output
    resolved = yaml.safe_load(result.stdout)
    assert resolved["kind"] == "mbhb_fisher"
    config = resolved["config"]
    assert len(config["grid"]["total_mass"]) * len(config["grid"]["redshift"]) == 12
    assert config["approximant"] == "IMRPhenomD"
    assert config["priors"] == "none"
    assert config["parameters"] == list(FISHER_PARAMETERS)  # default filled in
    names = prepare(SHIPPED).config.names()
    assert len(names) == len(set(names)) == 12


def test_run_writes_tables_figures_and_summary(small_run):
    _, out = small_run
    sources = QTable.read(out / "tables/sources.parquet", format="parquet")
    assert list(sources["name"]) == ["light", "heavy", "source_2"]
    assert sources["total_mass"].unit == u.solMass
    assert sources["inclination"].unit == u.deg
    assert sources["luminosity_distance"].unit == u.Mpc
    fisher = QTable.read(out / "tables/fisher.parquet", format="parquet")
    assert len(fisher) == 3
    assert fisher["sigma_t_c"].unit == u.s
    assert fisher["sky_area"].unit == u.deg**2
    for column in ("snr", "relative_error_distance", "condition_number",
                   "step_error", "relative_error_source_chirp_mass"):  # fmt: skip
        assert np.all(np.isfinite(np.asarray(fisher[column]))), column
    covariance = QTable.read(out / "tables/covariance.parquet", format="parquet")
    assert len(covariance) == 3 * len(FISHER_PARAMETERS)
    for name in ("signal_vs_noise", "corner", "errors_vs_redshift"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 10_000, name

    summary = json.loads((out / "summary.json").read_text())
    assert set(summary) == set(get_job_kind("mbhb_fisher").summary_keys)
    assert summary["n_sources"] == 3
    assert summary["n_ill_conditioned"] == 0
    assert summary["median_snr"] == pytest.approx(np.median(fisher["snr"]))
    assert 0 < summary["max_step_error"] < 1e-2


def test_errors_equal_a_direct_call(small_run):
    _, out = small_run
    fisher = QTable.read(out / "tables/fisher.parquet", format="parquet")
    angles = ("inclination", "phase", "ecliptic_longitude", "ecliptic_latitude",
              "polarization")  # fmt: skip
    sources = MBHBSources.from_total_mass_ratio(
        np.array(DIRECT["total_mass"]) * u.solMass,
        np.array(DIRECT["mass_ratio"]),
        chi1=np.array(DIRECT["chi1"]),
        chi2=np.array(DIRECT["chi2"]),
        redshift=np.array(DIRECT["redshift"]),
        t_c=np.array(DIRECT["t_c"]) * u.s,
        **{name: np.array(DIRECT[name]) * u.deg for name in angles},
    )
    expected = mbhb_fisher(sources, t_obs=1 * u.yr)
    np.testing.assert_allclose(np.asarray(fisher["snr"]), expected.snr, rtol=1e-10)
    for name, sigma in expected.errors.items():
        np.testing.assert_allclose(
            np.asarray(fisher[f"sigma_{name}"]), sigma, rtol=1e-10, err_msg=name
        )
    for name, sigma in expected.derived_errors.items():
        np.testing.assert_allclose(
            np.asarray(fisher[f"relative_error_{name}"]), sigma, rtol=1e-10,
            err_msg=name,
        )  # fmt: skip
    np.testing.assert_allclose(
        fisher["sky_area"].to_value(u.deg**2),
        expected.sky_area.to_value(u.deg**2),
        rtol=1e-10,
    )


def test_resume_reuses_the_fisher_step(small_run):
    workflow, out = small_run
    summary = json.loads((out / "summary.json").read_text())
    result = runner.invoke(app, ["run", str(workflow), "--out", str(out), "--resume"])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "summary.json").read_text()) == summary
    assert "step fisher: inputs unchanged" in (out / "run.log").read_text()


@pytest.mark.parametrize(
    ("override", "key_path"),
    [
        ("config.sources[0].mass_ratio=1.5", "config.sources[0].mass_ratio"),
        ("config.sources[0].redshift=0", "config.sources[0].redshift"),
        ("config.sources[0].total_mass=-1e6 solMass", "config.sources[0].total_mass"),
        ("config.sources[0].chi1=1", "config.sources[0].chi1"),
        ("config.sources[1].chi2=-1", "config.sources[1].chi2"),
        ("config.sources[0].spin=0.5", "config.sources[0].spin"),
        ("config.fishr=true", "config.fishr"),
        ("config.parameters=[log_chirp_mass, log_mass]", "config.parameters"),
        ("config.parameters=[chi1, chi1]", "config.parameters"),
        ("config.t_obs=0 yr", "config.t_obs"),
        ("config.f_min=2 Hz", "config.f_max"),
        ("config.sources[0].m1=1e6 solMass", "config.sources[0]"),
        ("config.sources[0].inclination=200 deg", "config.sources[0].inclination"),
        ("config.sources[0].redshift=3 kpc", "config.sources[0].redshift"),
        ("config.priors={phase: 3}", "config.priors"),
        ("config.priors={t_c: '10 s'}", "expected priors on free parameters only"),
        ("config.priors=flat", "config.priors"),
        ("config.plot_source=nope", "config.plot_source"),
        ("config.approximant=SEOBNRv4", "config.approximant"),
        ("config.channels=XYZ", "config.channels"),
        ("config.noise.generation=3", "config.noise.generation"),
        ("config.grid={total_mass: ['1e6 solMass'], redshift: [1]}", "exactly one"),
        ("config.sources[2].name=heavy", "expected each name once"),
    ],
)
def test_bad_inputs_fail_validation_naming_the_key(tmp_path, override, key_path):
    workflow = tmp_path / "mbhb.yaml"
    text = WORKFLOW
    if "t_c: '10 s'" in override:  # priors on a parameter held fixed
        text = text.replace(
            "  t_obs:", "  parameters: [log_chirp_mass, phase]\n  t_obs:"
        )
    workflow.write_text(text)
    result = runner.invoke(app, ["validate", str(workflow), "--set", override])
    assert result.exit_code == 2, result.output
    assert key_path in result.output


@pytest.mark.parametrize(
    ("block", "key_path"),
    [
        ("grid: {total_mass: ['1e6 solMass'], redshift: [1, 1]}",
         "config.grid.redshift"),
        ("grid: {total_mass: ['1e6 solMass'], redshift: [1], mass_ratio: 0.0001}",
         "config.grid.mass_ratio"),
        ("grid: {total_mass: ['1e6 solMass'], redshift: [1], random_angles: true, "
         "phase: '3 deg'}", "config.grid"),
        ("population: {n_sources: 0}", "config.population.n_sources"),
        ("population: {n_sources: 3, redshift_range: [3, 1]}",
         "config.population.redshift_range"),
        ("population: {n_sources: 3, spin_range: [-1, 0.5]}",
         "config.population.spin_range"),
        ("population: {n_sources: 3, total_mass_range: ['0 solMass', '1 solMass']}",
         "config.population.total_mass_range"),
        ("sources: [{m1: '1e5 solMass', m2: '2e5 solMass', redshift: 1}]",
         "config.sources[0].m2"),
        ("sources: [{total_mass: '1e5 solMass', redshift: 1}]", "config.sources[0]"),
    ],
)  # fmt: skip
def test_bad_source_blocks_fail_validation(tmp_path, block, key_path):
    workflow = tmp_path / "mbhb.yaml"
    workflow.write_text(f"kind: mbhb_fisher\nconfig:\n  {block}\n")
    result = runner.invoke(app, ["validate", str(workflow)])
    assert result.exit_code == 2, result.output
    assert key_path in result.output


def _draw(tmp_path, block, seed):
    from simfer.workflow.jobs.mbhb_fisher import _source_table

    workflow = tmp_path / "draw.yaml"
    workflow.write_text(f"kind: mbhb_fisher\nseed: {seed}\nconfig:\n  {block}\n")
    prepared = prepare(workflow)
    context = RunContext(record=None, seed=prepared.workflow.seed)
    return _source_table(prepared.config, context)


def test_population_and_random_angles_follow_the_seed(tmp_path):
    block = (
        "population: {n_sources: 400, total_mass_range: ['1e5 solMass', "
        "'1e7 solMass'], redshift_range: [1, 4]}"
    )
    first, again = _draw(tmp_path, block, 1), _draw(tmp_path, block, 1)
    other = _draw(tmp_path, block, 2)
    assert np.array_equal(first["total_mass"], again["total_mass"])
    assert not np.array_equal(first["total_mass"], other["total_mass"])
    mass = first["total_mass"].to_value(u.solMass)
    assert mass.min() >= 1e5 and mass.max() <= 1e7
    assert 0.4 < np.mean(np.log10(mass) < 6) < 0.6  # log-uniform
    assert 1 <= first["redshift"].min() and first["redshift"].max() <= 4
    # isotropic: cos(inclination) and sin(latitude) uniform in [-1, 1]
    cos_i = np.cos(first["inclination"].to_value(u.rad))
    sin_b = np.sin(first["ecliptic_latitude"].to_value(u.rad))
    assert abs(np.mean(cos_i)) < 0.1 and abs(np.mean(sin_b)) < 0.1
    assert np.all(first["mass_ratio"] <= 1) and np.all(np.abs(first["chi1"]) < 1)
    assert list(first["name"][:2]) == ["population_000", "population_001"]

    grid = _draw(
        tmp_path,
        "grid: {total_mass: ['1e5 solMass', '1e6 solMass'], redshift: [1, 2, 3], "
        "random_angles: true}",
        1,
    )
    assert list(grid["name"][:4]) == [
        "M1e+05_z1",
        "M1e+05_z2",
        "M1e+05_z3",
        "M1e+06_z1",
    ]
    assert len(set(np.asarray(grid["polarization"]))) == 6  # one draw per source
