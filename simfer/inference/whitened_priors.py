"""A uniform prior box seen in whitened coordinates, for neural inference.

Neural posterior and likelihood estimators (sbi's) z-score each parameter on
its own and work in float32. Parameters measured to 1e-6 of their value
(LISA's chirp mass) or strongly correlated (mass ratio and spins) then leave a
posterior that is a thin, tilted sliver of the prior box: the flow must resolve
a scale thousands of times smaller than its inputs' spread, and sbi's
coordinate-wise slice sampler crawls along the sliver. Both problems go away in
the coordinates

    u = W (theta - c),

with c a fiducial point and W a whitening matrix, for example the transposed
Cholesky factor of a Fisher matrix F = W^T W at c: near c the likelihood is then
about a unit Gaussian in u, uncorrelated. A uniform prior on a box in theta is
still uniform in u (the map is affine), over a parallelepiped;
:class:`WhitenedBoxUniform` is that distribution, and
:class:`WhitenedBoxTruncatedNormal` a Gaussian in u restricted to the same box,
a proposal that concentrates round-1 simulations where the likelihood is
(Papamakarios, Sterratt & Murray 2019 allow any proposal: SNL learns the
likelihood, whatever the training parameters' distribution).

Both are ``torch.distributions.Distribution`` objects with event shape (d,),
float32 samples, and float64 arithmetic inside, as sbi's priors are.

References
----------
Papamakarios, G., Sterratt, D. C. & Murray, I. 2019, AISTATS, PMLR 89, 837
(arXiv:1805.07226), Sec. 3.
Tegmark, M., Taylor, A. N. & Heavens, A. F. 1997, ApJ 480, 22 (whitening by
the Fisher matrix).
"""

from __future__ import annotations

import numbers
from typing import ClassVar

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
from torch.distributions import Distribution, constraints

__all__ = ["WhitenedBoxTruncatedNormal", "WhitenedBoxUniform"]


def _whitened_values(value: torch.Tensor, d: int) -> NDArray:
    """Points u of shape (..., d) as float64 numpy, or a ValueError."""
    u = torch.as_tensor(value).detach().cpu().double().numpy()
    if u.ndim == 0 or u.shape[-1] != d:
        raise ValueError(f"value must have shape (..., {d}), got {tuple(u.shape)}")
    return u


def _as_output(log_p: NDArray, value: torch.Tensor) -> torch.Tensor:
    """log-densities in the input's floating dtype (float32 for integer input)."""
    dtype = torch.as_tensor(value).dtype
    dtype = dtype if dtype.is_floating_point else torch.float32
    return torch.from_numpy(np.asarray(log_p, dtype=float)).to(dtype)


class WhitenedBoxUniform(Distribution):
    """Uniform prior on the box ``low <= theta <= high``, in ``u = W (theta - c)``.

    Parameters
    ----------
    low, high : array_like, shape (d,)
        The box in the original parameters, ``low < high``.
    centre : array_like, shape (d,)
        The point c mapped to u = 0.
    matrix : array_like, shape (d, d)
        The invertible whitening matrix W.

    Notes
    -----
    The support is declared as all of R^d (sbi then samples u directly, with
    no transform to an unconstrained space); ``log_prob`` is ``-inf`` outside
    the box, which sbi's slice samplers handle by shrinking the slice.
    """

    arg_constraints: ClassVar[dict] = {}
    support = constraints.independent(constraints.real, 1)

    def __init__(
        self, low: ArrayLike, high: ArrayLike, centre: ArrayLike, matrix: ArrayLike
    ):
        low, high, centre = (np.asarray(v, dtype=float) for v in (low, high, centre))
        matrix = np.asarray(matrix, dtype=float)
        d = low.size
        if low.shape != (d,) or high.shape != (d,) or centre.shape != (d,):
            raise ValueError(
                f"low, high and centre must be 1-d of one length, got {low.shape}, "
                f"{high.shape} and {centre.shape}"
            )
        if matrix.shape != (d, d):
            raise ValueError(f"matrix must have shape ({d}, {d}), got {matrix.shape}")
        if not np.all(np.isfinite(np.concatenate([low, high, centre, matrix.ravel()]))):
            raise ValueError("low, high, centre and matrix must be finite")
        if not np.all(low < high):
            raise ValueError("every entry of low must be below high")
        sign, log_det = np.linalg.slogdet(matrix)
        if sign == 0 or not np.isfinite(log_det) or np.linalg.cond(matrix) > 1e12:
            raise ValueError("matrix must be invertible (condition number < 1e12)")
        self.low, self.high, self.centre, self.matrix = low, high, centre, matrix
        self.inverse = np.linalg.inv(matrix)
        # density of u: 1 / (box volume x |det W|)
        self._log_density = float(-np.sum(np.log(high - low)) - log_det)
        super().__init__(event_shape=torch.Size([d]), validate_args=False)

    # -- the coordinate map (numpy, float64) ----------------------------------

    def to_parameters(self, u: ArrayLike) -> NDArray:
        """theta = c + W^-1 u for u of shape (..., d)."""
        return self.centre + np.asarray(u, dtype=float) @ self.inverse.T

    def to_whitened(self, theta: ArrayLike) -> NDArray:
        """u = W (theta - c) for theta of shape (..., d)."""
        return (np.asarray(theta, dtype=float) - self.centre) @ self.matrix.T

    def inside(self, u: ArrayLike) -> NDArray:
        """Whether each u (..., d) maps into the box."""
        theta = self.to_parameters(u)
        return np.all((theta >= self.low) & (theta <= self.high), axis=-1)

    # -- torch.distributions interface ---------------------------------------

    def sample(self, sample_shape: torch.Size | tuple = ()) -> torch.Tensor:
        shape = (*tuple(sample_shape), self.low.size)
        # torch's global generator, as sbi's priors draw (seeded by run_snl)
        r = torch.rand(shape, dtype=torch.float64).numpy()
        theta = self.low + r * (self.high - self.low)
        return torch.from_numpy(self.to_whitened(theta)).float()

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        u = _whitened_values(value, self.low.size)
        out = np.where(self.inside(u), self._log_density, -np.inf)
        return _as_output(out, value)

    @property
    def mean(self) -> torch.Tensor:
        return torch.from_numpy(self.to_whitened((self.low + self.high) / 2)).float()

    @property
    def variance(self) -> torch.Tensor:
        # of the uniform box, mapped: W diag((high - low)^2 / 12) W^T
        covariance = (
            self.matrix @ np.diag((self.high - self.low) ** 2 / 12) @ self.matrix.T
        )
        return torch.from_numpy(np.diag(covariance).copy()).float()


class WhitenedBoxTruncatedNormal(Distribution):
    """N(0, scale^2 I) in u, restricted to the box of a :class:`WhitenedBoxUniform`.

    Drawn by rejection (a draw outside the box is redrawn); ``log_prob`` is
    normalised by the acceptance fraction, estimated once from 1e5 draws.

    Parameters
    ----------
    box : WhitenedBoxUniform
    scale : float
        Standard deviation in u, > 0: a few times the likelihood's width (1 for
        a Fisher whitening) covers a posterior that the Fisher matrix only
        roughly describes.
    """

    arg_constraints: ClassVar[dict] = {}
    support = constraints.independent(constraints.real, 1)

    def __init__(self, box: WhitenedBoxUniform, scale: float):
        if not isinstance(box, WhitenedBoxUniform):
            raise ValueError("box must be a WhitenedBoxUniform")
        if (
            not isinstance(scale, numbers.Real)
            or isinstance(scale, bool)
            or not 1e-3 <= scale < np.inf
        ):
            raise ValueError(
                f"scale must be a finite number >= 1e-3 (in whitened units, where "
                f"the likelihood's width is about 1), got {scale!r}"
            )
        self.box, self.scale = box, float(scale)
        d = box.low.size
        super().__init__(event_shape=torch.Size([d]), validate_args=False)
        generator = torch.Generator().manual_seed(0)  # a fixed normalisation
        trial = torch.randn((100_000, d), generator=generator, dtype=torch.float64)
        trial = self.scale * trial.numpy()
        inside = box.inside(trial)
        accepted = inside.mean()
        if accepted < 1e-3:
            raise ValueError(
                f"the prior box holds only {accepted:.2g} of N(0, {scale}^2 I) in "
                "whitened coordinates: the scale is too large for the box, or the "
                "centre lies at its edge or corner"
            )
        # moments for sbi's standardising transforms (it warns without them)
        self._mean = trial[inside].mean(axis=0)
        self._variance = trial[inside].var(axis=0)
        self._log_norm = float(
            -0.5 * d * np.log(2 * np.pi * self.scale**2) - np.log(accepted)
        )

    def sample(self, sample_shape: torch.Size | tuple = ()) -> torch.Tensor:
        n = int(np.prod(tuple(sample_shape), dtype=int))
        d = self.box.low.size
        kept = np.empty((0, d))
        while len(kept) < n:
            draws = self.scale * torch.randn((2 * max(n, 1), d), dtype=torch.float64)
            draws = draws.numpy()
            kept = np.concatenate([kept, draws[self.box.inside(draws)]])
        return torch.from_numpy(kept[:n].reshape(*tuple(sample_shape), d)).float()

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        u = _whitened_values(value, self.box.low.size)
        log_p = self._log_norm - 0.5 * np.sum(u**2, axis=-1) / self.scale**2
        out = np.where(self.box.inside(u), log_p, -np.inf)
        return _as_output(out, value)

    @property
    def mean(self) -> torch.Tensor:
        return torch.from_numpy(self._mean).float()

    @property
    def variance(self) -> torch.Tensor:
        return torch.from_numpy(self._variance).float()
