"""Sequential Neural Likelihood on sbi (simfer.inference.snl).

The reference problem is linear-Gaussian: theta ~ N(0, s^2 I_2) and
x = A theta + n, n ~ N(0, Sigma), Sigma = diag(sigma^2). Its posterior is
Gaussian with

    C = (I / s^2 + A^T Sigma^-1 A)^-1,    m = C A^T Sigma^-1 x_o

(e.g. Bishop 2006, Pattern Recognition and Machine Learning, eq. 2.116-2.117),
so SNL's samples are compared with exact draws.
"""

import json

import numpy as np
import pytest

pytest.importorskip("sbi")  # the ``sbi`` extra; it brings torch

import torch
from sbi.inference.trainers.nle.nle_a import NLE_A
from sbi.neural_nets import likelihood_nn
from sbi.utils import BoxUniform
from sbi.utils.metrics import c2st

from simfer.inference.snl import (
    InvalidSimulationsWarning,
    SNLSettings,
    TrainingBudgetWarning,
    load_density_estimator,
    run_snl,
    sample_posterior,
    save_density_estimator,
)

A = np.array([[1.0, 0.5], [-0.3, 1.0], [0.8, -0.6]])  # x = A theta + n, 3 x 2
SIGMA = np.array([0.3, 0.4, 0.5])  # noise standard deviations of x
PRIOR_STD = 2.0
THETA_TRUE = np.array([0.7, -0.4])
X_OBSERVED = THETA_TRUE @ A.T + SIGMA * np.random.default_rng(1).standard_normal(3)


def _linear_gaussian(theta, rng):
    return theta @ A.T + SIGMA * rng.standard_normal((theta.shape[0], 3))


def _prior():
    return torch.distributions.MultivariateNormal(
        torch.zeros(2), PRIOR_STD**2 * torch.eye(2)
    )


def _exact_posterior(x_observed):
    precision = np.eye(2) / PRIOR_STD**2 + A.T @ np.diag(SIGMA**-2) @ A
    covariance = np.linalg.inv(precision)
    return covariance @ (A.T @ (x_observed / SIGMA**2)), covariance


# Small and quick: the network, the epochs and the chains. Measured with one torch
# thread: one run ~8 s (training 2.5-4 s in round 1 and ~1 s in round 2, the
# round-2 proposals by MCMC ~1.8 s, the final 2000 samples ~2.3 s).
SETTINGS = SNLSettings(
    n_rounds=2,
    simulations_per_round=1000,
    hidden_features=32,
    num_transforms=3,
    learning_rate=1e-3,
    training_batch_size=100,
    stop_after_epochs=10,
    max_num_epochs=300,
    num_chains=20,
    warmup_steps=30,
    num_posterior_samples=2000,
)
# Tiny runs for the bookkeeping and reproducibility tests, ~3 s each
TINY = SNLSettings(
    n_rounds=2,
    simulations_per_round=300,
    simulation_batch_size=128,
    hidden_features=16,
    num_transforms=2,
    learning_rate=1e-3,
    training_batch_size=50,
    stop_after_epochs=5,
    max_num_epochs=400,
    num_chains=20,
    warmup_steps=20,
    num_posterior_samples=200,
)


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    # under `pytest -n 2` on two cores, torch's default of a thread per core in each
    # worker oversubscribes the CPU: this file took 137 s instead of 63 s
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def linear_gaussian_result():
    return run_snl(_linear_gaussian, _prior(), X_OBSERVED, SETTINGS, seed=3)


def test_posterior_matches_the_exact_linear_gaussian_posterior(linear_gaussian_result):
    result = linear_gaussian_result
    mean, covariance = _exact_posterior(X_OBSERVED)
    exact = np.random.default_rng(5).multivariate_normal(mean, covariance, 2000)
    accuracy = float(
        c2st(
            torch.as_tensor(result.samples),
            torch.as_tensor(exact, dtype=torch.float32),
            seed=1,
        )
    )
    # indistinguishable samples give 0.5 +- ~0.01 (4000 samples); measured 0.491
    # for seed 3 (0.505-0.517 for seeds 0, 1, 2, 4); the issue asks for < 0.6
    assert accuracy < 0.6

    sigma = np.sqrt(np.diag(covariance))
    # 2000 correlated MCMC samples: the sampling error of the mean is ~0.03 sigma,
    # the rest is the flow's error; measured offsets 0.010 and 0.018 sigma, std
    # ratios 1.03 and 0.985 (seed 3; across seeds 0-4 at most 0.16 sigma and 7 %)
    np.testing.assert_array_less(
        np.abs(result.samples.mean(axis=0) - mean), 0.3 * sigma
    )
    np.testing.assert_allclose(result.samples.std(axis=0), sigma, rtol=0.2)


def test_result_bookkeeping(linear_gaussian_result):
    result = linear_gaussian_result
    assert result.samples.shape == (SETTINGS.num_posterior_samples, 2)
    assert result.simulations_requested == (1000, 1000)
    assert result.simulations_kept == (1000, 1000)
    assert result.simulations_dropped == (0, 0)
    assert result.simulator_calls == 2  # one batched call per round
    assert result.n_simulations == 2000
    assert all(r.epochs_trained >= 1 for r in result.rounds)
    assert result.rounds[0].proposal_seconds >= 0
    assert result.total_seconds >= result.sampling_seconds > 0


def _failing_simulator(calls):
    """The linear-Gaussian simulator with NaN in x[1] where theta_0 > 1 and +inf in
    x[2] where theta_1 < -2.5; records every (theta, x) it returns."""

    def simulator(theta, rng):
        x = _linear_gaussian(theta, rng)
        x[theta[:, 0] > 1.0, 1] = np.nan
        x[theta[:, 1] < -2.5, 2] = np.inf
        calls.append((theta.copy(), x.copy()))
        return x

    return simulator


def test_invalid_simulations_are_dropped_before_training(monkeypatch, capsys):
    appended = []
    append = NLE_A.append_simulations

    def recording_append(self, theta, x, *args, **kwargs):
        appended.append((theta.clone(), x.clone()))
        return append(self, theta, x, *args, **kwargs)

    monkeypatch.setattr(NLE_A, "append_simulations", recording_append)
    calls = []
    prior = BoxUniform(-3 * torch.ones(2), 3 * torch.ones(2))
    with pytest.warns(InvalidSimulationsWarning, match="dropped"):
        result = run_snl(_failing_simulator(calls), prior, X_OBSERVED, TINY, seed=4)
    assert capsys.readouterr().out == ""  # sbi's prints go to the DEBUG log

    # 300 per round in batches of 128: 3 calls per round
    assert result.simulator_calls == len(calls) == 6
    per_round = [calls[:3], calls[3:]]
    for index, round_calls in enumerate(per_round):
        x = np.concatenate([x for _, x in round_calls])
        n_bad = int(np.sum(~np.all(np.isfinite(x), axis=1)))
        assert result.simulations_requested[index] == 300
        assert result.simulations_dropped[index] == n_bad
        assert result.simulations_kept[index] == 300 - n_bad
        theta_sbi, x_sbi = appended[index]
        assert x_sbi.shape[0] == 300 - n_bad
        assert torch.isfinite(x_sbi).all()
        assert torch.isfinite(theta_sbi).all()
    # under the prior U(-3, 3)^2 a third of round 0 fails (binomial, 300 draws)
    assert 70 < result.simulations_dropped[0] < 150
    assert np.all(np.isfinite(result.samples))
    assert result.samples.shape == (TINY.num_posterior_samples, 2)


def test_all_invalid_simulations_raise():
    def simulator(theta, rng):
        return np.full((theta.shape[0], 3), np.nan)

    with pytest.raises(ValueError, match="0 of 300 simulations returned finite"):
        run_snl(simulator, _prior(), X_OBSERVED, TINY, seed=0)


def test_too_few_valid_simulations_raise_before_sbi():
    def simulator(theta, rng):  # all but 5 rows fail
        x = _linear_gaussian(theta, rng)
        x[5:] = np.nan
        return x

    settings = SNLSettings.from_dict(TINY.to_dict() | {"simulation_batch_size": None})
    with pytest.raises(ValueError, match="too few to train on"):
        run_snl(simulator, _prior(), X_OBSERVED, settings, seed=0)


def test_a_float64_initial_proposal_is_accepted():
    proposal = torch.distributions.MultivariateNormal(
        torch.zeros(2, dtype=torch.float64), torch.eye(2, dtype=torch.float64)
    )
    settings = SNLSettings.from_dict(TINY.to_dict() | {"n_rounds": 1})
    result = run_snl(_linear_gaussian, _prior(), X_OBSERVED, settings, seed=1,
                     initial_proposal=proposal)  # fmt: skip
    assert result.samples.dtype == np.float32


def test_constant_simulator_output_is_refused():
    # a flow cannot learn a point mass; sbi's slice sampler then never returned
    def simulator(theta, rng):
        x = _linear_gaussian(theta, rng)
        x[:, 1] = 1.0
        return x

    with pytest.raises(ValueError, match=r"columns \[1\] do not vary"):
        run_snl(simulator, _prior(), X_OBSERVED, TINY, seed=0)


def test_same_seed_gives_identical_simulations_network_and_samples():
    torch.manual_seed(123)
    np.random.seed(7)  # noqa: NPY002 -- checks run_snl restores the legacy state
    torch_state = torch.get_rng_state().clone()
    numpy_state = np.random.get_state()[1].copy()  # noqa: NPY002

    calls = [[], []]
    runs = []
    for record in calls:

        def simulator(theta, rng, record=record):
            x = _linear_gaussian(theta, rng)
            record.append((theta.copy(), x.copy()))
            return x

        runs.append(run_snl(simulator, _prior(), X_OBSERVED, TINY, seed=11))

    # the caller's global random state is left as it was
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], numpy_state)  # noqa: NPY002

    for (theta_a, x_a), (theta_b, x_b) in zip(*calls, strict=True):
        np.testing.assert_array_equal(theta_a, theta_b)
        np.testing.assert_array_equal(x_a, x_b)
    state_a = runs[0].density_estimator.state_dict()
    state_b = runs[1].density_estimator.state_dict()
    assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)
    # bit-identical: sbi's slice sampler draws from numpy's global generator,
    # which run_snl seeds
    np.testing.assert_array_equal(runs[0].samples, runs[1].samples)

    other = run_snl(_linear_gaussian, _prior(), X_OBSERVED, TINY, seed=12)
    assert not np.array_equal(other.samples, runs[0].samples)


def test_save_load_gives_identical_log_probabilities(linear_gaussian_result, tmp_path):
    result = linear_gaussian_result
    weights_path, config_path = save_density_estimator(tmp_path / "snl", result)
    assert weights_path.name == "snl.pt" and config_path.name == "snl.json"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["snl.json", "snl.pt"]

    # a plain state dict of tensors (no pickled objects) and a JSON config
    state = torch.load(weights_path, weights_only=True)
    assert isinstance(state, dict)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    config = json.loads(config_path.read_text())
    assert config["theta_dim"] == 2 and config["x_dim"] == 3
    assert SNLSettings.from_dict(config["settings"]) == SETTINGS

    loaded, settings = load_density_estimator(tmp_path / "snl")
    assert settings == SETTINGS
    generator = torch.Generator().manual_seed(0)
    theta = 2 * torch.randn(500, 2, generator=generator)
    x = torch.as_tensor(_linear_gaussian(theta.numpy(), np.random.default_rng(0)))
    x = x.float()
    with torch.no_grad():
        expected = result.density_estimator.log_prob(x, condition=theta)
        actual = loaded.log_prob(x, condition=theta)
    assert torch.equal(actual, expected)  # bit-identical, same weights and ops

    # the loaded flow samples the same posterior as the trained one, seed for seed
    samples = [
        sample_posterior(estimator, _prior(), X_OBSERVED, SETTINGS, seed=2,
                         num_samples=100)
        for estimator in (result.density_estimator, loaded)
    ]  # fmt: skip
    np.testing.assert_array_equal(*samples)


@pytest.mark.parametrize("model", ["maf", "nsf"])
def test_save_load_round_trip_keeps_z_scoring(model, tmp_path):
    # an untrained flow z-scored on data far from the loader's dummy data: the
    # z-scoring statistics must travel in the state dict
    settings = SNLSettings(density_estimator=model, hidden_features=8,
                           num_transforms=2, num_bins=4)  # fmt: skip
    generator = torch.Generator().manual_seed(1)
    theta = 5.0 + 3.0 * torch.randn(200, 3, generator=generator)
    x = -20.0 + 0.1 * torch.randn(200, 2, generator=generator)
    builder = likelihood_nn(model=model, hidden_features=8, num_transforms=2,
                            num_bins=4)  # fmt: skip
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(2)
        estimator = builder(theta, x)
    save_density_estimator(tmp_path / "flow", estimator, settings)
    loaded, _ = load_density_estimator(tmp_path / "flow")
    with torch.no_grad():
        assert torch.equal(
            loaded.log_prob(x, condition=theta), estimator.log_prob(x, condition=theta)
        )


def test_load_rejects_mismatched_weights(linear_gaussian_result, tmp_path):
    weights_path, _ = save_density_estimator(tmp_path / "a", linear_gaussian_result)
    state = torch.load(weights_path, weights_only=True)
    key = next(iter(state))
    state[key] = state[key] + 1
    torch.save(state, weights_path)
    with pytest.raises(ValueError, match="SHA-256"):
        load_density_estimator(tmp_path / "a")


def test_save_rejects_settings_that_do_not_describe_the_network(
    linear_gaussian_result, tmp_path
):
    wrong = SNLSettings(hidden_features=SETTINGS.hidden_features + 1)
    with pytest.raises(ValueError, match="hidden_features"):
        save_density_estimator(
            tmp_path / "b", linear_gaussian_result.density_estimator, wrong
        )
    with pytest.raises(ValueError, match="settings"):
        save_density_estimator(tmp_path / "b", linear_gaussian_result.density_estimator)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("n_rounds", 0),
        ("n_rounds", 1.5),
        ("n_rounds", True),
        ("simulations_per_round", 5),
        ("simulation_batch_size", 0),
        ("density_estimator", "mdn"),
        ("hidden_features", 0),
        ("num_transforms", 0),
        ("learning_rate", -1e-3),
        ("learning_rate", float("nan")),
        ("learning_rate", "fast"),
        ("validation_fraction", None),
        ("training_batch_size", 0),
        ("validation_fraction", 1.0),
        ("stop_after_epochs", 0),
        ("max_num_epochs", 0),
        ("mcmc_method", "nuts_pyro"),
        ("num_chains", 0),
        ("thin", 11),
        ("warmup_steps", -1),
        ("init_strategy", "latest_sample"),
        ("num_posterior_samples", 0),
    ],
)
def test_bad_settings_raise_naming_the_setting(name, value):
    with pytest.raises(ValueError, match=name):
        SNLSettings(**{name: value})


def test_settings_from_dict_rejects_unknown_keys():
    with pytest.raises(ValueError, match="n_round"):
        SNLSettings.from_dict({"n_round": 2})


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"prior": "uniform"}, "prior"),
        ({"prior": BoxUniform(torch.zeros(2), torch.ones(2)).base_dist}, "prior"),
        ({"x_observed": [0.1, np.nan, 0.3]}, "x_observed"),
        ({"x_observed": np.zeros((2, 3))}, "x_observed"),
        ({"seed": -1}, "seed"),
        ({"settings": {"n_rounds": 2}}, "settings"),
        ({"simulator": lambda theta, rng: theta}, "simulator"),
        (
            {"initial_proposal": BoxUniform(torch.zeros(3), torch.ones(3))},
            "initial_proposal",
        ),
    ],
)
def test_bad_arguments_raise_naming_the_argument(kwargs, match):
    arguments = dict(simulator=_linear_gaussian, prior=_prior(),
                     x_observed=X_OBSERVED, settings=TINY, seed=0) | kwargs  # fmt: skip
    with pytest.raises(ValueError, match=match):
        run_snl(**arguments)


def test_round_one_draws_from_the_initial_proposal():
    seen = []

    def recording(theta, rng):
        seen.append(theta)
        return _linear_gaussian(theta, rng)

    proposal = BoxUniform(torch.tensor([0.5, -0.6]), torch.tensor([0.9, -0.2]))
    settings = SNLSettings.from_dict(TINY.to_dict() | {"n_rounds": 1})
    run_snl(recording, _prior(), X_OBSERVED, settings, seed=3,
            initial_proposal=proposal)  # fmt: skip
    theta = np.concatenate(seen)
    assert len(theta) == 300
    # every round-1 parameter inside the proposal's box, none from the wide prior
    assert np.all((theta >= [0.5, -0.6]) & (theta <= [0.9, -0.2]))


def test_training_budget_warning():
    settings = SNLSettings(n_rounds=1, simulations_per_round=100, hidden_features=8,
                           num_transforms=1, max_num_epochs=2, num_chains=4,
                           warmup_steps=5, num_posterior_samples=8)  # fmt: skip
    with pytest.warns(TrainingBudgetWarning, match="max_num_epochs"):
        run_snl(_linear_gaussian, _prior(), X_OBSERVED, settings, seed=0)
