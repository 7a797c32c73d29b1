"""One LISA massive black-hole binary analysed two ways: SNL and MCMC.

:class:`MBHBInferenceProblem` holds everything both methods share: the injected
source, the data (its A, E signal plus one Gaussian noise realisation on the
uniform grid ``f_k = k / T``), the inferred parameters (a subset of
``FISHER_PARAMETERS``; the others are fixed at their injected values) and a
uniform prior box over them. It gives

* the **simulator** of neural-likelihood inference: parameters -> score-
  compressed data ``t = L^-1 (d h_0 | h(theta)) + N(0, I)``
  (:mod:`simfer.inference.mbhb_compression`), whose noise is exactly standard
  normal, so that a simulation costs one sparse waveform and response and
  never a noise realisation on the full grid;
* the **log-posterior** of MCMC: the Gaussian likelihood of the same data by
  relative binning (:mod:`simfer.inference.mbhb_likelihood`), plus the flat
  prior;
* counters of the waveform evaluations of each, so that the two costs are
  compared in the same unit: one call of the waveform and response for one
  parameter set.

The compression and the relative-binning summary data are both centred on a
fiducial source. A search would provide it (its best-fit point); here it is the
injection by default. Both methods use the same fiducial, so neither gains
from it.

The prior box is ``theta_injected +- prior_width`` conditional-Fisher sigmas
in each parameter, clipped to the physical range (``0 < q <= 1``,
``|chi| <= 0.99``): the region a search has already localised. It is wide
enough (10 sigma by default) that the likelihood, not the box, bounds the
posterior.

References
----------
Alsing, J., Wandelt, B. & Feeney, S. 2018, MNRAS 477, 2874 (score compression
for likelihood-free inference).
Martín Vílchez, N. & Sopuerta, C. F. 2024, arXiv:2406.00565 (SNL for LISA
massive black-hole binaries).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from astropy.cosmology import Planck18
from numpy.typing import ArrayLike, NDArray

from simfer.inference.mbhb_compression import ScoreCompression, sources_from_parameters
from simfer.inference.mbhb_fisher import FISHER_PARAMETERS, _check_names
from simfer.inference.mbhb_likelihood import RelativeBinningLikelihood
from simfer.inference.mbhb_snr import CHANNELS, mbhb_tdi_signal
from simfer.sims.lisa_tdi_noise import LisaTdiNoise, frequency_grid
from simfer.sims.mbhb_sources import Q_MIN, MBHBSources

__all__ = ["DEFAULT_INFERRED", "PHYSICAL_BOUNDS", "MBHBInferenceProblem"]

#: The parameters inferred by default (the rest fixed at their injected values).
DEFAULT_INFERRED = ("log_chirp_mass", "mass_ratio", "chi1", "chi2", "t_c",
                    "log_distance")  # fmt: skip

#: Largest allowed difference, in noise sigmas, between the compressed noise-free
#: data summed on the data grid and the simulator's sparse integral of them.
_MAX_GRID_MISMATCH = 0.1

#: Hard limits of the parameters whose range is physical.
PHYSICAL_BOUNDS = {
    "mass_ratio": (Q_MIN, 1.0),
    "chi1": (-0.99, 0.99),
    "chi2": (-0.99, 0.99),
    "inclination": (0.0, np.pi),
    "ecliptic_latitude": (-np.pi / 2, np.pi / 2),
}


@dataclass(frozen=True)
class MBHBInferenceProblem:
    """Data, prior, simulator and likelihood of one MBHB analysis.

    Build it with :meth:`build`. Attributes
    ----------
    injection : MBHBSources
        The injected source (one).
    parameter_names : tuple of str
        The inferred parameters, in ``FISHER_PARAMETERS`` order.
    truth : ndarray, shape (d,)
        Their injected values (``log_*`` are ln of kg and m; t_c in s).
    lower, upper : ndarray, shape (d,)
        The uniform prior box.
    fisher_sigma : ndarray, shape (d,)
        1-sigma errors from the Fisher matrix of the inferred parameters alone
        (the others fixed), at the injection.
    frequencies : ndarray, shape (n,)
        The data grid, Hz.
    data : ndarray, complex, shape (3, n)
        A, E, T data (rescaled TDI): signal plus noise.
    x_observed : ndarray, shape (d,)
        The compressed data.
    compression : ScoreCompression
    likelihood : RelativeBinningLikelihood
    """

    injection: MBHBSources
    parameter_names: tuple[str, ...]
    truth: NDArray
    lower: NDArray
    upper: NDArray
    fisher_sigma: NDArray
    frequencies: NDArray
    data: NDArray
    x_observed: NDArray
    compression: ScoreCompression
    likelihood: RelativeBinningLikelihood
    _fixed: dict  # the values of the parameters not inferred
    _simulations: list  # [parameter sets passed to the simulator]

    @classmethod
    def build(
        cls,
        injection: MBHBSources,
        parameters: tuple[str, ...] | list[str] = DEFAULT_INFERRED,
        *,
        rng: np.random.Generator,
        t_obs: float,
        noise: LisaTdiNoise | None = None,
        channels: str = "AE",
        prior_width: float = 10.0,
        n_bins: int = 800,
        waveform_backend: str = "jax",
        cosmology=Planck18,
    ) -> MBHBInferenceProblem:
        """Inject ``injection`` into a noise realisation and set up both methods.

        Parameters
        ----------
        injection : MBHBSources
            One source.
        parameters : sequence of str
            Inferred parameters (names of ``FISHER_PARAMETERS``).
        rng : numpy.random.Generator
            Draws the noise realisation.
        t_obs : float
            Observation time before merger, s; the data span (grid spacing
            1 / t_obs) and the start of every signal.
        noise : LisaTdiNoise, optional
            Noise model (its rescaled form is used; default SciRD).
        channels : {"AE", "AET"}
        prior_width : float
            Half-width of the prior box, in conditional-Fisher sigmas (> 0).
        n_bins : int
            Relative-binning bins (:class:`RelativeBinningLikelihood`).
        waveform_backend : {"jax", "lalsimulation"}
            IMRPhenomD from the JAX port (default; equal to lalsimulation to
            ~1e-7 rad, several times faster) or lalsimulation, for the
            simulator and the likelihood alike.
        cosmology : astropy.cosmology.FLRW

        Raises
        ------
        ValueError
            Not one source, unknown or repeated parameters, a bad option, a
            prior box that does not contain the injection, or a data grid too
            coarse for the simulator to reproduce the compressed data.
        """
        if not isinstance(injection, MBHBSources) or len(injection) != 1:
            raise ValueError("injection must be MBHBSources holding one source")
        if not isinstance(rng, np.random.Generator):
            raise TypeError("rng must be a numpy.random.Generator (seeded)")
        names = _check_names(parameters, "parameters")
        if len(set(names)) != len(names):
            raise ValueError(f"parameters contains duplicates: {list(names)}")
        names = tuple(name for name in FISHER_PARAMETERS if name in names)
        if channels not in CHANNELS:
            raise ValueError(f"channels must be one of {sorted(CHANNELS)}")
        if not (isinstance(prior_width, (int, float)) and 0 < prior_width < np.inf):
            raise ValueError(f"prior_width must be a finite number > 0, got "
                             f"{prior_width!r}")  # fmt: skip
        if not (isinstance(t_obs, (int, float)) and 0 < t_obs < np.inf):
            raise ValueError(f"t_obs must be a finite number of seconds > 0, got "
                             f"{t_obs!r}")  # fmt: skip
        noise = replace(LisaTdiNoise() if noise is None else noise, rescaled=True)
        options = {"t_obs": float(t_obs), "noise": noise,
                   "waveform_backend": waveform_backend}  # fmt: skip

        signal = mbhb_tdi_signal(injection, cosmology=cosmology, **options)
        low, high = (float(edge[0]) for edge in signal.frequency_range)
        frequencies = frequency_grid(t_obs, low, high)
        data = signal.evaluate(frequencies, 0) + noise.noise_realisation(
            frequencies, rng
        )
        compression = ScoreCompression.at(
            injection, names, channels=channels, cosmology=cosmology, **options
        )
        likelihood = RelativeBinningLikelihood.build(
            frequencies, data, injection, channels=channels, n_bins=n_bins,
            cosmology=cosmology, **options,
        )  # fmt: skip
        fiducial = compression.fiducial
        truth = np.array([fiducial[name] for name in names])
        sigma = np.sqrt(np.diag(np.linalg.inv(compression.fisher)))
        lower, upper = truth - prior_width * sigma, truth + prior_width * sigma
        for i, name in enumerate(names):
            if name in PHYSICAL_BOUNDS:
                low_bound, high_bound = PHYSICAL_BOUNDS[name]
                lower[i] = max(lower[i], low_bound)
                upper[i] = min(upper[i], high_bound)
        # an injection on a physical edge (an equal-mass binary) is allowed
        if not np.all((lower <= truth) & (truth <= upper) & (lower < upper)):
            outside = [n for n, lo, t, hi in zip(names, lower, truth, upper,
                                                strict=True)
                       if not (lo <= t <= hi and lo < hi)]  # fmt: skip
            raise ValueError(
                f"the injected {outside} lie outside their physical range "
                f"{[PHYSICAL_BOUNDS[n] for n in outside]}"
            )
        # the simulator integrates the compressed statistics on sparse grids,
        # the data are summed on f_k = k / T: with too few bins (short t_obs)
        # the two disagree and SNL would infer from a biased simulator
        mismatch = (
            compression.compress_data(frequencies, signal.evaluate(frequencies, 0))
            - compression.signal_statistics(signal)[0]
        )
        if np.max(np.abs(mismatch)) > _MAX_GRID_MISMATCH:
            raise ValueError(
                f"the data grid of {len(frequencies)} frequencies (t_obs = "
                f"{t_obs:g} s) is too coarse: the noise-free compressed data on it "
                f"differ from the simulator's by up to "
                f"{np.max(np.abs(mismatch)):.2g} noise sigmas (at most "
                f"{_MAX_GRID_MISMATCH} allowed); observe longer"
            )
        return cls(
            injection=injection,
            parameter_names=names,
            truth=truth,
            lower=lower,
            upper=upper,
            fisher_sigma=sigma,
            frequencies=frequencies,
            data=data,
            x_observed=compression.compress_data(frequencies, data),
            compression=compression,
            likelihood=likelihood,
            _fixed={n: v for n, v in fiducial.items() if n not in names},
            _simulations=[0],
        )

    @property
    def dimension(self) -> int:
        """Number d of inferred parameters."""
        return len(self.parameter_names)

    @property
    def simulator_calls(self) -> int:
        """Parameter sets passed to :meth:`simulate` so far."""
        return self._simulations[0]

    @property
    def likelihood_calls(self) -> int:
        """Parameter sets whose likelihood was computed so far."""
        return self.likelihood.evaluations

    def _theta(self, theta: ArrayLike) -> NDArray:
        theta = np.asarray(theta, dtype=float)
        if theta.ndim != 2 or theta.shape[1] != self.dimension:
            raise ValueError(
                f"theta must have shape (n, {self.dimension}) for the parameters "
                f"{list(self.parameter_names)}, got {theta.shape}"
            )
        return theta

    def in_prior(self, theta: ArrayLike) -> NDArray:
        """Whether each row of ``theta`` (n, d) lies inside the prior box."""
        theta = self._theta(theta)
        return np.all((theta >= self.lower) & (theta <= self.upper), axis=1)

    def sources(self, theta: ArrayLike) -> MBHBSources:
        """Sources at ``theta`` (n, d), the other parameters at the injection."""
        theta = self._theta(theta)
        values = dict(self._fixed)
        values |= {name: theta[:, i] for i, name in enumerate(self.parameter_names)}
        return sources_from_parameters(values, self.compression._cosmology)

    def simulate(self, theta: ArrayLike, rng: np.random.Generator) -> NDArray:
        """Compressed noisy data at each row of ``theta``, shape (n, d).

        Rows whose signal cannot be computed (a source outside the model or the
        band) are NaN; every row counts as a simulator call.
        """
        theta = self._theta(theta)
        self._simulations[0] += len(theta)
        clean = np.full((len(theta), self.compression.dimension), np.nan)
        try:
            clean = self._clean(theta)
        except ValueError:
            for i in range(len(theta)):  # find the impossible ones
                try:
                    clean[i] = self._clean(theta[i : i + 1])[0]
                except ValueError:
                    pass
        return clean + rng.standard_normal(clean.shape)

    def _clean(self, theta):
        compression = self.compression
        return compression.signal_statistics(compression.signal(self.sources(theta)))

    def log_posterior(self, theta: ArrayLike) -> NDArray:
        """Log-likelihood plus the flat prior (``-inf`` outside the box), (n,)."""
        theta = self._theta(theta)
        out = np.full(len(theta), -np.inf)
        inside = self.in_prior(theta)
        if np.any(inside):
            out[inside] = self.likelihood.log_likelihood(self.sources(theta[inside]))
        return out

    def fisher_draws(self, n: int, rng: np.random.Generator) -> NDArray:
        """``n`` draws from the Fisher Gaussian at the truth, inside the prior box.

        Raises
        ------
        ValueError
            The box holds less than 0.1 % of the Gaussian (``prior_width`` far
            below one sigma), where rejection would take hours.
        """
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
            raise ValueError(f"n must be an integer >= 1, got {n!r}")
        covariance = np.linalg.inv(self.compression.fisher)
        draws = np.empty((0, self.dimension))
        batch_size = max(2 * n, 1000)
        while len(draws) < n:
            batch = rng.multivariate_normal(self.truth, covariance, batch_size)
            inside = self.in_prior(batch)
            if len(draws) == 0 and inside.mean() < 1e-3:
                raise ValueError(
                    f"the prior box holds only {inside.mean():.2g} of the Fisher "
                    "Gaussian: widen prior_width"
                )
            draws = np.concatenate([draws, batch[inside]])
        return draws[:n]
