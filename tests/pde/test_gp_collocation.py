"""GP collocation for linear second-order ODEs (simfer.pde.gp_collocation)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

pytest.importorskip("gpjax")

from simfer.pde.gp_collocation import solve_linear_1d
from simfer.pde.kernels import (
    GaussianMixtureSpectrumKernel,
    StudentTMixtureSpectrumKernel,
)


def _second(function):
    return jax.vmap(jax.grad(jax.grad(function)))


def _relative_l2(solution, exact, low, high):
    test = jnp.linspace(low, high, 997)  # a grid apart from the collocation one
    error = solution(test) - exact(test)
    return float(jnp.linalg.norm(error) / jnp.linalg.norm(exact(test)))


def test_low_frequency_poisson_to_one_in_a_million():
    """u'' = f, u = sin(x) on [0, 2 pi]: the issue's low-frequency check."""
    kernel = GaussianMixtureSpectrumKernel([0.1], [0.3], [0.0])
    points = jnp.linspace(0.0, 2 * np.pi, 80)
    solution = solve_linear_1d(kernel, points, _second(jnp.sin)(points),
                               (0.0, 0.0))  # fmt: skip
    # the issue asks 1e-6 (measured ~4e-9): a smooth problem, a kernel whose
    # spectrum holds the solution's frequency 1 / (2 pi)
    assert _relative_l2(solution, jnp.sin, 0.0, 2 * np.pi) < 1e-6
    assert solution.residual_rms < 1e-5
    # derivatives of the interpolant are the solution's
    np.testing.assert_allclose(solution(points[5:8], derivative=1),
                               jnp.cos(points[5:8]), atol=1e-6)  # fmt: skip


def test_variable_coefficients_and_a_reaction_term():
    """(1 + x) u'' + u' - 4 u = f with u = exp(-x) cos(3 x) on [0, 1]."""

    def exact(x):
        return jnp.exp(-x) * jnp.cos(3 * x)

    points = jnp.linspace(0.0, 1.0, 60)
    first = jax.vmap(jax.grad(exact))(points)
    source = (1 + points) * _second(exact)(points) + first - 4 * exact(points)
    kernel = GaussianMixtureSpectrumKernel([0.5], [0.6], [0.0])
    solution = solve_linear_1d(
        kernel, points, source, (float(exact(0.0)), float(exact(1.0))),
        coefficients=(-4.0, 1.0, 1 + points),
    )  # fmt: skip
    # smooth data and solution: spectral accuracy, far below the 1e-3 the
    # issue asks of its 1-D problems
    assert _relative_l2(solution, exact, 0.0, 1.0) < 1e-6


def test_a_kernel_without_the_solution_s_frequency_fails_honestly():
    """sin(100 x) with a kernel centred far from 100 / (2 pi): large error,
    visible in the residual without the exact solution (what early stopping
    and kernel learning act on)."""

    def exact(x):
        return jnp.sin(100 * x)

    points = jnp.linspace(0.0, 1.0, 200)
    kernel = GaussianMixtureSpectrumKernel([0.5], [0.5], [0.0])
    solution = solve_linear_1d(kernel, points, _second(exact)(points),
                               (0.0, float(exact(1.0))))  # fmt: skip
    assert _relative_l2(solution, exact, 0.0, 1.0) > 0.1
    good = GaussianMixtureSpectrumKernel([100 / (2 * np.pi)], [1.0], [0.0])
    tuned = solve_linear_1d(good, points, _second(exact)(points),
                            (0.0, float(exact(1.0))))  # fmt: skip
    # with the right frequency in the spectrum the same grid reaches < 1e-3
    assert _relative_l2(tuned, exact, 0.0, 1.0) < 1e-3
    assert tuned.residual_rms < solution.residual_rms


def test_student_t_kernel_solves_a_smooth_problem():
    kernel = StudentTMixtureSpectrumKernel([0.1], [1.0], [0.0])
    points = jnp.linspace(0.0, 2 * np.pi, 160)
    solution = solve_linear_1d(kernel, points, _second(jnp.sin)(points), (0.0, 0.0))
    # algebraic convergence of a Matern-5/2 model (measured 5.6e-2 at 160
    # points, 0.32 at 40): the spectral-mixture kernel is the accurate choice
    assert _relative_l2(solution, jnp.sin, 0.0, 2 * np.pi) < 0.1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"points": jnp.array([0.0, 1.0])}, ">= 3"),
        ({"points": jnp.array([0.0, 2.0, 1.0])}, "increasing"),
        ({"source": jnp.ones(4)}, "source must be a scalar or have one value"),
        ({"source": jnp.array([jnp.nan, 0, 0])}, "source must be finite"),
        ({"boundary_values": (0.0,)}, "boundary_values"),
        ({"coefficients": (1.0, 0.0)}, "coefficients"),
        ({"coefficients": (1.0, 0.0, 0.0)}, "c2 is zero"),
        ({"noise_variance": 0.0}, "noise_variance"),
    ],
)
def test_bad_inputs_are_named(kwargs, message):
    arguments = {"points": jnp.linspace(0.0, 1.0, 3), "source": jnp.zeros(3),
                 "boundary_values": (0.0, 0.0)} | kwargs  # fmt: skip
    kernel = GaussianMixtureSpectrumKernel([0.1], [0.3], [0.0])
    with pytest.raises(ValueError, match=message):
        solve_linear_1d(kernel, **arguments)
