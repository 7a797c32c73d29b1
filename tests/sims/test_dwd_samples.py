"""Tests for simfer.sims.dwd_samples (Parquet files, cache, shipped samples)."""

import logging
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import simfer.sims.dwd_samples as be
from simfer.sims.binary_evolution import (
    COLUMN_UNITS,
    BinaryPhysics,
    InitialConditions,
    PopulationSynthesisSettings,
    expected_mass_per_binary,
    settings_hash,
)
from simfer.sims.dwd_samples import DWDSample, DWDSampleCache, load_shipped_sample


def _settings(metallicity=0.02, **physics):
    return PopulationSynthesisSettings(
        initial_conditions=InitialConditions(metallicity=metallicity),
        binary_physics=BinaryPhysics(**physics),
    )


# --------------------------------------------------------------------------- #
# Parquet storage and cache
# --------------------------------------------------------------------------- #
def _fake_sample(n_binaries=10, seed=3):
    settings = _settings(0.002)
    dwds = pd.DataFrame({name: np.arange(3, dtype=float) for name in COLUMN_UNITS})
    dwds = dwds.astype({"bin_num": "int64", "kstar_1": "int64", "kstar_2": "int64"})
    dwds["type_1"] = dwds["type_2"] = "CO"
    return DWDSample(
        dwds=dwds, settings=settings, settings_hash=settings_hash(settings),
        seed=seed, n_binaries_sampled=n_binaries, n_dropped=1,
        total_mass_formed=123.5, cosmic_version=be._cosmic_version(),
        provenance={"n_timed_out": 1, "runtime_s": 2.5},
    )  # fmt: skip


def test_parquet_round_trip_preserves_metadata(tmp_path):
    sample = _fake_sample()
    path = sample.to_parquet(tmp_path / "s.parquet")
    assert [p.name for p in tmp_path.iterdir()] == ["s.parquet"]  # no temp left
    umask = os.umask(0o022)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600
    back = DWDSample.from_parquet(path)
    pd.testing.assert_frame_equal(back.dwds, sample.dwds)
    assert back.metadata() == sample.metadata()
    assert back.settings == sample.settings


def test_failed_write_keeps_old_file(tmp_path, monkeypatch):
    path = _fake_sample().to_parquet(tmp_path / "s.parquet")
    before = path.read_bytes()

    def broken_write(table, where, **kwargs):
        Path(where).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(be.pq, "write_table", broken_write)
    with pytest.raises(OSError, match="disk full"):
        _fake_sample(seed=4).to_parquet(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["s.parquet"]


def test_cache_creates_once_then_loads(tmp_path, monkeypatch, caplog):
    calls = []

    def fake_evolve(settings, n_binaries, seed, n_proc=1):
        calls.append((n_binaries, seed))
        return _fake_sample(n_binaries, seed)

    monkeypatch.setattr(be, "evolve_dwd_sample", fake_evolve)
    cache = DWDSampleCache(tmp_path / "cache")
    settings = _settings(0.002)
    first = cache.get_or_create(settings, 10, 3)
    second = cache.get_or_create(settings, 10, 3)
    assert calls == [(10, 3)]
    assert second.metadata() == first.metadata()
    assert cache.path_for(settings, 10, 3).exists()

    cache.path_for(settings, 10, 3).write_bytes(b"not parquet")
    with caplog.at_level(logging.WARNING, logger=be.__name__):
        cache.get_or_create(settings, 10, 3)
    assert calls == [(10, 3), (10, 3)] and "rebuilding" in caplog.text


def test_cache_key_distinguishes_size_seed_and_settings(tmp_path):
    cache = DWDSampleCache(tmp_path)
    paths = {
        cache.path_for(_settings(), 10, 1),
        cache.path_for(_settings(), 11, 1),
        cache.path_for(_settings(), 10, 2),
        cache.path_for(_settings(alpha_ce=0.5), 10, 1),
    }
    assert len(paths) == 4


# --------------------------------------------------------------------------- #
# Shipped samples
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(("label", "metallicity"), [("z0p02", 0.02), ("z0p002", 0.002)])
def test_shipped_samples_load(label, metallicity):
    sample = load_shipped_sample(label)
    assert list(sample.dwds.columns) == list(COLUMN_UNITS)
    assert sample.settings.initial_conditions.metallicity == metallicity
    assert sample.settings == PopulationSynthesisSettings(
        initial_conditions=InitialConditions(metallicity=metallicity)
    )
    assert len(sample.dwds) >= 3000
    assert sample.n_binaries_sampled > len(sample.dwds)
    assert sample.total_mass_formed > 0 and sample.cosmic_version
    assert sample.n_dropped <= 1e-3 * sample.n_binaries_sampled
    # Kepler's third law holds for every shipped DWD (see test_dwd_invariants)
    d = sample.dwds
    assert (d["mass_1"] < 1.44).all() and (d["mass_2"] < 1.44).all()
    assert (d["sep"] > 0).all() and (d["t_dwd"] > 0).all()
    # DWDs per Msun formed: of order 1e-2 for BSE-type models at these settings
    assert 3e-3 < sample.dwds_per_solar_mass < 5e-2
    assert load_shipped_sample(metallicity).metadata() == sample.metadata()
    expected_mass = sample.n_binaries_sampled * expected_mass_per_binary(
        sample.settings.initial_conditions
    )
    # Monte Carlo mass budget within 3 % of the closed form (N >~ 1e4 binaries)
    assert sample.total_mass_formed == pytest.approx(expected_mass, rel=0.03)
    assert math.isfinite(sample.dwds_per_solar_mass)


def test_unknown_shipped_label_lists_available():
    with pytest.raises(ValueError, match="z0p02"):
        load_shipped_sample("z0p5")


def test_shipped_files_are_small():
    labels = be.shipped_sample_labels()
    total = sum(Path(str(be._shipped_path(label))).stat().st_size for label in labels)
    assert total < 20e6  # repository budget for shipped samples
