"""The `simfer` command: bad input gives exit status 2, the key path and no output."""

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from simfer.cli import app

runner = CliRunner()

GOOD = """\
kind: verification_binaries
seed: 3
config:
  catalogue: null
  fisher: false
  sources:
    - name: test binary
      period: "10 min"
      m_1: "0.6 solMass"
      m_2: "0.3 solMass"
      distance: "1 kpc"
      inclination: "60 deg"
      galactic_l: "120 deg"
      galactic_b: "10 deg"
  detectors:
    LISA: {t_obs: "4 yr"}
    TianQin: {}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "workflow.yaml"
    path.write_text(text)
    return path


def _invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


BAD_CASES = {
    "malformed YAML": (GOOD.replace("seed: 3", "seed: [3"), "<yaml>", None),
    "wrong unit": (
        GOOD.replace('t_obs: "4 yr"', 't_obs: "4 kpc"'),
        "config.detectors.LISA.t_obs",
        16,
    ),
    "negative mass": (
        GOOD.replace('"0.3 solMass"', '"-0.3 solMass"'),
        "config.sources[0].m_2",
        10,
    ),
    "unknown detector": (
        GOOD.replace("TianQin: {}", "Taiji: {}"),
        "config.detectors.Taiji",
        17,
    ),
    "unknown kind": (GOOD.replace("verification_binaries", "galaxy_soup"), "kind", 1),
    "unknown key": (GOOD.replace("fisher: false", "fishr: false"), "config.fishr", 5),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_input_exits_2_naming_the_key_and_writes_nothing(tmp_path, case):
    text, key_path, line = BAD_CASES[case]
    workflow = _write(tmp_path, text)
    out = tmp_path / "run"
    result = _invoke("run", workflow, "--out", out)
    assert result.exit_code == 2, result.output
    assert key_path in result.output
    if line is not None:
        assert f"{key_path} (line {line})" in result.output
    assert not out.exists()


def test_missing_file_exits_2(tmp_path):
    result = _invoke("validate", tmp_path / "absent.yaml")
    assert result.exit_code == 2
    assert "no such file" in result.output


def test_several_problems_are_reported_together(tmp_path):
    text = GOOD.replace('"4 yr"', '"4 kpc"').replace('"1 kpc"', '"1 yr"')
    result = _invoke("validate", _write(tmp_path, text))
    assert result.exit_code == 2
    assert "config.detectors.LISA.t_obs" in result.output
    assert "config.sources[0].distance" in result.output


def test_set_override_is_validated(tmp_path):
    workflow = _write(tmp_path, GOOD)
    result = _invoke("validate", workflow, "--set", "config.snr_threshold=-1")
    assert result.exit_code == 2
    assert "config.snr_threshold" in result.output


def test_validate_prints_resolved_defaults(tmp_path):
    result = _invoke("validate", _write(tmp_path, GOOD))
    assert result.exit_code == 0, result.output
    resolved = yaml.safe_load(result.stdout)
    assert resolved["config"]["snr_threshold"] == 7.0  # default filled in
    assert resolved["config"]["detectors"]["TianQin"]["confusion"] == "default"


def test_list_and_schema():
    listing = _invoke("list")
    assert listing.exit_code == 0
    assert "verification_binaries" in listing.output
    schema = _invoke("schema", "verification_binaries")
    assert schema.exit_code == 0
    document = json.loads(schema.output)
    assert "detectors" in document["properties"]["config"]["properties"]
    assert _invoke("schema", "nope").exit_code == 2


def test_run_writes_a_complete_record_and_resume_reuses_it(tmp_path):
    workflow = _write(tmp_path, GOOD)
    out = tmp_path / "run"
    first = _invoke("run", workflow, "--out", out)
    assert first.exit_code == 0, first.output
    for name in (
        "config.yaml",
        "provenance.json",
        "run.log",
        "summary.json",
        "tables/snr.parquet",
        "figures/characteristic_strain.png",
    ):
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_sources"] == 1
    provenance = json.loads((out / "provenance.json").read_text())
    assert provenance["seeds"]["root"] == 3

    again = _invoke("run", workflow, "--out", out)
    assert again.exit_code == 2  # an existing run is never overwritten silently
    resumed = _invoke("run", workflow, "--out", out, "--resume")
    assert resumed.exit_code == 0
    assert "reusing stored results" in (out / "run.log").read_text()
    assert json.loads((out / "summary.json").read_text()) == summary

    shown = _invoke("show", out)
    assert shown.exit_code == 0
    assert "n_sources" in shown.output


def test_same_seed_gives_identical_tables(tmp_path):
    from astropy.table import QTable

    workflow = _write(tmp_path, GOOD)
    for name in ("a", "b"):
        assert _invoke("run", workflow, "--out", tmp_path / name).exit_code == 0
    first = QTable.read(tmp_path / "a/tables/snr.parquet", format="parquet")
    second = QTable.read(tmp_path / "b/tables/snr.parquet", format="parquet")
    for column in first.colnames:
        values = np.asarray(first[column])
        if values.dtype.kind == "f":
            assert np.array_equal(values, np.asarray(second[column]), equal_nan=True)
        else:
            assert (values == np.asarray(second[column])).all()


def test_detector_names_are_case_insensitive_but_given_once(tmp_path):
    lower = GOOD.replace("LISA:", "lisa:").replace("TianQin:", "TIANQIN:")
    result = _invoke("validate", _write(tmp_path, lower))
    assert result.exit_code == 0, result.output
    resolved = yaml.safe_load(result.stdout)
    assert set(resolved["config"]["detectors"]) == {"LISA", "TianQin"}
    both = GOOD.replace("TianQin: {}", "lisa: {}")
    result = _invoke("validate", _write(tmp_path, both))
    assert result.exit_code == 2
    assert "expected each detector once" in result.output


def test_resume_refuses_a_different_configuration(tmp_path):
    workflow = _write(tmp_path, GOOD)
    out = tmp_path / "run"
    assert _invoke("run", workflow, "--out", out).exit_code == 0
    result = _invoke(
        "run", workflow, "--out", out, "--resume", "--set", "config.snr_threshold=8"
    )
    assert result.exit_code == 2
    assert "config.snr_threshold" in result.output


def test_unusable_out_directory_is_a_clear_error(tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("")
    result = _invoke("run", _write(tmp_path, GOOD), "--out", a_file / "sub")
    assert result.exit_code == 2
    assert "cannot use --out" in result.output


def test_show_reports_a_damaged_record(tmp_path):
    (tmp_path / "config.yaml").write_text("kind: x\n")
    (tmp_path / "summary.json").write_text("{not json")
    result = _invoke("show", tmp_path)
    assert result.exit_code == 2
    assert "damaged run record" in result.output


def test_broken_catalogue_is_rejected_before_running(tmp_path):
    (tmp_path / "cat.ecsv").write_text("# %ECSV 1.0\n# ---\nname period\nx 1\n")
    text = GOOD.replace("catalogue: null", "catalogue: cat.ecsv")  # relative to file
    out = tmp_path / "run"
    result = _invoke("run", _write(tmp_path, text), "--out", out)
    assert result.exit_code == 2
    assert "config.catalogue" in result.output
    assert not out.exists()
