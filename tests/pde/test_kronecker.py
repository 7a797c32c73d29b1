"""Kronecker-product algebra on grids (simfer.pde.kronecker) against dense algebra."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simfer.pde.kronecker import KroneckerEigen, kron_dense, kron_matvec


def _spd_factor(n, length_scale, rng):
    """A squared-exponential kernel matrix on n random points: SPD, ill-conditioned."""
    x = np.sort(rng.uniform(0.0, 1.0, n))
    return jnp.asarray(np.exp(-0.5 * (x[:, None] - x[None, :]) ** 2 / length_scale**2))


GRIDS = [(7,), (5, 6), (3, 4, 5)]


@pytest.fixture(params=GRIDS, ids=lambda g: "x".join(map(str, g)))
def factors(request):
    rng = np.random.default_rng(sum(request.param))
    return [_spd_factor(n, 0.3, rng) for n in request.param]


def test_matvec_equals_the_dense_product(factors):
    rng = np.random.default_rng(1)
    dense = np.asarray(kron_dense(factors))
    v = rng.standard_normal(dense.shape[1])
    block = rng.standard_normal((dense.shape[1], 3))
    # both are sums of a few products of O(1) numbers: rounding only
    np.testing.assert_allclose(kron_matvec(factors, v), dense @ v, atol=1e-12)
    np.testing.assert_allclose(kron_matvec(factors, block), dense @ block, atol=1e-12)


def test_rectangular_factors_map_grids():
    rng = np.random.default_rng(2)
    factors = [jnp.asarray(rng.standard_normal((m, n))) for m, n in [(4, 3), (2, 5)]]
    v = rng.standard_normal(15)
    expected = np.kron(np.asarray(factors[0]), np.asarray(factors[1])) @ v
    np.testing.assert_allclose(kron_matvec(factors, v), expected, atol=1e-12)


@pytest.mark.parametrize("noise", [1e-6, 1e-2])
def test_solve_and_logdet_equal_dense_algebra(factors, noise):
    eigen = KroneckerEigen.of(factors)
    dense = np.asarray(kron_dense(factors)) + noise * np.eye(
        int(np.prod([f.shape[0] for f in factors]))
    )
    rng = np.random.default_rng(3)
    b = rng.standard_normal(dense.shape[0])
    x = eigen.solve(b, noise)
    # relative residual of the solve: the 1e-10 on small grids (the
    # matrix's condition number is up to ~1e6 here, float64 keeps ~1e-16 x that)
    residual = np.linalg.norm(dense @ np.asarray(x) - b) / np.linalg.norm(b)
    assert residual < 1e-10
    sign, expected = np.linalg.slogdet(dense)
    assert sign > 0
    assert float(eigen.logdet(noise)) == pytest.approx(expected, rel=1e-10, abs=1e-10)
    np.testing.assert_allclose(eigen.matvec(b), (dense - noise * np.eye(len(b))) @ b,
                               atol=1e-12)  # fmt: skip


def test_spectrum_is_the_dense_spectrum(factors):
    eigen = KroneckerEigen.of(factors)
    dense = np.linalg.eigvalsh(np.asarray(kron_dense(factors)))
    np.testing.assert_allclose(np.sort(eigen.spectrum()), dense, atol=1e-12)


def test_works_under_jit_and_grad():
    rng = np.random.default_rng(4)
    x = [np.sort(rng.uniform(0, 1, 6)), np.sort(rng.uniform(0, 1, 5))]
    b = jnp.asarray(rng.standard_normal(30))

    def objective(log_length):
        factors = [jnp.exp(-0.5 * (a[:, None] - a[None, :]) ** 2
                           / jnp.exp(2 * log_length)) for a in x]  # fmt: skip
        eigen = KroneckerEigen.of(factors)
        return 0.5 * b @ eigen.solve(b, 1e-2) + 0.5 * eigen.logdet(1e-2)

    value, gradient = jax.jit(jax.value_and_grad(objective))(jnp.log(0.3))
    step = 1e-5  # central difference: error ~ step^2 x third derivative
    numeric = (objective(jnp.log(0.3) + step) - objective(jnp.log(0.3) - step)) / (
        2 * step
    )
    assert np.isfinite(value)
    assert float(gradient) == pytest.approx(float(numeric), rel=1e-6)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="factors: expected 1 to 3"):
        kron_matvec([jnp.eye(2)] * 4, jnp.ones(16))
    with pytest.raises(ValueError, match="v of length 5 does not match the grid 2 x 3"):
        kron_matvec([jnp.eye(2), jnp.eye(3)], jnp.ones(5))
    with pytest.raises(ValueError, match="factor 1 must be a matrix"):
        kron_matvec([jnp.eye(2), jnp.ones(3)], jnp.ones(6))
    with pytest.raises(ValueError, match="square"):
        KroneckerEigen.of([jnp.ones((2, 3))])
    eigen = KroneckerEigen.of([jnp.eye(2) + 0.5, jnp.eye(3) + 0.5])
    with pytest.raises(ValueError, match="noise_variance must be a scalar"):
        eigen.solve(jnp.ones(6), jnp.ones(6))
    with pytest.raises(ValueError, match="noise_variance must be >= 0"):
        eigen.logdet(-1.0)
    with pytest.raises(ValueError, match="b of length 5"):
        eigen.solve(jnp.ones(5), 0.1)
    with pytest.raises(ValueError, match="symmetric"):
        KroneckerEigen.of([jnp.array([[1.0, 0.5], [0.0, 1.0]])])


def test_round_off_below_zero_does_not_make_logdet_nan():
    # a Gaussian kernel on a dense grid: eigenvalues ~ -1e-16 in each factor,
    # products of two negatives and positives ~ 1e-30: clipped, never NaN
    x = jnp.linspace(0.0, 1.0, 25)
    factor = jnp.exp(-0.5 * (x[:, None] - x[None, :]) ** 2 / 0.5**2)
    eigen = KroneckerEigen.of([factor, factor])
    assert float(jnp.min(eigen.spectrum())) >= 0.0
    assert np.isfinite(float(eigen.logdet(1e-12)))
