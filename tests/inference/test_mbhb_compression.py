"""Score compression of LISA MBHB data (simfer.inference.mbhb_compression)."""

import astropy.units as u
import numpy as np
import pytest

from simfer.inference.mbhb_compression import (
    ScoreCompression,
    sources_from_parameters,
)
from simfer.sims.lisa_tdi_noise import frequency_grid
from simfer.sims.mbhb_sources import MBHBSources

T_OBS = 0.02 * u.yr  # short: a dense data grid of ~1.3e4 bins for the noise tests
PARAMETERS = ["log_chirp_mass", "mass_ratio", "chi1", "chi2", "t_c", "log_distance"]


def _source(**kwargs):
    values = dict(chi1=0.5, chi2=0.3, redshift=1.0, inclination=1.0, phase=0.5,
                  ecliptic_longitude=1.0, ecliptic_latitude=0.3,
                  polarization=0.7)  # fmt: skip
    return MBHBSources.from_total_mass_ratio(1e6 * u.Msun, 0.5, **(values | kwargs))


@pytest.fixture(scope="module")
def compression():
    return ScoreCompression.at(_source(), PARAMETERS, t_obs=T_OBS)


@pytest.fixture(scope="module")
def data_grid(compression):
    signal = compression.signal(_source())
    low, high = (float(r[0]) for r in signal.frequency_range)
    return signal, frequency_grid(T_OBS.to_value(u.s), low, high)


def test_pure_noise_compresses_to_standard_normals(compression, data_grid):
    _, f = data_grid
    noise = compression._signal_options["noise"]
    rng = np.random.default_rng(20240601)
    n = 2000
    realisations = np.stack([noise.noise_realisation(f, rng) for _ in range(n)])
    t = compression.compress_data(f, realisations)
    assert t.shape == (n, len(PARAMETERS))
    # (d_a h_0 | n) ~ N(0, F) on the discrete grid, whitened by L^-1: mean 0 and
    # identity covariance up to sampling error (1/sqrt(n) = 0.022 for the mean,
    # sqrt(2/n) = 0.032 for the variances; 5 sigma bounds) and the grid's
    # discreteness (measured < 1e-3 in F)
    np.testing.assert_allclose(t.mean(axis=0), 0.0, atol=5 / np.sqrt(n))
    np.testing.assert_allclose(np.cov(t.T), np.eye(len(PARAMETERS)), atol=0.16)
    # chi^2 with k degrees of freedom: mean k, standard error sqrt(2k/n)
    chi2 = np.sum(t**2, axis=1)
    assert abs(chi2.mean() - len(PARAMETERS)) < 5 * np.sqrt(2 * len(PARAMETERS) / n)


def test_sparse_signal_statistics_equal_the_data_grid_sum(compression, data_grid):
    signal, f = data_grid
    sparse = compression.signal_statistics(signal)[0]
    dense = compression.compress_data(f, signal.evaluate(f, 0))
    # Filon quadrature on the sparse grids vs the discrete sum over 1.3e4 bins:
    # measured 6e-6 (the discrete sum's own error)
    np.testing.assert_allclose(sparse, dense, rtol=1e-4)


def test_compression_keeps_the_fisher_information(compression):
    # lossless at theta_0 (J = F_0), measured 1e-5 (Filon vs Gauss-Legendre)
    np.testing.assert_allclose(compression.fisher_ratio(_source()), 1.0, atol=1e-4)
    sigma = np.sqrt(np.diag(np.linalg.inv(compression.fisher)))
    for shift, bound in ((1.0, 0.01), (3.0, 0.1)):
        moved = dict(compression.fiducial)
        moved["log_chirp_mass"] += shift * sigma[0]
        moved["chi1"] += shift * sigma[2]
        ratio = compression.fisher_ratio(sources_from_parameters(moved))
        # errors grow away from theta_0: measured at most 0.65 % (1 sigma in
        # chirp mass and spin) and 6 % (3 sigma), on the chirp mass
        assert np.all(ratio > 1 - 1e-4)
        assert np.all(ratio < 1 + bound)


def test_parameters_round_trip_to_sources(compression):
    back = sources_from_parameters(compression.fiducial)
    source = _source()
    # D_L -> z through a spline of the cosmology: measured 1e-12
    for name in ("m1", "m2", "redshift", "chi1", "t_c", "polarization"):
        np.testing.assert_allclose(getattr(back, name), getattr(source, name),
                                   rtol=1e-8, err_msg=name)  # fmt: skip


def test_simulations_are_seeded(compression):
    sources = sources_from_parameters(compression.fiducial)
    a = compression.simulate(sources, np.random.default_rng(5))
    b = compression.simulate(sources, np.random.default_rng(5))
    c = compression.simulate(sources, np.random.default_rng(6))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    with pytest.raises(TypeError, match="Generator"):
        compression.simulate(sources, 5)


def test_bad_inputs():
    two = MBHBSources.from_total_mass_ratio(
        np.array([1e6, 2e6]) * u.Msun, 0.5, chi1=0.1, chi2=0.1, redshift=1.0
    )
    with pytest.raises(ValueError, match="exactly one source"):
        ScoreCompression.at(two, PARAMETERS)
    with pytest.raises(TypeError, match="unknown signal options"):
        ScoreCompression.at(_source(), PARAMETERS, approximation="full")
    # face-on: phase and polarisation are degenerate
    with pytest.raises(ValueError, match="singular"):
        ScoreCompression.at(_source(inclination=0.0), ["phase", "polarization"],
                            t_obs=T_OBS)  # fmt: skip
    with pytest.raises(ValueError, match="missing parameters"):
        sources_from_parameters({"mass_ratio": 0.5})


def test_compress_data_checks_its_input(compression, data_grid):
    signal, f = data_grid
    data = np.array(signal.evaluate(f, 0))
    with pytest.raises(ValueError, match="complex"):
        compression.compress_data(f, data.real)
    with pytest.raises(ValueError, match="uniform"):
        compression.compress_data(np.geomspace(f[0], f[-1], f.size), data)
    data[0, 5] = np.nan
    with pytest.raises(ValueError, match="finite"):
        compression.compress_data(f, data)
    with pytest.raises(ValueError, match="exactly one source"):
        compression.fisher_ratio(sources_from_parameters(
            {k: np.full(2, v) for k, v in compression.fiducial.items()}
        ))  # fmt: skip
