"""The dwd_galaxy job end to end on a small fraction of the Galaxy."""

import json

import numpy as np
import pytest
from astropy.table import QTable
from typer.testing import CliRunner

from simfer.cli import app

runner = CliRunner()

# Expected, documented warning of this configuration: a few nearly face-on
# sources have degenerate psi/phi0 Fisher matrices.
pytestmark = [
    pytest.mark.filterwarnings(
        "ignore::simfer.inference.fisher.IllConditionedFisherWarning"
    ),
]

WORKFLOW = """\
kind: dwd_galaxy
seed: 11
config:
  star_formation: [model_1]
  galaxy_fraction: 0.002
  n_bootstrap: 50
  detectors:
    LISA: {}
    TianQin: {}
"""


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    directory = tmp_path_factory.mktemp("dwd")
    workflow = directory / "dwd.yaml"
    workflow.write_text(WORKFLOW)
    out = directory / "run"
    result = runner.invoke(app, ["run", str(workflow), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return workflow, out


def test_counts_sit_beside_the_reference_numbers(small_run):
    _, out = small_run
    counts = QTable.read(out / "tables/counts.parquet", format="parquet")
    gw = {"LISA", "TianQin", "joint"}
    optical = {
        f"{s}{g}" for s in ("gaia", "rubin") for g in ("", *(f"_and_{d}" for d in gw))
    }
    assert set(counts["detector"]) == gw | optical
    gaia = counts[counts["detector"] == "gaia"][0]
    assert gaia["jin2025"] == 67  # Jin et al. 2025, Model 1, Gaia eclipsing DWDs
    lisa = counts[counts["detector"] == "LISA"][0]
    assert lisa["jin2025"] == 1.7e4  # Jin et al. 2025, Model 1, LISA
    # 0.2 % of the Galaxy: the count is a few dozen simulated systems times 500,
    # so only order-of-magnitude agreement can be asked of it here
    assert 0.2 < lisa["ratio_to_jin2025"] < 5
    assert lisa["bootstrap_std"] > 0


def test_eclipsing_catalogue_figures_and_summary(small_run):
    _, out = small_run
    eclipsing = QTable.read(out / "tables/eclipsing_model_1.parquet", format="parquet")
    assert eclipsing["period"].unit == "h"
    assert eclipsing["teff_1"].unit == "K"
    assert len(eclipsing) > 0  # ~1e3 eclipsing within reach of Rubin per 0.2 %
    assert (eclipsing["period"].value <= 30).all()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model_1_n_eclipsing"] > summary["model_1_n_detected_rubin"]
    assert (
        summary["model_1_n_detected_rubin"]
        >= summary["model_1_n_detected_rubin_and_joint"]
    )
    for name in ("eclipsing_gaia_model_1", "eclipsing_rubin_model_1"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 10_000


def test_detected_sources_have_fisher_errors_and_units(small_run):
    _, out = small_run
    detected = QTable.read(
        out / "tables/detected_model_1_LISA.parquet", format="parquet"
    )
    assert len(detected) > 0
    assert (np.asarray(detected["snr_LISA"]) > 7).all()
    assert str(detected["f_gw"].unit) == "Hz"
    assert str(detected["sigma_f"].unit) == "Hz"
    # Fisher SNR is computed independently of the population SNR kernel (time
    # quadrature of the heterodyned signal): they agree to < 1 % (f at mid-mission
    # vs start of mission, quadrature error)
    ratio = np.asarray(detected["fisher_snr"]) / np.asarray(detected["snr_LISA"])
    np.testing.assert_allclose(ratio, 1.0, rtol=1e-2)


def test_summary_and_resume(small_run):
    workflow, out = small_run
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model_1_n_detected_joint"] >= summary["model_1_n_detected_LISA"]
    result = runner.invoke(app, ["run", str(workflow), "--out", str(out), "--resume"])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "summary.json").read_text()) == summary
    assert "population_model_1: inputs unchanged" in (out / "run.log").read_text()


@pytest.mark.parametrize(
    ("override", "key_path"),
    [
        (
            "config.population_synthesis.binary_physics.alpha_ce=-1",
            "config.population_synthesis.binary_physics.alpha_ce",
        ),
        (
            "config.population_synthesis.metallicities=[0.5]",
            "config.population_synthesis.metallicities",
        ),
        ("config.galaxy_fraction=0", "config.galaxy_fraction"),
        ("config.star_formation=[model_3]", "config.star_formation[0]"),
        (
            "config.population_synthesis.initial_conditions.imf=flat",
            "config.population_synthesis.initial_conditions",
        ),
        ("config.optical.period_max=30", "config.optical.period_max"),
        ("config.optical.period_max='60 h'", "expected at most 48 h"),
        ("config.optical.surveys.hst={}", "config.optical.surveys.hst"),
        (
            "config.optical.surveys.rubin.limiting_magnitude={V: 20}",
            "rubin: limiting_magnitude: unknown bands ['V']",
        ),
        (
            "config.optical.surveys.rubin.band_visits={u: 57}",
            "rubin: band_visits: the total (825) must be a multiple of the 2",
        ),
        (
            "config.optical.surveys.gaia.declination_range=['10 deg', '-10 deg']",
            "gaia: declination_range",
        ),
        (
            "config.optical.surveys.gaia.min_eclipse_points=0",
            "config.optical.surveys.gaia.min_eclipse_points",
        ),
        ("config.optical.dust.scale_height='1 s'", "config.optical.dust.scale_height"),
    ],
)
def test_bad_settings_are_rejected_before_any_evolution(tmp_path, override, key_path):
    workflow = tmp_path / "dwd.yaml"
    workflow.write_text(WORKFLOW)
    result = runner.invoke(app, ["validate", str(workflow), "--set", override])
    assert result.exit_code == 2
    assert key_path in result.output


def test_sample_origin_follows_the_request(tmp_path):
    from simfer.workflow.jobs.dwd_galaxy import (
        PopulationSynthesisConfig,
        _resolve_samples,
    )

    shipped, origins = _resolve_samples(PopulationSynthesisConfig())
    assert origins == ["shipped", "shipped"]
    assert shipped[0].n_binaries_sampled == 33000

    exact = PopulationSynthesisConfig(
        metallicities=[0.02], n_binaries=40, seed=5, cache_dir=str(tmp_path)
    )
    samples, origins = _resolve_samples(exact)
    assert origins == ["cosmic"]
    assert (samples[0].n_binaries_sampled, samples[0].seed) == (40, 5)
    again, origins = _resolve_samples(exact)
    assert origins == ["cache"]
    assert again[0].dwds.equals(samples[0].dwds)


@pytest.mark.parametrize(
    ("override", "key_path"),
    [
        ("config.star_formation=[model_1, model_1]", "config.star_formation"),
        (
            "config.population_synthesis.metallicities=[0.02, 0.02]",
            "config.population_synthesis.metallicities",
        ),
        (
            "config.population_synthesis.initial_conditions.binary_fraction=0",
            "config.population_synthesis.initial_conditions",
        ),
        ("config.snr_threshold=.inf", "config.snr_threshold"),
        (
            "config.population_synthesis.binary_physics.alpha_ce=.inf",
            "config.population_synthesis.binary_physics.alpha_ce",
        ),
    ],
)
def test_duplicates_and_infinities_are_rejected(tmp_path, override, key_path):
    workflow = tmp_path / "dwd.yaml"
    workflow.write_text(WORKFLOW)
    result = runner.invoke(app, ["validate", str(workflow), "--set", override])
    assert result.exit_code == 2, result.output
    assert key_path in result.output


def test_unusable_cache_dir_is_rejected_before_cosmic(tmp_path):
    workflow = tmp_path / "dwd.yaml"
    workflow.write_text(WORKFLOW)
    a_file = tmp_path / "file"
    a_file.write_text("")
    result = runner.invoke(
        app,
        [
            "validate",
            str(workflow),
            "--set",
            f"config.population_synthesis.cache_dir={a_file}",
        ],
    )
    assert result.exit_code == 2
    assert "config.population_synthesis.cache_dir" in result.output


def test_no_detections_and_an_empty_catalogue_still_give_a_record(tmp_path):
    workflow = tmp_path / "dwd.yaml"
    workflow.write_text(WORKFLOW)
    out = tmp_path / "run"
    result = runner.invoke(
        app,
        [
            "run",
            str(workflow),
            "--out",
            str(out),
            "--set",
            "config.star_formation=[model_1, model_2]",
            "--set",
            "config.galaxy_fraction=0.0002",
            "--set",
            "config.f_min_catalogue=1 Hz",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model_1_n_detected_LISA"] == 0
    assert summary["ratio_model_2_over_model_1_LISA"] is None  # 0/0: no ratio


CUSTOM = """\
kind: dwd_galaxy
seed: 11
config:
  galaxy_fraction: 0.002
  n_bootstrap: 20
  fisher: false
  star_formation:
    - name: late_burst
      thin_disc:
        kind: bursts
        episodes:
          - {age_min: "0 Gyr", age_max: "2 Gyr", mass_fraction: 0.5}
          - {age_min: "8 Gyr", age_max: "10 Gyr", mass_fraction: 0.5}
    - name: tabulated
      thin_disc: {kind: tabulated, ages: ["0 Gyr", "5 Gyr", "10 Gyr"], rates: [1, 2, 1]}
"""


def test_user_defined_star_formation_histories_run(tmp_path):
    workflow = tmp_path / "custom.yaml"
    workflow.write_text(CUSTOM)
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", str(workflow), "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    # the same Galaxy mass is formed in both, so the formed totals agree exactly
    assert summary["late_burst_n_formed"] == pytest.approx(
        summary["tabulated_n_formed"], rel=0.02
    )  # Poisson draws of ~1.5e6 systems at fraction 0.002: 0.1 % scatter
    counts = QTable.read(out / "tables/counts.parquet", format="parquet")
    assert np.isnan(counts["jin2025"]).all()  # no published reference for these


@pytest.mark.parametrize(
    ("replace", "fragment"),
    [
        (
            'mass_fraction: 0.5}\n          - {age_min: "8 Gyr"',
            'mass_fraction: 0.4}\n          - {age_min: "8 Gyr"',
        ),
        ("name: tabulated", "name: late_burst"),
        ("kind: tabulated", "kind: gaussian"),
        ("name: tabulated", "name: model_1"),
    ],
)
def test_bad_user_histories_are_rejected(tmp_path, replace, fragment):
    workflow = tmp_path / "custom.yaml"
    workflow.write_text(CUSTOM.replace(replace, fragment))
    result = runner.invoke(app, ["validate", str(workflow)])
    assert result.exit_code == 2, result.output
    assert "config.star_formation" in result.output
