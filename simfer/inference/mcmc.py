"""Reference posteriors by ensemble MCMC (emcee), run until converged.

The affine-invariant ensemble sampler (Goodman & Weare 2010) as implemented by
emcee (Foreman-Mackey et al. 2013) is what practitioners run on gravitational-
wave likelihoods without gradients. :func:`run_ensemble` runs it in blocks
until the chain is long enough by two standard criteria:

* the integrated autocorrelation time tau of every parameter (emcee's
  estimator, Sokal 1997) is stable to ``tau_tolerance`` between blocks and the
  chain is at least ``min_autocorrelation_times`` x tau long, and
* the split potential scale reduction R-hat of every parameter, computed with
  each walker's post-burn-in half-chains as chains (Gelman et al. 2013,
  eq. 11.4), is below ``r_hat_threshold``.

Burn-in is discarded as 2 max(tau) and the samples thinned by max(tau)/2.
Every row passed to the log-probability is counted (its likelihood
evaluations, i.e. simulator calls, of the comparison with neural inference).

References
----------
Goodman, J. & Weare, J. 2010, Comm. App. Math. Comp. Sci. 5, 65.
Foreman-Mackey, D., Hogg, D. W., Lang, D. & Goodman, J. 2013, PASP 125, 306.
Sokal, A. 1997, in Functional Integration, Springer, 131 (autocorrelation).
Gelman, A. et al. 2013, Bayesian Data Analysis, 3rd ed., CRC (split R-hat).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import emcee
import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["EnsembleResult", "run_ensemble", "split_r_hat"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EnsembleResult:
    """Outcome of :func:`run_ensemble`.

    Attributes
    ----------
    samples : ndarray, shape (n, d)
        Post-burn-in, thinned samples of all walkers.
    log_prob : ndarray, shape (n,)
        Their log-probabilities.
    autocorrelation_time : ndarray, shape (d,)
        Integrated autocorrelation time per parameter, in steps.
    r_hat : ndarray, shape (d,)
        Split R-hat per parameter.
    n_steps : int
        Steps run per walker.
    evaluations : int
        Rows passed to the log-probability function.
    converged : bool
        Both criteria met before ``max_steps``.
    acceptance_fraction : float
        Mean acceptance fraction of the walkers.
    """

    samples: NDArray
    log_prob: NDArray
    autocorrelation_time: NDArray
    r_hat: NDArray
    n_steps: int
    evaluations: int
    converged: bool
    acceptance_fraction: float

    @property
    def chain_in_autocorrelation_times(self) -> float:
        """Chain length over the largest autocorrelation time.

        NaN when that time is below one step: an estimate from a few steps can
        come out near zero or negative, and the ratio would mean nothing.
        """
        tau = float(np.max(self.autocorrelation_time))
        return self.n_steps / tau if tau >= 1 else float("nan")


def split_r_hat(chains: ArrayLike) -> NDArray:
    """Split potential scale reduction of chains (n_chains, n_steps, d).

    Each chain is cut in two halves; with W the mean within-chain variance and
    B/n the variance of the chain means, R-hat = sqrt(((n-1)/n W + B/n) / W)
    (Gelman et al. 2013, eqs. 11.2-11.4).
    """
    x = np.asarray(chains, dtype=float)
    if x.ndim != 3 or x.shape[1] < 4:
        raise ValueError("chains must have shape (n_chains, n_steps >= 4, d)")
    half = x.shape[1] // 2
    split = np.concatenate([x[:, :half], x[:, half : 2 * half]], axis=0)
    n = split.shape[1]
    within = split.var(axis=1, ddof=1).mean(axis=0)
    between_over_n = split.mean(axis=1).var(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt(((n - 1) / n * within + between_over_n) / within)


def run_ensemble(
    log_prob: Callable[[NDArray], NDArray],
    initial: ArrayLike,
    *,
    seed: int,
    max_steps: int = 200_000,
    block: int = 1_000,
    min_autocorrelation_times: float = 50.0,
    tau_tolerance: float = 0.01,
    r_hat_threshold: float = 1.01,
) -> EnsembleResult:
    """Run emcee's ensemble sampler until converged (module docstring).

    Parameters
    ----------
    log_prob : callable
        ``log_prob(theta)`` with ``theta`` of shape (n, d) returning (n,)
        log-probabilities (``-inf`` outside the support); called on all walkers
        at once.
    initial : array_like, shape (n_walkers, d)
        Starting positions, e.g. a small ball around the maximum; n_walkers >=
        2 d (emcee's requirement), even.
    seed : int
        Seeds the sampler's random state.
    max_steps : int
        Give up (``converged=False``) after this many steps per walker (>= 4).
    block : int
        Steps between convergence checks (>= 4).
    min_autocorrelation_times : float
        Required chain length in units of the largest tau (>= 50 is usual).
    tau_tolerance : float
        Largest relative change of tau between checks.
    r_hat_threshold : float
        Required split R-hat.

    Returns
    -------
    EnsembleResult

    Raises
    ------
    ValueError
        Bad shapes or settings, or initial positions with non-finite
        log-probability.
    """
    start = np.array(initial, dtype=float)
    if start.ndim != 2 or start.shape[0] < 2 * start.shape[1] or start.shape[0] % 2:
        raise ValueError(
            "initial must have shape (n_walkers, d) with an even n_walkers >= 2 d, "
            f"got {start.shape}"
        )
    for name, value in (("max_steps", max_steps), ("block", block)):
        if (
            not isinstance(value, (int, np.integer))
            or isinstance(value, bool)
            or (value < 4)
        ):
            raise ValueError(f"{name} must be an integer >= 4, got {value!r}")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    for name, value in (("min_autocorrelation_times", min_autocorrelation_times),
                        ("tau_tolerance", tau_tolerance)):  # fmt: skip
        if not isinstance(value, (int, float)) or not (
            math.isfinite(value) and value > 0
        ):
            raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    if not r_hat_threshold > 1:
        raise ValueError("r_hat_threshold must exceed 1")
    counter = [0]

    def counted(theta):
        counter[0] += len(theta)
        values = np.asarray(log_prob(theta), dtype=float)
        if values.shape != (len(theta),):
            raise ValueError(
                f"log_prob must return shape ({len(theta)},) for theta of shape "
                f"{theta.shape}, got {values.shape}"
            )
        if np.any(np.isnan(values)) or np.any(values == np.inf):
            raise ValueError("log_prob returned NaN or +inf (only -inf is allowed)")
        return values

    initial_log_prob = counted(start)
    if not np.all(np.isfinite(initial_log_prob)):
        raise ValueError("every initial position needs a finite log-probability")
    n_walkers, dim = start.shape
    sampler = emcee.EnsembleSampler(n_walkers, dim, counted, vectorize=True)
    sampler.random_state = np.random.RandomState(seed).get_state()
    # a State with its log-probabilities: emcee does not evaluate them again
    state = emcee.State(start, log_prob=initial_log_prob)
    previous_tau, converged = None, False
    while sampler.iteration < max_steps:
        state = sampler.run_mcmc(state, min(block, max_steps - sampler.iteration))
        tau = sampler.get_autocorr_time(tol=0)
        steps = sampler.iteration
        burn = int(2 * np.max(tau))
        r_hat = split_r_hat(np.swapaxes(sampler.get_chain(discard=burn), 0, 1))
        stable = previous_tau is not None and np.all(
            np.abs(tau - previous_tau) < tau_tolerance * tau
        )
        long_enough = steps > min_autocorrelation_times * np.max(tau)
        logger.info("%d steps: tau max %.1f, R-hat max %.4f", steps, np.max(tau),
                    np.max(r_hat))  # fmt: skip
        if stable and long_enough and np.all(r_hat < r_hat_threshold):
            converged = True
            break
        previous_tau = tau
    tau = sampler.get_autocorr_time(tol=0)
    burn, thin = int(2 * np.max(tau)), max(1, int(np.max(tau) / 2))
    r_hat = split_r_hat(np.swapaxes(sampler.get_chain(discard=burn), 0, 1))
    if not converged:
        logger.warning("ensemble MCMC not converged after %d steps", sampler.iteration)
    return EnsembleResult(
        samples=sampler.get_chain(discard=burn, thin=thin, flat=True),
        log_prob=sampler.get_log_prob(discard=burn, thin=thin, flat=True),
        autocorrelation_time=tau,
        r_hat=r_hat,
        n_steps=sampler.iteration,
        evaluations=counter[0],
        converged=converged,
        acceptance_fraction=float(np.mean(sampler.acceptance_fraction)),
    )
