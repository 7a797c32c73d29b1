"""Tests for simfer.sims.binary_evolution (COSMIC DWD population synthesis)."""

import ast
import importlib.metadata
import json
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
    InitialConditions,
    PopulationSynthesisSettings,
    cosmic_arguments,
    evolve_dwd_sample,
    expected_mass_per_binary,
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
    # each white dwarf forms no later than the pair; the later one makes it a DWD
    assert (dwds[["t_wd_1", "t_wd_2"]].max(axis=1) == dwds["t_dwd"]).all()
    assert (dwds[["t_wd_1", "t_wd_2"]] > 0).all().all()
    # the initially more massive star usually becomes a white dwarf first
    assert (dwds["t_wd_1"] <= dwds["t_wd_2"]).mean() > 0.5
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
