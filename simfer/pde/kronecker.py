"""Linear algebra of Kronecker-product matrices on tensor grids, in JAX.

A product kernel ``k(x, x') = prod_i k_i(x_i, x_i')`` evaluated on a tensor grid
``X = X_1 x ... x X_d`` (n_i points on axis i, N = prod n_i in all) has the
covariance matrix ``K = K_1 (x) ... (x) K_d`` (Saatçi 2012). Stored as its d
factors it costs ``sum n_i^2`` numbers instead of N^2, and every operation a
Gaussian-process solver needs acts one axis at a time:

* ``K v``: apply ``K_i`` along axis i of v, reshaped to the grid
  (``O(N sum n_i)``): :func:`kron_matvec`. The same routine applies products
  of derivative kernel matrices, e.g. ``(d^2 K_1 / dx^2) (x) K_2``, which the
  PDE residual of a collocation solver needs (Fang et al. 2024);
* with ``K_i = Q_i diag(lambda_i) Q_i^T`` (one symmetric eigendecomposition
  per factor, ``O(sum n_i^3)``), ``K + s^2 I = Q (Lambda + s^2 I) Q^T`` with
  ``Q = (x) Q_i`` and ``Lambda`` the outer product of the lambda_i, so that
  solves and log-determinants cost ``O(N sum n_i)``: :class:`KroneckerEigen`.

The full N x N matrix is never formed. Vectors are flattened row-major (C
order) from arrays of the grid's shape (n_1, ..., n_d), matching
``numpy.kron(K_1, K_2, ...)``.

float64 is enabled for JAX on import: the solves meet condition numbers of
1e10 and beyond, where float32 loses every digit.

References
----------
Saatçi, Y. 2012, PhD thesis, University of Cambridge, Ch. 5 (Kronecker
methods for Gaussian processes on grids).
Gilboa, E., Saatçi, Y. & Cunningham, J. P. 2015, IEEE TPAMI 37, 424 (scaling
multidimensional inference for structured Gaussian processes).
Fang, S. et al. 2024, ICLR (arXiv:2311.04465): Kronecker-structured GP
solvers for high-frequency and multi-scale PDEs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp

jax.config.update("jax_enable_x64", True)

__all__ = ["KroneckerEigen", "kron_dense", "kron_matvec"]


def _check_factors(factors: Sequence[jax.Array]) -> tuple[jax.Array, ...]:
    factors = tuple(jnp.asarray(f) for f in factors)
    if not 1 <= len(factors) <= 3:
        raise ValueError(
            f"factors: expected 1 to 3 matrices (grid axes), got {len(factors)}"
        )
    for i, factor in enumerate(factors):
        if factor.ndim != 2:
            raise ValueError(
                f"factor {i} must be a matrix, got shape {tuple(factor.shape)}"
            )
    return factors


def _grid_shape(
    factors: tuple[jax.Array, ...], v: jax.Array, name: str
) -> tuple[int, ...]:
    columns = tuple(int(f.shape[1]) for f in factors)
    size = 1
    for n in columns:
        size *= n
    if v.shape[0] != size:
        raise ValueError(
            f"{name} of length {v.shape[0]} does not match the grid "
            f"{' x '.join(map(str, columns))} = {size} of the factors"
        )
    return columns


def kron_matvec(
    factors: Sequence[jax.Array], v: jax.Array, name: str = "v"
) -> jax.Array:
    """``(A_1 (x) ... (x) A_d) v`` without forming the product.

    Parameters
    ----------
    factors : sequence of arrays, shapes (m_i, n_i)
        One matrix per grid axis (1 to 3), not necessarily square: a
        rectangular factor maps the grid to another (e.g. to test points).
    v : array, shape (prod n_i,) or (prod n_i, k)
        Vector(s) flattened row-major from the grid shape (n_1, ..., n_d).

    Returns
    -------
    array, shape (prod m_i,) or (prod m_i, k)

    Raises
    ------
    ValueError
        Not 1 to 3 matrices, or ``v`` of a length other than prod n_i.
    """
    factors = _check_factors(factors)
    v = jnp.asarray(v)
    if v.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1-d or 2-d, got shape {tuple(v.shape)}")
    shape = _grid_shape(factors, v, name)
    extra = v.shape[1:]
    x = v.reshape(*shape, *extra)
    for axis, factor in enumerate(factors):
        # contract the factor's columns with this axis, then put it back
        x = jnp.moveaxis(jnp.tensordot(factor, x, axes=(1, axis)), 0, axis)
    rows = 1
    for factor in factors:
        rows *= int(factor.shape[0])
    return x.reshape(rows, *extra)


def kron_dense(factors: Sequence[jax.Array]) -> jax.Array:
    """The full Kronecker product, for tests and small grids only."""
    factors = _check_factors(factors)
    out = factors[0]
    for factor in factors[1:]:
        out = jnp.kron(out, factor)
    return out


def _scalar_noise(noise_variance):
    """The noise variance as a scalar >= 0 (checked when concrete)."""
    noise = jnp.asarray(noise_variance)
    if noise.ndim != 0:
        raise ValueError(
            "noise_variance must be a scalar (the same noise at every grid point: "
            "a diagonal noise is not diagonal in the eigenbasis), got shape "
            f"{tuple(noise.shape)}"
        )
    if not isinstance(noise, jax.core.Tracer) and not float(noise) >= 0:
        raise ValueError(f"noise_variance must be >= 0, got {float(noise)}")
    return noise


class KroneckerEigen(NamedTuple):
    """Eigendecomposition of a symmetric Kronecker product, factor by factor.

    Build it with :meth:`of`; a NamedTuple, so a JAX pytree that can be passed
    through ``jit`` and differentiated (``jnp.linalg.eigh`` has a derivative
    for distinct eigenvalues).

    Attributes
    ----------
    values : tuple of arrays, shapes (n_i,)
        Eigenvalues of each factor.
    vectors : tuple of arrays, shapes (n_i, n_i)
        Orthonormal eigenvectors of each factor (columns).
    """

    values: tuple[jax.Array, ...]
    vectors: tuple[jax.Array, ...]

    @classmethod
    def of(cls, factors: Sequence[jax.Array]) -> KroneckerEigen:
        """Decompose symmetric positive semi-definite factors ``K_i``.

        Raises
        ------
        ValueError
            Not 1 to 3 square matrices.
        """
        # float64 whatever the input: the solves meet large condition numbers
        factors = tuple(f.astype(jnp.float64) for f in _check_factors(factors))
        for i, factor in enumerate(factors):
            if factor.shape[0] != factor.shape[1]:
                raise ValueError(
                    f"factor {i} must be square, got shape {tuple(factor.shape)}"
                )
            if not isinstance(factor, jax.core.Tracer):  # checkable values
                asymmetry = float(jnp.max(jnp.abs(factor - factor.T)))
                if asymmetry > 1e-10 * float(jnp.max(jnp.abs(factor))):
                    raise ValueError(
                        f"factor {i} must be symmetric (largest |A - A^T| = "
                        f"{asymmetry:.2g}); eigh would use its lower triangle only"
                    )
        pairs = [jnp.linalg.eigh(factor) for factor in factors]
        return cls(tuple(p[0] for p in pairs), tuple(p[1] for p in pairs))

    def spectrum(self) -> jax.Array:
        """All N eigenvalues of the product, row-major over the grid.

        Negative round-off (a few 1e-16 times the largest eigenvalue of a
        numerically singular factor) is clipped to 0: a product of positive
        semi-definite factors is positive semi-definite.
        """
        out = self.values[0]
        for values in self.values[1:]:
            out = jnp.multiply.outer(out, values)
        return jnp.maximum(out.reshape(-1), 0.0)

    def solve(self, b: jax.Array, noise_variance: float | jax.Array) -> jax.Array:
        """``(K + s^2 I)^-1 b``, ``s^2 = noise_variance`` (> 0 unless K is
        positive definite), for b of shape (N,) or (N, k)."""
        b = jnp.asarray(b)
        shift = self.spectrum() + _scalar_noise(noise_variance)
        if b.ndim == 2:
            shift = shift[:, None]
        rotated = kron_matvec([q.T for q in self.vectors], b, "b")
        return kron_matvec(self.vectors, rotated / shift)

    def logdet(self, noise_variance: float | jax.Array) -> jax.Array:
        """``log det (K + s^2 I)``."""
        return jnp.sum(jnp.log(self.spectrum() + _scalar_noise(noise_variance)))

    def matvec(self, v: jax.Array) -> jax.Array:
        """``K v`` from the decomposition (K = Q Lambda Q^T)."""
        v = jnp.asarray(v)
        spectrum = self.spectrum()
        if v.ndim == 2:
            spectrum = spectrum[:, None]
        rotated = kron_matvec([q.T for q in self.vectors], v)
        return kron_matvec(self.vectors, spectrum * rotated)
