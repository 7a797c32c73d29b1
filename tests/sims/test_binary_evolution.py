"""Tests for simfer.sims.binary_evolution (COSMIC DWD population synthesis)."""

import ast
import importlib.metadata
import json
import logging
import math
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate

import simfer.sims.binary_evolution as be
from simfer.sims.binary_evolution import (
    COLUMN_UNITS,
    COSMIC_BSE_DEFAULTS,
    BinaryPhysics,
    DWDSample,
    DWDSampleCache,
    InitialConditions,
    PopulationSynthesisSettings,
    cosmic_arguments,
    evolve_dwd_sample,
    expected_mass_per_binary,
    load_shipped_sample,
    sample_initial_binaries,
    settings_hash,
)

G_RSUN_MSUN_DAY = 2.959122e-4 * 215.032**3  # G in Rsun^3 / (Msun day^2), IAU values


def _settings(metallicity=0.02, **physics):
    return PopulationSynthesisSettings(
        initial_conditions=InitialConditions(metallicity=metallicity),
        binary_physics=BinaryPhysics(**physics),
    )


@pytest.fixture(scope="module")
def small_sample():
    # Z = 0.002 gives the most DWDs per binary, so 120 binaries give dozens.
    return evolve_dwd_sample(_settings(0.002), 120, seed=11)


# --------------------------------------------------------------------------- #
# Settings and the mapping onto COSMIC
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    ("model", "values", "name"),
    [
        (InitialConditions, {"metallicity": 0.05}, "metallicity"),
        (InitialConditions, {"metallicity": 1e-5}, "metallicity"),
        (InitialConditions, {"binary_fraction": 1.2}, "binary_fraction"),
        (InitialConditions, {"binary_fraction": -0.1}, "binary_fraction"),
        (InitialConditions, {"imf": "chabrier03"}, "imf"),
        (InitialConditions, {"period_model": "moe19"}, "period_model"),
        (InitialConditions, {"primary_mass_min": 12.0}, "primary_mass_min"),
        (InitialConditions, {"secondary_mass_min": 0.2}, "secondary_mass_min"),
        (InitialConditions, {"evolution_time": -1.0}, "evolution_time"),
        (InitialConditions, {"metalicity": 0.02}, "metalicity"),
        (BinaryPhysics, {"alpha_ce": 0.0}, "alpha_ce"),
        (BinaryPhysics, {"alpha_ce": -1.0}, "alpha_ce"),
        (BinaryPhysics, {"lambda_ce": 0.0}, "lambda_ce"),
        (BinaryPhysics, {"qcflag": 7}, "qcflag"),
        (BinaryPhysics, {"overrides": {"not_a_flag": 1}}, "not_a_flag"),
        (BinaryPhysics, {"overrides": {"alpha1": [2.0, 2.0]}}, "alpha1"),
    ],
)
def test_bad_setting_error_names_the_setting(model, values, name):
    with pytest.raises(ValueError, match=name):
        model(**values)


def test_cosmic_arguments_revalidates_unvalidated_settings():
    bad = PopulationSynthesisSettings.model_construct(
        initial_conditions=InitialConditions(),
        binary_physics=BinaryPhysics.model_construct(alpha_ce=-2.0),
    )
    with pytest.raises(ValueError, match="alpha_ce"):
        cosmic_arguments(bad)
    with pytest.raises(TypeError, match="PopulationSynthesisSettings"):
        cosmic_arguments({"initial_conditions": {}})


def test_cosmic_rejects_bad_override_before_evolution():
    with pytest.raises(ValueError, match="binary_physics"):
        cosmic_arguments(_settings(overrides={"acc_lim": [-1.0]}))


def test_cosmic_arguments_mapping():
    kwargs, bse = cosmic_arguments(
        _settings(0.002, alpha_ce=0.25, lambda_ce=0.5, qcflag=2)
    )
    assert kwargs["met"] == 0.002
    assert kwargs["binfrac_model"] == 0.5 and isinstance(kwargs["binfrac_model"], float)
    assert kwargs["primary_model"] == "kroupa01"
    assert bse["alpha1"] == [0.25, 0.25]
    assert bse["lambdaf"] == -0.5  # COSMIC: negative lambdaf fixes lambda = -lambdaf
    assert bse["qcflag"] == 2
    assert set(bse) == set(COSMIC_BSE_DEFAULTS)

    _, default_bse = cosmic_arguments(PopulationSynthesisSettings())
    assert default_bse["lambdaf"] == 0.0  # variable lambda, no recombination energy
    assert COSMIC_BSE_DEFAULTS["alpha1"] == [1.0, 1.0]  # module constant untouched


def _documented_bse_defaults():
    import cosmic

    path = Path(cosmic.__file__).parent / "data" / "cosmic-settings.json"
    fraction = re.compile(r"(\d+\.?\d*)/(\d+\.?\d*)")
    defaults = {}
    for category in json.loads(path.read_text()):
        if category["category"] != "bse":
            continue
        for setting in category["settings"]:
            (value,) = [o["name"] for o in setting["options"] if o.get("default")]
            if isinstance(value, str):
                text = fraction.sub(lambda m: repr(float(m[1]) / float(m[2])), value)
                value = ast.literal_eval(text)
            defaults[setting["name"]] = value
    return defaults


def test_bse_defaults_match_cosmic_documentation():
    documented = _documented_bse_defaults()
    assert set(documented) == set(COSMIC_BSE_DEFAULTS)
    for key, value in documented.items():
        # exact: both sides are the same decimal literals (2/21 computed alike)
        assert np.array_equal(np.asarray(value), np.asarray(COSMIC_BSE_DEFAULTS[key]))


def test_settings_hash_stable_and_sensitive():
    base = settings_hash(PopulationSynthesisSettings())
    assert base == settings_hash(PopulationSynthesisSettings())
    assert len(base) == 64
    same = _settings(overrides={"neta": 0.4, "beta": 0.2})
    reordered = _settings(overrides={"beta": 0.2, "neta": 0.4})
    assert settings_hash(same) == settings_hash(reordered)
    changed = [
        _settings(0.002),
        _settings(alpha_ce=1.0 + 1e-9),
        _settings(lambda_ce=1.0),
        _settings(qcflag=4),
        _settings(overrides={"neta": 0.4}),
    ]
    hashes = {settings_hash(s) for s in changed}
    assert base not in hashes and len(hashes) == len(changed)


# --------------------------------------------------------------------------- #
# Mass budget
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("imf", ["kroupa01", "kroupa93", "salpeter55"])
def test_imf_moments_match_quadrature(imf):
    breaks, slopes = be._IMF_SHAPES[imf]

    def phi(m):
        coeff = 1.0
        for i, alpha in enumerate(slopes):
            if i > 0:
                coeff *= breaks[i] ** (alpha - slopes[i - 1])
            if m <= breaks[i + 1]:
                return coeff * m**-alpha
        return 0.0

    for power in (0.0, 1.0, -1.0):
        numeric = integrate.quad(
            lambda m, p=power: phi(m) * m**p, 0.3, 40.0, points=breaks, limit=200
        )[0]
        # closed form vs adaptive quadrature: agree to quadrature accuracy
        assert be._imf_moment(imf, 0.3, 40.0, power) == pytest.approx(numeric, rel=1e-8)


@pytest.mark.parametrize("q_min", [0.0, 0.1, 0.3])
def test_expected_mass_per_binary_matches_quadrature(q_min):
    ic = InitialConditions(q_min=q_min, binary_fraction=0.7, mass_ratio_power=0.5)
    g = ic.mass_ratio_power

    def phi(m):  # Kroupa (2001) above 0.08 Msun, continuous at 0.5 Msun
        return (m / 0.5) ** -1.3 if m < 0.5 else (m / 0.5) ** -2.3

    def p_q_above(x):
        x = min(max(x, q_min), 1.0)
        return (1 - x ** (g + 1)) / (1 - q_min ** (g + 1))

    n_all = integrate.quad(phi, 0.08, 150.0, points=[0.5], limit=200)[0]
    m_all = integrate.quad(lambda m: m * phi(m), 0.08, 150.0, points=[0.5])[0]
    mean_q = (
        integrate.quad(lambda q: q * q**g, q_min, 1)[0]
        / integrate.quad(lambda q: q**g, q_min, 1)[0]
    )
    sel = integrate.quad(
        lambda m: phi(m) * p_q_above(0.5 / m), 0.85, 10.0, points=[5.0], limit=200
    )[0]
    expected = (m_all / n_all) * (1 + 0.7 * mean_q) / (0.7 * sel / n_all)
    # independent quadrature of the same integrals: agree to 1e-6
    assert expected_mass_per_binary(ic) == pytest.approx(expected, rel=1e-6)


def test_sampled_mass_budget_matches_analytic_imf_integral():
    settings = PopulationSynthesisSettings()
    _, budget = sample_initial_binaries(settings, 100_000, seed=5)
    # Monte Carlo scatter of the budget ~0.35 % at this size (0.2 % measured at
    # 2e5 binaries); 1.5 % is > 4 sigma
    assert budget["total_mass"] == pytest.approx(
        budget["total_mass_analytic"], rel=0.015
    )
    assert budget["n_selected"] >= 100_000


def test_sampling_is_seeded_and_leaves_global_rng_alone():
    # COSMIC's sampler uses numpy's legacy global RNG, which is what is tested
    np.random.seed(123)  # noqa: NPY002
    before = np.random.get_state()[1].copy()  # noqa: NPY002
    first, _ = sample_initial_binaries(PopulationSynthesisSettings(), 300, seed=9)
    assert np.array_equal(np.random.get_state()[1], before)  # noqa: NPY002
    second, _ = sample_initial_binaries(PopulationSynthesisSettings(), 300, seed=9)
    pd.testing.assert_frame_equal(first, second)
    ic = PopulationSynthesisSettings().initial_conditions
    assert first["mass_1"].between(ic.primary_mass_min, ic.primary_mass_max).all()
    assert (first["mass_2"] >= ic.secondary_mass_min).all()


# --------------------------------------------------------------------------- #
# Evolution and DWD extraction
# --------------------------------------------------------------------------- #
def test_dwd_invariants(small_sample):
    dwds = small_sample.dwds
    assert list(dwds.columns) == list(COLUMN_UNITS)
    assert len(dwds) >= 10
    assert small_sample.n_dropped == 0
    for kstar in (dwds["kstar_1"], dwds["kstar_2"]):
        assert kstar.isin([10, 11, 12]).all()
    assert (dwds["type_1"] == dwds["kstar_1"].map(be.WD_TYPES)).all()
    for mass in (dwds["mass_1"], dwds["mass_2"]):
        assert ((mass > 0.0) & (mass < 1.44)).all()  # below the Chandrasekhar mass
    # an isolated binary only loses mass
    zams_total = dwds["mass_zams_1"] + dwds["mass_zams_2"]
    assert (dwds["mass_1"] + dwds["mass_2"] < zams_total).all()
    assert (dwds["t_dwd"] > 0).all()
    assert (dwds["t_dwd"] <= 13700.0).all()
    assert (dwds["sep"] > 0).all()
    assert ((dwds["ecc"] >= 0) & (dwds["ecc"] < 1)).all()
    assert (dwds["mass_zams_1"] >= dwds["mass_zams_2"]).all()
    # Kepler's third law; COSMIC's own constants differ from IAU ones by < 0.5 %
    kepler = (
        2
        * np.pi
        * np.sqrt(
            dwds["sep"] ** 3 / (G_RSUN_MSUN_DAY * (dwds["mass_1"] + dwds["mass_2"]))
        )
    )
    np.testing.assert_allclose(dwds["porb"], kepler, rtol=5e-3)


def test_mass_budget_and_metadata(small_sample):
    meta = small_sample.metadata()
    assert meta["cosmic_version"] == importlib.metadata.version("cosmic-popsynth")
    assert meta["settings_hash"] == settings_hash(small_sample.settings)
    # 120 binaries: relative scatter ~ 1/sqrt(120) = 9 %; 40 % is > 4 sigma
    assert small_sample.total_mass_formed == pytest.approx(
        120 * expected_mass_per_binary(small_sample.settings.initial_conditions),
        rel=0.4,
    )
    json.dumps(meta)  # must be JSON-serialisable for the Parquet metadata


def test_same_seed_gives_identical_sample(small_sample):
    again = evolve_dwd_sample(small_sample.settings, 120, seed=11)
    pd.testing.assert_frame_equal(again.dwds, small_sample.dwds)
    assert again.total_mass_formed == small_sample.total_mass_formed
    other = evolve_dwd_sample(small_sample.settings, 40, seed=12)
    assert not other.dwds["mass_zams_1"].isin(small_sample.dwds["mass_zams_1"]).any()


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
