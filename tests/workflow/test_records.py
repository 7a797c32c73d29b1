import json

import astropy.units as u
import numpy as np
import pytest
from astropy.table import QTable

from simfer.workflow.records import RunRecord, atomic_write, content_hash, provenance


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(target) as handle:
        handle.write("new, half written")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_tables_round_trip_with_units(tmp_path):
    record = RunRecord(tmp_path)
    table = QTable({"frequency": np.array([1e-3, 2e-3]) * u.Hz, "name": ["a", "b"]})
    record.write_table("sources", table)
    back = record.read_table("sources")
    assert back["frequency"].unit == u.Hz
    np.testing.assert_array_equal(back["frequency"].value, [1e-3, 2e-3])
    assert list(back["name"]) == ["a", "b"]


def test_resume_skips_unchanged_steps_and_recomputes_changed_ones(tmp_path):
    calls = []

    def compute(value):
        def inner():
            calls.append(value)
            return {"t": QTable({"x": [value] * u.m})}

        return inner

    first = RunRecord(tmp_path)
    first.step("s", {"value": 1}, compute(1))
    again = RunRecord(tmp_path, resume=True)
    result = again.step("s", {"value": 1}, compute(1))
    assert calls == [1]  # reused, not recomputed
    assert result["t"]["x"][0] == 1 * u.m
    changed = RunRecord(tmp_path, resume=True)
    result = changed.step("s", {"value": 2}, compute(2))
    assert calls == [1, 2]  # inputs changed: recomputed, never mixed
    assert result["t"]["x"][0] == 2 * u.m


def test_missing_output_forces_recompute(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return {"t": QTable({"x": [1.0] * u.m})}

    RunRecord(tmp_path).step("s", {}, compute)
    (tmp_path / "tables" / "t.parquet").unlink()
    RunRecord(tmp_path, resume=True).step("s", {}, compute)
    assert len(calls) == 2


def test_content_hash_is_order_independent_and_sensitive():
    assert content_hash({"a": 1, "b": 2}) == content_hash({"b": 2, "a": 1})
    assert content_hash({"a": 1}) != content_hash({"a": 2})


def test_provenance_names_versions_and_is_json():
    info = provenance({"root": 3})
    assert info["packages"]["numpy"] == np.__version__
    assert info["seeds"] == {"root": 3}
    json.dumps(info)
