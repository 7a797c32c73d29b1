"""Ensemble MCMC until converged (simfer.inference.mcmc)."""

import numpy as np
import pytest

from simfer.inference.mcmc import run_ensemble, split_r_hat

MEAN = np.array([1.0, -2.0, 0.5])
COVARIANCE = np.array([[1.0, 0.8, 0.0], [0.8, 1.0, 0.3], [0.0, 0.3, 0.5]])
PRECISION = np.linalg.inv(COVARIANCE)


def gaussian(theta):
    r = theta - MEAN
    return -0.5 * np.einsum("ni,ij,nj->n", r, PRECISION, r)


def _start(seed, walkers=16):
    return MEAN + 1e-2 * np.random.default_rng(seed).standard_normal((walkers, 3))


def test_correlated_gaussian_is_recovered_and_converged():
    result = run_ensemble(gaussian, _start(0), seed=1, block=500)
    assert result.converged
    assert result.chain_in_autocorrelation_times > 50
    assert np.all(result.r_hat < 1.01)
    n_eff = len(result.samples) / 2  # thinned by tau / 2: about 2 per tau
    # mean within 5 Monte Carlo standard errors, covariance within 15 %
    error = np.abs(result.samples.mean(axis=0) - MEAN)
    assert np.all(error < 5 * np.sqrt(np.diag(COVARIANCE) / n_eff))
    np.testing.assert_allclose(np.cov(result.samples.T), COVARIANCE, atol=0.15)
    # every walker evaluated once per step, plus the initial check
    assert result.evaluations == 16 * (result.n_steps + 1)


def test_seeded_runs_are_identical():
    a = run_ensemble(gaussian, _start(0), seed=3, max_steps=300, block=300)
    b = run_ensemble(gaussian, _start(0), seed=3, max_steps=300, block=300)
    np.testing.assert_array_equal(a.samples, b.samples)
    assert not a.converged  # 300 steps cannot be 50 autocorrelation times


def test_split_r_hat_detects_disagreeing_chains():
    rng = np.random.default_rng(0)
    same = rng.standard_normal((8, 1000, 1))
    shifted = same + np.arange(8)[:, None, None]
    # independent draws of one distribution: R-hat 1 within ~1/sqrt(8000)
    assert abs(split_r_hat(same)[0] - 1) < 0.01
    assert split_r_hat(shifted)[0] > 1.5


def test_bad_inputs():
    with pytest.raises(ValueError, match="n_walkers"):
        run_ensemble(gaussian, _start(0, walkers=4), seed=0)
    with pytest.raises(ValueError, match="finite log-probability"):
        run_ensemble(lambda t: np.full(len(t), -np.inf), _start(0), seed=0)
    with pytest.raises(ValueError, match="block"):
        run_ensemble(gaussian, _start(0), seed=0, block=2)
    with pytest.raises(ValueError, match=r"shape \(16,\)"):
        run_ensemble(lambda t: gaussian(t)[:, None], _start(0), seed=0)

    def spike(theta):  # +inf away from the start: walkers would pile into it
        values = gaussian(theta)
        return np.where(theta[:, 0] > 1.5, np.inf, values)

    with pytest.raises(ValueError, match=r"\+inf"):
        run_ensemble(spike, _start(0), seed=0, block=200, max_steps=2000)
