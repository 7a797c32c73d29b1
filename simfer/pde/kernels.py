"""Spectral-mixture kernels for one input dimension, as gpjax kernels.

A stationary kernel is the Fourier transform of its spectral density
(Bochner's theorem). Modelling the density of one input dimension as a
mixture of Q Gaussians at frequencies ``mu_q`` with widths ``sigma_q``,
symmetrised about zero, gives the spectral-mixture kernel (Wilson & Adams 2013,
eq. 12, in one dimension)

    k(x, y) = sum_q w_q exp(-2 pi^2 sigma_q^2 tau^2) cos(2 pi mu_q tau),
    tau = x - y,

whose spectral density ``S(f) = sum_q w_q / 2 [N(f; mu_q, sigma_q^2) +
N(f; -mu_q, sigma_q^2)]`` puts weight ``w_q`` near frequency ``mu_q``: a
solution such as sin(100 x) is captured by one component at 100 / (2 pi).
The weights are estimated in the log domain (Fang et al. 2024), so the
optimiser can switch components off by many orders of magnitude.

Replacing each Gaussian by a Student-t density gives Matérn components
modulated by cosines (Fang et al. 2024, the "Student-t mixture"):

    k(x, y) = sum_q w_q m_5/2(tau; l_q) cos(2 pi mu_q tau),
    m_5/2(tau; l) = (1 + a r + a^2 r^2 / 3) exp(-a r),  r = |tau|, a = sqrt(5) / l

(Rasmussen & Williams 2006, eq. 4.17), with heavier spectral tails. The
Matérn-5/2 is the smoothest half-integer Matérn whose GP is twice
differentiable, as a second-order PDE needs. Autodiff through ``|tau|`` would
give wrong even derivatives at tau = 0 (the derivative of ``sign`` is 0
there), so the Matérn carries its own derivatives, exact up to fourth order,
as custom JVP rules.

:class:`GaussianMixtureSpectrumKernel` is a gpjax kernel (an equinox module
with gpjax parameter types), usable in ordinary gpjax models and, one per grid
axis, as a factor of the product kernel of :mod:`simfer.pde.kronecker`.
:func:`derivative_gram` gives its derivative matrices (first and second
derivatives in either argument) by JAX automatic differentiation.

References
----------
Wilson, A. G. & Adams, R. P. 2013, ICML, PMLR 28(3), 1067 (spectral mixture
kernels; arXiv:1302.4245).
Rasmussen, C. E. & Williams, C. K. I. 2006, Gaussian Processes for Machine
Learning (MIT Press), Sec. 4.2.1 (Matérn class and its spectral density).
Fang, S. et al. 2024, ICLR (arXiv:2311.04465).
"""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp
from gpjax.kernels import AbstractKernel
from gpjax.parameters import PositiveReal, Real, val

jax.config.update("jax_enable_x64", True)

#: Largest ln w accepted: w times the fourth spectral moment must stay finite.
_MAX_LOG_WEIGHT = 600.0

__all__ = [
    "GaussianMixtureSpectrumKernel",
    "StudentTMixtureSpectrumKernel",
    "derivative_gram",
]


def _component_arrays(**values) -> dict[str, jax.Array]:
    """Checked float64 1-d arrays of equal length, the positive ones > 0."""
    arrays = {}
    for label, value in values.items():
        array = jnp.asarray(value, dtype=jnp.float64)
        if array.ndim != 1 or array.size == 0:
            raise ValueError(f"{label} must be a non-empty 1-d array")
        if not bool(jnp.all(jnp.isfinite(array))):
            raise ValueError(f"{label} must be finite")
        if label != "log_weights" and not bool(jnp.all(array > 0)):
            raise ValueError(f"{label} must be > 0")
        if label == "log_weights" and not bool(jnp.all(array <= _MAX_LOG_WEIGHT)):
            raise ValueError(
                f"log_weights must be <= {_MAX_LOG_WEIGHT} (exp overflows float64 "
                "beyond ~709, and derivatives multiply it further)"
            )
        arrays[label] = array
    sizes = {label: a.size for label, a in arrays.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"one value per component in each array, got {sizes}")
    return arrays


def _one_dimension(active_dims) -> list[int]:
    if active_dims is None:
        return [0]
    if not isinstance(active_dims, (list, tuple)) or not all(
        isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in active_dims
    ):
        raise ValueError(
            f"active_dims must be a list of one column index, got {active_dims!r}"
        )
    active_dims = list(active_dims)
    if len(active_dims) != 1:
        raise ValueError(
            f"the kernel reads one input dimension, got active_dims {active_dims}"
        )
    return active_dims


class _SpectralMixture1D(AbstractKernel):
    """What both mixtures share: k(x, y) = k(x - y) of one input column."""

    log_weights: Real

    @property
    def n_components(self) -> int:
        """Number Q of mixture components."""
        return int(val(self.log_weights).size)

    def of_lag(self, tau: jax.Array) -> jax.Array:
        """k as a function of the lag ``tau = x - y`` (any shape)."""
        raise NotImplementedError

    def __call__(self, x: jax.Array, y: jax.Array) -> jax.Array:
        return self.of_lag(self.slice_input(x) - self.slice_input(y)).squeeze()


class GaussianMixtureSpectrumKernel(_SpectralMixture1D):
    """Spectral-mixture kernel of one input dimension (module docstring).

    Parameters
    ----------
    frequencies : array_like, shape (Q,)
        Component means ``mu_q`` of the spectral density, cycles per unit of
        x (> 0).
    bandwidths : array_like, shape (Q,)
        Component standard deviations ``sigma_q`` (> 0), same unit.
    log_weights : array_like, shape (Q,)
        ``ln w_q``, at most 600.
    active_dims : list of int, optional
        The one input column the kernel reads (default the first).

    Raises
    ------
    ValueError
        Arrays of different lengths or not 1-d, non-positive frequencies or
        bandwidths, non-finite values, or more than one active dimension.
    """

    name: ClassVar[str] = "GaussianMixtureSpectrum"
    frequencies: PositiveReal
    bandwidths: PositiveReal

    def __init__(self, frequencies, bandwidths, log_weights, active_dims=None):
        arrays = _component_arrays(frequencies=frequencies, bandwidths=bandwidths,
                                   log_weights=log_weights)  # fmt: skip
        super().__init__(active_dims=_one_dimension(active_dims), n_dims=1)
        self.frequencies = PositiveReal(arrays["frequencies"])
        self.bandwidths = PositiveReal(arrays["bandwidths"])
        self.log_weights = Real(arrays["log_weights"])

    def of_lag(self, tau: jax.Array) -> jax.Array:
        """k as a function of the lag ``tau = x - y`` (any shape)."""
        tau = jnp.asarray(tau)[..., None]
        mu, sigma = val(self.frequencies), val(self.bandwidths)
        weights = jnp.exp(val(self.log_weights))
        terms = jnp.exp(-2 * jnp.pi**2 * sigma**2 * tau**2) * jnp.cos(
            2 * jnp.pi * mu * tau
        )
        return jnp.sum(weights * terms, axis=-1)

    def spectral_density(self, f: jax.Array) -> jax.Array:
        """S(f), symmetric in f, with ``integral S df = k(0) = sum_q w_q``."""
        f = jnp.asarray(f)[..., None]
        mu, sigma = val(self.frequencies), val(self.bandwidths)
        weights = jnp.exp(val(self.log_weights))
        norm = 1 / (sigma * jnp.sqrt(2 * jnp.pi))
        density = 0.5 * norm * (jnp.exp(-0.5 * ((f - mu) / sigma) ** 2)
                                + jnp.exp(-0.5 * ((f + mu) / sigma) ** 2))  # fmt: skip
        return jnp.sum(weights * density, axis=-1)


# --- the Matérn-5/2 of tau with exact derivatives to fourth order -------------
# With r = |tau| and a = sqrt(5) / l, the n-th derivative in tau is
# P_n(tau, r) exp(-a r) with (differentiating m(r) and using r' = sign(tau)):
#   m0 = 1 + a r + a^2 r^2 / 3          m1 = -(a^2 / 3) tau (1 + a r)
#   m2 = -(a^2 / 3)(1 + a r - a^2 r^2)  m3 = (a^4 / 3) tau (3 - a r)
#   m4 = (a^4 / 3)(3 - 5 a r + a^2 r^2)
# each smooth at tau = 0. A custom JVP chains them, so jax.grad is exact.


def _matern_terms(order, tau, a):
    r = jnp.abs(tau)
    decay = jnp.exp(-a * r)
    if order == 0:
        return (1 + a * r + a**2 * r**2 / 3) * decay
    if order == 1:
        return -(a**2 / 3) * tau * (1 + a * r) * decay
    if order == 2:
        return -(a**2 / 3) * (1 + a * r - a**2 * r**2) * decay
    if order == 3:
        return (a**4 / 3) * tau * (3 - a * r) * decay
    return (a**4 / 3) * (3 - 5 * a * r + a**2 * r**2) * decay


def _matern_derivative(order):
    @jax.custom_jvp
    def derivative(tau, a):
        return _matern_terms(order, tau, a)

    @derivative.defjvp
    def _jvp(primals, tangents):
        tau, a = primals
        tau_dot, a_dot = tangents
        value = derivative(tau, a)
        if order == 4:
            # a fifth derivative does not exist at tau = 0: NaN wherever it is
            # asked for, but nothing when only the lengthscale moves
            along_tau = jnp.where(tau_dot == 0, 0.0, jnp.nan)
        else:
            along_tau = _MATERN[order + 1](tau, a) * tau_dot
        # d/da by ordinary autodiff of the smooth-in-a closed form
        d_a = jax.jvp(lambda a_: _matern_terms(order, tau, a_), (a,), (a_dot,))[1]
        return value, along_tau + d_a

    return derivative


_MATERN = [None] * 5
for _order in range(5):
    _MATERN[_order] = _matern_derivative(_order)


class StudentTMixtureSpectrumKernel(_SpectralMixture1D):
    """Matérn-5/2 components times cosines, one input dimension (module docstring).

    Parameters
    ----------
    frequencies : array_like, shape (Q,)
        Modulation frequencies ``mu_q``, cycles per unit of x (> 0).
    lengthscales : array_like, shape (Q,)
        Matérn lengthscales ``l_q`` (> 0), unit of x.
    log_weights : array_like, shape (Q,)
        ``ln w_q``.
    active_dims : list of int, optional
        The one input column the kernel reads (default the first).

    Notes
    -----
    Derivatives in tau up to fourth order are exact at every lag, including
    0 (enough for Cov(u'', u'')); a fifth is NaN by design. Build kernels
    outside ``jax.jit`` (their checks need concrete values) and pass them into
    jitted functions as arguments (``equinox.filter_jit``).

    Raises
    ------
    ValueError
        As :class:`GaussianMixtureSpectrumKernel`.
    """

    name: ClassVar[str] = "StudentTMixtureSpectrum"
    frequencies: PositiveReal
    lengthscales: PositiveReal

    def __init__(self, frequencies, lengthscales, log_weights, active_dims=None):
        arrays = _component_arrays(frequencies=frequencies, lengthscales=lengthscales,
                                   log_weights=log_weights)  # fmt: skip
        super().__init__(active_dims=_one_dimension(active_dims), n_dims=1)
        self.frequencies = PositiveReal(arrays["frequencies"])
        self.lengthscales = PositiveReal(arrays["lengthscales"])
        self.log_weights = Real(arrays["log_weights"])

    def of_lag(self, tau: jax.Array) -> jax.Array:
        """k as a function of the lag ``tau = x - y`` (any shape)."""
        tau = jnp.asarray(tau)[..., None]
        a = jnp.sqrt(5.0) / val(self.lengthscales)
        mu = val(self.frequencies)
        weights = jnp.exp(val(self.log_weights))
        tau, a = jnp.broadcast_arrays(tau, a)
        terms = _MATERN[0](tau, a) * jnp.cos(2 * jnp.pi * mu * tau)
        return jnp.sum(weights * terms, axis=-1)

    def spectral_density(self, f: jax.Array) -> jax.Array:
        """S(f): each Matérn's Student-t-shaped density shifted to +-mu_q.

        ``S_m(f) = 16 / 3 a^5 / (a^2 + 4 pi^2 f^2)^3`` for the Matérn-5/2
        (Rasmussen & Williams 2006, eq. 4.15 with D = 1, nu = 5/2), normalised
        to ``integral S_m df = 1``.
        """
        f = jnp.asarray(f)[..., None]
        a = jnp.sqrt(5.0) / val(self.lengthscales)
        mu = val(self.frequencies)
        weights = jnp.exp(val(self.log_weights))

        def matern(frequency):
            return 16 / 3 * a**5 / (a**2 + 4 * jnp.pi**2 * frequency**2) ** 3

        density = 0.5 * (matern(f - mu) + matern(f + mu))
        return jnp.sum(weights * density, axis=-1)


def derivative_gram(
    kernel: GaussianMixtureSpectrumKernel | StudentTMixtureSpectrumKernel,
    x: jax.Array,
    y: jax.Array,
    order_x: int,
    order_y: int,
) -> jax.Array:
    """``d^a/dx^a d^b/dy^b k(x_i, y_j)`` for 1-d point sets, by autodiff.

    These are the covariances between derivatives of a GP with kernel k: for
    example ``order_x = order_y = 2`` gives Cov(u''(x_i), u''(y_j)), which
    the PDE residual of a collocation solver needs.

    Parameters
    ----------
    kernel : GaussianMixtureSpectrumKernel or StudentTMixtureSpectrumKernel
    x, y : array, shapes (n,) and (m,)
        Points of the kernel's input dimension.
    order_x, order_y : int
        Derivative orders in the first and second argument, 0 to 2.

    Returns
    -------
    array, shape (n, m)

    Raises
    ------
    ValueError
        An order outside 0-2, or points that are not 1-d.
    """
    for label, order in (("order_x", order_x), ("order_y", order_y)):
        if (
            isinstance(order, bool)
            or not isinstance(order, int)
            or order > 2
            or (order < 0)
        ):
            raise ValueError(f"{label} must be 0, 1 or 2, got {order!r}")
    x, y = jnp.asarray(x, dtype=jnp.float64), jnp.asarray(y, dtype=jnp.float64)
    if x.ndim != 1 or y.ndim != 1:
        raise ValueError(
            f"x and y must be 1-d arrays of points, got {x.shape} and {y.shape}"
        )

    def k(a, b):
        return kernel.of_lag(a - b)

    function = k
    for _ in range(order_x):
        function = jax.grad(function, argnums=0)
    for _ in range(order_y):
        function = jax.grad(function, argnums=1)
    return jax.vmap(jax.vmap(function, in_axes=(None, 0)), in_axes=(0, None))(x, y)
