"""Tests for simfer.sims.cosmic_workers (COSMIC in killable worker processes)."""

import logging

import simfer.sims.cosmic_workers as be
from simfer.sims.binary_evolution import (
    PopulationSynthesisSettings,
    cosmic_arguments,
    sample_initial_binaries,
)


def test_overrunning_binaries_are_dropped_and_counted(caplog):
    kwargs_bse = cosmic_arguments(PopulationSynthesisSettings())[1]
    initial, _ = sample_initial_binaries(PopulationSynthesisSettings(), 2, seed=1)
    with caplog.at_level(logging.WARNING, logger=be.__name__):
        # a 1 ms limit that no chunk or binary can meet: all are killed
        result = be._evolve_with_timeouts(
            initial, kwargs_bse, n_proc=1, chunk_size=2, timeout_per_binary=1e-3,
            chunk_timeout=(1e-3, 0.0),
        )  # fmt: skip
    assert sorted(result["timed_out"]) == [0, 1]
    assert len(result["evolved"]) == 0
    assert "Dropped binary" in caplog.text


def test_failing_binaries_are_dropped_as_failed(caplog):
    bse = cosmic_arguments(PopulationSynthesisSettings())[1]
    del bse["pts1"]  # COSMIC raises for a missing BSE setting inside the worker
    initial, _ = sample_initial_binaries(PopulationSynthesisSettings(), 2, seed=1)
    with caplog.at_level(logging.WARNING, logger=be.__name__):
        result = be._evolve_with_timeouts(
            initial, bse, n_proc=1, chunk_size=2, timeout_per_binary=60.0
        )
    assert sorted(result["failed"]) == [0, 1]
    assert len(result["timed_out"]) == 0 and len(result["dwd_rows"]) == 0
    assert "pts1" in caplog.text
