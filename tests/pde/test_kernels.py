"""Spectral-mixture kernels (simfer.pde.kernels): closed form, spectrum, derivatives."""

import jax.numpy as jnp
import numpy as np
import pytest

pytest.importorskip("gpjax")

from simfer.pde.kernels import (
    GaussianMixtureSpectrumKernel,
    StudentTMixtureSpectrumKernel,
    derivative_gram,
)
from simfer.pde.kronecker import KroneckerEigen

MU = np.array([100 / (2 * np.pi), 1.0])  # sin(100 x) and a slow component
SIGMA = np.array([0.5, 0.2])
LOG_W = np.array([0.0, -2.0])


@pytest.fixture
def kernel():
    return GaussianMixtureSpectrumKernel(MU, SIGMA, LOG_W)


def test_kernel_equals_its_closed_form(kernel):
    x = np.linspace(0.0, 1.0, 7)
    tau = x[:, None] - x[None, :]
    expected = sum(
        np.exp(w) * np.exp(-2 * np.pi**2 * s**2 * tau**2) * np.cos(2 * np.pi * m * tau)
        for m, s, w in zip(MU, SIGMA, LOG_W, strict=True)
    )
    gram = kernel.gram(jnp.asarray(x)[:, None]).as_matrix()
    np.testing.assert_allclose(gram, expected, rtol=1e-13, atol=1e-15)
    cross = kernel.cross_covariance(
        jnp.asarray(x)[:, None], jnp.asarray(x[:3])[:, None]
    )
    np.testing.assert_allclose(cross, expected[:, :3], rtol=1e-13, atol=1e-15)


def test_kernel_is_the_fourier_transform_of_its_spectrum(kernel):
    # Bochner: k(tau) = integral S(f) cos(2 pi f tau) df; trapezoid on a grid
    # fine against the narrowest component (sigma 0.2): error ~1e-12
    f = np.linspace(-40.0, 40.0, 400_001)
    density = np.asarray(kernel.spectral_density(f))
    for tau in (0.0, 0.01, 0.3):
        integral = np.trapezoid(density * np.cos(2 * np.pi * f * tau), f)
        assert integral == pytest.approx(float(kernel.of_lag(tau)), abs=1e-9)


def test_derivative_matrices_match_finite_differences(kernel):
    x = jnp.linspace(0.0, 0.1, 5)
    y = jnp.linspace(0.02, 0.12, 4)
    h = 1e-4  # central differences: truncation ~ h^2 k'''' ~ 1e-8 x 1e8 (mu^4)

    def k(a, b):
        return np.asarray(kernel.of_lag(np.subtract.outer(a, b)))

    d_x = (k(x + h, y) - k(x - h, y)) / (2 * h)
    d_xy = (k(x + h, y + h) - k(x + h, y - h) - k(x - h, y + h) + k(x - h, y - h)) / (
        4 * h**2
    )
    d_xx = (k(x + h, y) - 2 * k(x, y) + k(x - h, y)) / h**2
    # relative to the largest entry: 2nd differences of a kernel oscillating at
    # 100 rad per unit carry ~1e-5 relative truncation and rounding error
    for numeric, (a, b) in ((d_x, (1, 0)), (d_xy, (1, 1)), (d_xx, (2, 0))):
        exact = np.asarray(derivative_gram(kernel, x, y, a, b))
        scale = np.max(np.abs(exact))
        np.testing.assert_allclose(numeric / scale, exact / scale, atol=1e-4)
    # for a stationary kernel d/dy = -d/dx: exact identities
    np.testing.assert_allclose(
        derivative_gram(kernel, x, y, 0, 1), -derivative_gram(kernel, x, y, 1, 0),
        rtol=1e-12,
    )  # fmt: skip


def test_second_derivative_variance_is_the_fourth_spectral_moment(kernel):
    # Cov(u''(x), u''(x)) = k''''(0) = (2 pi)^4 E_S[f^4]; for each Gaussian
    # component E[f^4] = mu^4 + 6 mu^2 s^2 + 3 s^4
    x = jnp.array([0.3])
    expected = sum(np.exp(w) * (2 * np.pi) ** 4 * (m**4 + 6 * m**2 * s**2 + 3 * s**4)
                   for m, s, w in zip(MU, SIGMA, LOG_W, strict=True))  # fmt: skip
    value = float(derivative_gram(kernel, x, x, 2, 2)[0, 0])
    assert value == pytest.approx(expected, rel=1e-10)


def test_a_grid_factor_feeds_the_kronecker_solver(kernel):
    x = jnp.linspace(0.0, 1.0, 20)[:, None]
    factor = kernel.gram(x).as_matrix()
    eigen = KroneckerEigen.of([factor, factor])
    assert eigen.spectrum().shape == (400,)
    assert float(jnp.min(eigen.spectrum())) > -1e-10  # positive semi-definite


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((MU, SIGMA[:1], LOG_W), "one value per component"),
        ((-MU, SIGMA, LOG_W), "frequencies must be > 0"),
        ((MU, 0 * SIGMA, LOG_W), "bandwidths must be > 0"),
        ((MU, SIGMA, [np.nan, 0.0]), "log_weights must be finite"),
        (([], [], []), "non-empty"),
    ],
)
def test_bad_parameters_are_named(arguments, message):
    with pytest.raises(ValueError, match=message):
        GaussianMixtureSpectrumKernel(*arguments)


def eqx_tree_at(kernel, lengthscales):
    """The kernel with its lengthscales replaced (a traced value allowed)."""
    import equinox as eqx
    from gpjax.parameters import PositiveReal

    return eqx.tree_at(lambda k: k.lengthscales, kernel, PositiveReal(lengthscales))


def test_bad_derivative_requests_are_named(kernel):
    with pytest.raises(ValueError, match="order_x"):
        derivative_gram(kernel, jnp.zeros(2), jnp.zeros(2), 3, 0)
    with pytest.raises(ValueError, match="1-d"):
        derivative_gram(kernel, jnp.zeros((2, 1)), jnp.zeros(2), 0, 0)
    with pytest.raises(ValueError, match="one input dimension"):
        GaussianMixtureSpectrumKernel(MU, SIGMA, LOG_W, active_dims=[0, 1])
    with pytest.raises(ValueError, match="active_dims"):
        GaussianMixtureSpectrumKernel(MU, SIGMA, LOG_W, active_dims=1)
    with pytest.raises(ValueError, match="order_x"):
        derivative_gram(kernel, jnp.zeros(2), jnp.zeros(2), 1.0, 0)
    with pytest.raises(ValueError, match="log_weights must be <= 600"):
        GaussianMixtureSpectrumKernel(MU, SIGMA, [800.0, 0.0])


# --- Student-t mixture: Matérn-5/2 times cosine -------------------------------

LENGTHS = np.array([0.05, 0.7])


@pytest.fixture
def student():
    return StudentTMixtureSpectrumKernel(MU, LENGTHS, LOG_W)


def _matern52(tau, length):
    a = np.sqrt(5) / length
    r = np.abs(tau)
    return (1 + a * r + a**2 * r**2 / 3) * np.exp(-a * r)


def test_student_kernel_equals_its_closed_form(student):
    x = np.linspace(0.0, 1.0, 9)
    tau = x[:, None] - x[None, :]
    expected = sum(np.exp(w) * _matern52(tau, ell) * np.cos(2 * np.pi * m * tau)
                   for m, ell, w in zip(MU, LENGTHS, LOG_W, strict=True))  # fmt: skip
    gram = student.gram(jnp.asarray(x)[:, None]).as_matrix()
    np.testing.assert_allclose(gram, expected, rtol=1e-13, atol=1e-15)
    assert float(jnp.min(jnp.linalg.eigvalsh(gram))) > -1e-12  # a valid kernel


def test_student_kernel_is_the_fourier_transform_of_its_spectrum(student):
    # the f^-6 tails need a wide grid: beyond |f| = 2000 they hold < 1e-12
    f = np.linspace(-2000.0, 2000.0, 2_000_001)
    density = np.asarray(student.spectral_density(f))
    for tau in (0.0, 0.01, 0.3):
        integral = np.trapezoid(density * np.cos(2 * np.pi * f * tau), f)
        assert integral == pytest.approx(float(student.of_lag(tau)), abs=1e-8)


def test_student_derivatives_are_exact_at_zero_lag(student):
    """k''(0) = -sum w (a^2 / 3 + (2 pi mu)^2), k''''(0) = sum w (a^2 + (2 pi mu)^2)^2
    from the Taylor series of the Matérn-5/2 and the cosine; autodiff through
    |tau| alone would give 0 for the Matérn's part."""
    a2 = 5 / LENGTHS**2
    omega2 = (2 * np.pi * MU) ** 2
    weights = np.exp(LOG_W)
    x = jnp.array([0.4])
    second = float(derivative_gram(student, x, x, 2, 0)[0, 0])
    fourth = float(derivative_gram(student, x, x, 2, 2)[0, 0])
    assert second == pytest.approx(-np.sum(weights * (a2 / 3 + omega2)), rel=1e-12)
    assert fourth == pytest.approx(np.sum(weights * (a2 + omega2) ** 2), rel=1e-12)


def test_student_derivatives_match_finite_differences(student):
    x = jnp.linspace(0.0, 0.1, 5)
    y = jnp.linspace(0.0, 0.1, 5)  # includes lags of exactly 0
    h = 1e-5

    def k(a, b):
        return np.asarray(student.of_lag(np.subtract.outer(a, b)))

    d_x = (k(x + h, y) - k(x - h, y)) / (2 * h)
    d_xx = (k(x + h, y) - 2 * k(x, y) + k(x - h, y)) / h**2
    for numeric, (a, b) in ((d_x, (1, 0)), (d_xx, (2, 0))):
        exact = np.asarray(derivative_gram(student, x, y, a, b))
        scale = np.max(np.abs(exact))
        # central differences: O(h^2 k^(4)) truncation, O(eps / h^2) rounding
        np.testing.assert_allclose(numeric / scale, exact / scale, atol=1e-4)


def test_student_fourth_derivative_at_nonzero_lags(student):
    """d^2/dx^2 d^2/dy^2 k = k^(4)(tau): against second differences of the exact
    second derivative, and Cov(u'', u'') positive semi-definite on a grid."""
    x = jnp.linspace(0.013, 0.4, 6)
    h = 1e-4

    def second(a):  # d^2/dx^2 k(a, x) at the points
        return np.asarray(derivative_gram(student, a, x, 2, 0))

    numeric = (second(x + h) - 2 * second(x) + second(x - h)) / h**2
    exact = np.asarray(derivative_gram(student, x, x, 2, 2))
    scale = np.max(np.abs(exact))
    # the Matern's |tau|^5 term makes k^(4) only Lipschitz at zero lag: second
    # differences there carry O(h) error relative to the scale
    np.testing.assert_allclose(numeric / scale, exact / scale, atol=1e-3)
    grid = jnp.linspace(0.0, 1.0, 20)
    covariance = derivative_gram(student, grid, grid, 2, 2)
    eigenvalues = jnp.linalg.eigvalsh(covariance)
    assert float(eigenvalues.min()) > -1e-9 * float(eigenvalues.max())


def test_lengthscale_derivatives_of_the_fourth_derivative_are_finite(student):
    import jax

    x = jnp.array([0.0, 0.2])

    def total(log_lengths):
        kernel = StudentTMixtureSpectrumKernel(MU, LENGTHS, LOG_W)
        kernel = eqx_tree_at(kernel, jnp.exp(log_lengths))
        return jnp.sum(derivative_gram(kernel, x, x, 2, 2))

    forward = jax.jacfwd(total)(jnp.log(jnp.asarray(LENGTHS)))
    backward = jax.grad(total)(jnp.log(jnp.asarray(LENGTHS)))
    assert np.all(np.isfinite(forward))
    np.testing.assert_allclose(forward, backward, rtol=1e-10)
