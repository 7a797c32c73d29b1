"""One MBHB analysis set up for SNL and MCMC (simfer.inference.mbhb_inference)."""

import astropy.units as u
import numpy as np
import pytest

from simfer.inference.mbhb_inference import DEFAULT_INFERRED, MBHBInferenceProblem
from simfer.sims.mbhb_sources import MBHBSources

T_OBS = 0.02 * u.yr.to(u.s)  # short data span: ~1.3e4 frequency bins, fast


def _source(**kwargs):
    values = dict(chi1=0.5, chi2=0.3, redshift=1.0, inclination=1.0, phase=0.5,
                  ecliptic_longitude=1.0, ecliptic_latitude=0.3,
                  polarization=0.7)  # fmt: skip
    q = kwargs.pop("mass_ratio", 0.5)
    return MBHBSources.from_total_mass_ratio(1e6 * u.Msun, q, **(values | kwargs))


@pytest.fixture(scope="module")
def problem():
    return MBHBInferenceProblem.build(
        _source(), DEFAULT_INFERRED, rng=np.random.default_rng(5), t_obs=T_OBS
    )


def test_prior_box_is_centred_on_the_injection(problem):
    assert problem.parameter_names == DEFAULT_INFERRED
    assert problem.dimension == 6
    width = problem.upper - problem.lower
    q = problem.parameter_names.index("mass_ratio")
    others = np.arange(6) != q
    # +-10 Fisher sigmas, except where a physical edge clips the box
    np.testing.assert_allclose(width[others], 20 * problem.fisher_sigma[others])
    assert problem.upper[q] <= 1.0
    assert problem.in_prior(problem.truth[None]).all()


def test_compressed_and_full_likelihoods_agree(problem):
    """Delta ln L from the truth to nearby points: score-compressed Gaussian
    likelihood against the full-data likelihood (relative binning)."""
    rng = np.random.default_rng(0)
    covariance = np.linalg.inv(problem.compression.fisher)
    points = rng.multivariate_normal(problem.truth, covariance, 8)
    points = np.vstack([problem.truth, points])
    full = problem.log_posterior(points)
    clean = problem._clean(points)
    compressed = -0.5 * np.sum((problem.x_observed - clean) ** 2, axis=1)
    # exact for a signal linear in theta; the O(1/SNR) nonlinearity over one
    # sigma (SNR ~ 200 here) leaves differences of a few 0.01 nats
    np.testing.assert_allclose(full - full[0], compressed - compressed[0], atol=0.05)
    assert np.ptp(full) > 1.0  # the points do span the likelihood


def test_simulations_are_counted_seeded_and_noisy(problem):
    theta = problem.fisher_draws(64, np.random.default_rng(1))
    calls = problem.simulator_calls
    a = problem.simulate(theta, np.random.default_rng(2))
    b = problem.simulate(theta, np.random.default_rng(2))
    assert problem.simulator_calls == calls + 128
    np.testing.assert_array_equal(a, b)
    noise = a - problem._clean(theta)
    # the added noise is standard normal: 64 x 6 draws, mean within 4 / sqrt(384)
    assert abs(noise.mean()) < 0.2
    assert noise.std() == pytest.approx(1.0, abs=0.15)  # 4 sigma of a 384-draw std


def test_impossible_parameters_simulate_to_nan_rows(problem):
    theta = np.vstack([problem.truth, problem.truth])
    q = problem.parameter_names.index("mass_ratio")
    theta[1, q] = 1.5  # m2 > m1 cannot be built
    x = problem.simulate(theta, np.random.default_rng(3))
    assert np.isfinite(x[0]).all()
    assert np.isnan(x[1]).all()


def test_log_posterior_is_minus_infinity_outside_the_box(problem):
    theta = np.vstack([problem.truth, problem.upper + problem.fisher_sigma])
    calls = problem.likelihood_calls
    values = problem.log_posterior(theta)
    assert np.isfinite(values[0]) and values[1] == -np.inf
    assert problem.likelihood_calls == calls + 1  # outside costs no waveform


def test_fisher_draws_follow_the_fisher_gaussian(problem):
    draws = problem.fisher_draws(4000, np.random.default_rng(4))
    assert problem.in_prior(draws).all()
    # sample standard deviation of 4000 draws: 3 / sqrt(2 x 4000) = 3.4 % at 3 sigma
    np.testing.assert_allclose(draws.std(axis=0), problem.fisher_sigma, rtol=0.034)


def test_an_equal_mass_injection_sits_on_the_prior_edge():
    problem = MBHBInferenceProblem.build(
        _source(mass_ratio=1.0), ["log_chirp_mass", "mass_ratio"],
        rng=np.random.default_rng(6), t_obs=T_OBS,
    )  # fmt: skip
    assert problem.upper[1] == 1.0 == problem.truth[1]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"parameters": ["log_chirp_mass", "spin"]}, "spin"),
        ({"parameters": ["chi1", "chi1"]}, "duplicates"),
        ({"prior_width": 0.0}, "prior_width"),
        ({"t_obs": -1.0}, "t_obs"),
        ({"channels": "XYZ"}, "channels"),
    ],
)
def test_bad_settings_are_named(kwargs, message):
    arguments = {"parameters": ["log_chirp_mass"], "rng": np.random.default_rng(0),
                 "t_obs": T_OBS} | kwargs  # fmt: skip
    parameters = arguments.pop("parameters")
    with pytest.raises(ValueError, match=message):
        MBHBInferenceProblem.build(_source(), parameters, **arguments)


def test_a_data_grid_too_coarse_for_the_simulator_is_refused():
    # an hour of data: 45 frequencies, whose sum misses the simulator's
    # integral of the compressed statistics by several noise sigmas
    with pytest.raises(ValueError, match="too coarse"):
        MBHBInferenceProblem.build(
            _source(), ["log_chirp_mass", "log_distance"],
            rng=np.random.default_rng(0), t_obs=3600.0,
        )  # fmt: skip


def test_fisher_draws_refuse_a_box_far_smaller_than_the_gaussian():
    tiny = MBHBInferenceProblem.build(
        _source(), DEFAULT_INFERRED, rng=np.random.default_rng(7), t_obs=T_OBS,
        prior_width=0.05,
    )  # fmt: skip
    with pytest.raises(ValueError, match="widen prior_width"):
        tiny.fisher_draws(8, np.random.default_rng(0))
    with pytest.raises(ValueError, match="integer"):
        tiny.fisher_draws(2.5, np.random.default_rng(0))


def test_one_source_and_a_generator_are_required():
    two = MBHBSources.from_total_mass_ratio([1e6, 2e6] * u.Msun, 0.5, chi1=0.1,
                                           chi2=0.1, redshift=1.0)  # fmt: skip
    with pytest.raises(ValueError, match="one source"):
        MBHBInferenceProblem.build(two, rng=np.random.default_rng(0), t_obs=T_OBS)
    with pytest.raises(TypeError, match="Generator"):
        MBHBInferenceProblem.build(_source(), rng=0, t_obs=T_OBS)


def test_theta_of_the_wrong_shape_is_refused(problem):
    with pytest.raises(ValueError, match=r"shape \(n, 6\)"):
        problem.log_posterior(np.zeros(6))
