"""Sequential Neural Likelihood (SNL) on sbi's neural-likelihood trainer.

SNL (Papamakarios, Sterratt & Murray 2019) learns the likelihood ``p(x | theta)``
of a simulator with a conditional normalising flow ``q_phi(x | theta)`` and
samples the posterior ``p(theta | x_o) ∝ q_phi(x_o | theta) p(theta)`` by MCMC.
Round 1 simulates at parameters drawn from the prior; round ``r > 1`` simulates
at parameters drawn from the posterior of round ``r - 1``, so later simulations
land where the posterior has mass. Every round the flow is trained (continuing
from the previous weights) on all simulations so far by maximum likelihood,
which stays unbiased whatever the proposal, because the training target is the
likelihood, not the posterior (Sec. 3 of the paper).

The flow is a masked autoregressive flow (MAF; Papamakarios, Pavlakou & Murray
2017) or a neural spline flow (NSF; Durkan et al. 2019), both built by sbi's
``likelihood_nn`` with theta and x z-scored on the first round's training data;
the posterior is sampled with sbi's slice samplers (Neal 2003).

Simulations whose output has a NaN or an infinite entry are dropped before they
reach sbi, counted per round, and reported by :class:`InvalidSimulationsWarning`:
the flow then learns ``p(x | theta, valid)`` and the posterior ignores the
probability that a simulation at ``theta`` fails, which biases it wherever that
probability depends on ``theta``.

Randomness: sbi draws from torch's global generator (prior samples, network
initialisation, the random permutations of MAF, the train/validation split,
minibatch order, MCMC initialisation) and from numpy's legacy global generator
(the slice samplers). :func:`run_snl` and :func:`sample_posterior` seed both
from ``seed`` inside a context that restores both afterwards, so a call leaves
the caller's random state as it found it; this is not thread-safe. The
simulator receives its own ``numpy.random.Generator``.

References
----------
Papamakarios, G., Sterratt, D. C. & Murray, I. 2019, AISTATS, PMLR 89, 837
(Sequential Neural Likelihood; arXiv:1805.07226).
Papamakarios, G., Pavlakou, T. & Murray, I. 2017, NeurIPS 30 (MAF;
arXiv:1705.07057).
Durkan, C., Bekasov, A., Murray, I. & Papamakarios, G. 2019, NeurIPS 32 (NSF;
arXiv:1906.04032).
Neal, R. M. 2003, Ann. Statist. 31, 705 (slice sampling).
Tejero-Cantero, A. et al. 2020, JOSS 5, 2505 (sbi).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import logging
import os
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import sbi
import torch
from numpy.typing import ArrayLike, NDArray
from sbi.inference import NLE
from sbi.inference.posteriors import MCMCPosterior, MCMCPosteriorParameters
from sbi.neural_nets import likelihood_nn
from sbi.neural_nets.estimators import ConditionalDensityEstimator
from sbi.neural_nets.estimators.nflows_flow import NFlowsFlow
from torch.distributions import Distribution

from simfer import SimferWarning
from simfer.workflow.records import atomic_write

__all__ = [
    "InvalidSimulationsWarning",
    "SNLResult",
    "SNLRound",
    "SNLSettings",
    "TrainingBudgetWarning",
    "load_density_estimator",
    "run_snl",
    "sample_posterior",
    "save_density_estimator",
]

logger = logging.getLogger(__name__)

Simulator = Callable[[NDArray, np.random.Generator], NDArray]

_DENSITY_ESTIMATORS = ("maf", "nsf")
# The numpy slice samplers draw from numpy's global generator, which run_snl seeds;
# the Pyro and PyMC samplers keep their own random state, so seeds would not hold.
_MCMC_METHODS = ("slice_np", "slice_np_vectorized")
_INIT_STRATEGIES = ("resample", "sir", "proposal")
_Z_SCORE = "independent"  # z-score theta and x per dimension (sbi's default)
_FORMAT = "simfer.snl.density_estimator"
_FORMAT_VERSION = 1
_N_DUMMY = 16  # rows of the dummy data that give the network its shapes on loading


#: Fewest training simulations a flow is fitted to (its z-scoring needs spread).
_MIN_TRAINING = 10


class InvalidSimulationsWarning(SimferWarning):
    """Simulations returned NaN or infinite data and were left out of training.

    The flow learns the likelihood of the valid simulations only, so the posterior
    misses the factor P(valid | theta): where the failure rate depends on theta the
    posterior is biased. Restrict the prior to where the simulator works, or make
    the simulator return a finite summary of the failure.
    """


class TrainingBudgetWarning(SimferWarning):
    """Training stopped at ``max_num_epochs`` before the validation loss converged.

    Raise ``max_num_epochs`` (or accept an under-trained flow for a quick look).
    """


def _check_int(name: str, value: Any, minimum: int, maximum: int | None = None):
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise ValueError(f"{name} must be {bound}, got {value}")


def _check_real(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    return float(value)


def _check_choice(name: str, value: Any, choices: tuple[str, ...]):
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")


@dataclass(frozen=True)
class SNLSettings:
    """Settings of a Sequential Neural Likelihood run.

    Attributes
    ----------
    n_rounds : int
        Rounds of simulate-then-train (>= 1; 1 is plain NLE with the prior as the
        only proposal).
    simulations_per_round : int
        Simulator evaluations per round: round 1 at prior draws, later rounds at
        draws from the previous round's posterior (>= 10).
    simulation_batch_size : int or None
        Rows per simulator call; None passes a whole round in one call.
    density_estimator : {"maf", "nsf"}
        Masked autoregressive flow or neural spline flow for q(x | theta).
    hidden_features : int
        Width of the flow's conditioner networks.
    num_transforms : int
        Number of autoregressive (MAF) or coupling (NSF) layers.
    num_bins : int
        Spline bins per dimension (NSF only).
    learning_rate : float
        Adam step size.
    training_batch_size : int
        Minibatch size.
    validation_fraction : float
        Fraction of the simulations held out for early stopping, in (0, 1).
    stop_after_epochs : int
        Stop after this many epochs without a better validation loss.
    max_num_epochs : int
        Upper bound on the epochs per round; reaching it issues a
        :class:`TrainingBudgetWarning`.
    mcmc_method : {"slice_np_vectorized", "slice_np"}
        sbi's numpy slice sampler, with the chains vectorised or in sequence.
    num_chains : int
        Independent MCMC chains.
    thin : int
        Keep every ``thin``-th MCMC step (1-10, sbi's range).
    warmup_steps : int
        MCMC steps discarded per chain (in units of kept steps).
    init_strategy : {"resample", "sir", "proposal"}
        How sbi places the chains' starting points (see ``MCMCPosterior``).
    num_posterior_samples : int
        Posterior samples returned at the end of the run.
    """

    n_rounds: int = 2
    simulations_per_round: int = 1000
    simulation_batch_size: int | None = None
    density_estimator: Literal["maf", "nsf"] = "maf"
    hidden_features: int = 50
    num_transforms: int = 5
    num_bins: int = 10
    learning_rate: float = 5e-4
    training_batch_size: int = 200
    validation_fraction: float = 0.1
    stop_after_epochs: int = 20
    max_num_epochs: int = 1000
    mcmc_method: Literal["slice_np_vectorized", "slice_np"] = "slice_np_vectorized"
    num_chains: int = 20
    thin: int = 1
    warmup_steps: int = 200
    init_strategy: Literal["resample", "sir", "proposal"] = "resample"
    num_posterior_samples: int = 1000

    def __post_init__(self):
        _check_int("n_rounds", self.n_rounds, 1)
        _check_int("simulations_per_round", self.simulations_per_round, 10)
        if self.simulation_batch_size is not None:
            _check_int("simulation_batch_size", self.simulation_batch_size, 1)
        _check_choice("density_estimator", self.density_estimator, _DENSITY_ESTIMATORS)
        _check_int("hidden_features", self.hidden_features, 1)
        _check_int("num_transforms", self.num_transforms, 1)
        _check_int("num_bins", self.num_bins, 1)
        learning_rate = _check_real("learning_rate", self.learning_rate)
        if not (np.isfinite(learning_rate) and learning_rate > 0):
            raise ValueError(
                f"learning_rate must be positive, got {self.learning_rate!r}"
            )
        _check_int("training_batch_size", self.training_batch_size, 1)
        if not 0 < _check_real("validation_fraction", self.validation_fraction) < 1:
            raise ValueError(
                f"validation_fraction must lie in (0, 1), got "
                f"{self.validation_fraction!r}"
            )
        n_validation = self.simulations_per_round - int(
            (1 - self.validation_fraction) * self.simulations_per_round
        )
        if n_validation < 1 or n_validation == self.simulations_per_round:
            raise ValueError(
                "validation_fraction * simulations_per_round must leave at least "
                "one training and one validation simulation, got "
                f"{self.validation_fraction} * {self.simulations_per_round}"
            )
        _check_int("stop_after_epochs", self.stop_after_epochs, 1)
        _check_int("max_num_epochs", self.max_num_epochs, 1)
        _check_choice("mcmc_method", self.mcmc_method, _MCMC_METHODS)
        _check_int("num_chains", self.num_chains, 1)
        _check_int("thin", self.thin, 1, 10)
        _check_int("warmup_steps", self.warmup_steps, 0)
        _check_choice("init_strategy", self.init_strategy, _INIT_STRATEGIES)
        _check_int("num_posterior_samples", self.num_posterior_samples, 1)

    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-serialisable dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SNLSettings:
        """Settings from :meth:`to_dict`'s output; unknown keys raise ValueError."""
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"settings: unknown keys {unknown}")
        return cls(**values)


@dataclass(frozen=True)
class SNLRound:
    """Book-keeping of one SNL round.

    Attributes
    ----------
    index : int
        Round number, from 0 (the prior round).
    simulations_requested : int
        Parameter sets passed to the simulator.
    simulations_kept : int
        Simulations with finite data, appended to the training set.
    simulations_dropped : int
        Simulations with a NaN or infinite entry, never given to sbi.
    simulator_calls : int
        Calls of the simulator in this round.
    proposal_seconds, simulation_seconds, training_seconds : float
        Wall-clock time, s, to draw the round's parameters (prior or MCMC), to
        simulate, and to train.
    epochs_trained : int
        Training epochs this round.
    best_validation_loss : float
        Mean negative log-likelihood of the validation set, nats.
    """

    index: int
    simulations_requested: int
    simulations_kept: int
    simulations_dropped: int
    simulator_calls: int
    proposal_seconds: float
    simulation_seconds: float
    training_seconds: float
    epochs_trained: int
    best_validation_loss: float


@dataclass(frozen=True)
class SNLResult:
    """Outcome of :func:`run_snl`.

    Attributes
    ----------
    samples : ndarray, shape (num_posterior_samples, d)
        Posterior samples given ``x_observed`` (float32, the units of theta).
    density_estimator : sbi ConditionalDensityEstimator
        The trained flow q(x | theta); ``log_prob(x, condition=theta)``.
    posterior : sbi MCMCPosterior
        The final posterior with ``x_observed`` as its default x.
    rounds : tuple of SNLRound
    settings : SNLSettings
    seed : int
    sampling_seconds : float
        Wall-clock time, s, of the final posterior sampling.
    total_seconds : float
        Wall-clock time, s, of the whole run.
    """

    samples: NDArray
    density_estimator: ConditionalDensityEstimator
    posterior: MCMCPosterior
    rounds: tuple[SNLRound, ...]
    settings: SNLSettings
    seed: int
    sampling_seconds: float
    total_seconds: float

    @property
    def simulations_requested(self) -> tuple[int, ...]:
        """Per round, the parameter sets passed to the simulator."""
        return tuple(r.simulations_requested for r in self.rounds)

    @property
    def simulations_kept(self) -> tuple[int, ...]:
        """Per round, the simulations used for training."""
        return tuple(r.simulations_kept for r in self.rounds)

    @property
    def simulations_dropped(self) -> tuple[int, ...]:
        """Per round, the simulations dropped for NaN or infinite data."""
        return tuple(r.simulations_dropped for r in self.rounds)

    @property
    def simulator_calls(self) -> int:
        """Calls of the simulator over the run."""
        return sum(r.simulator_calls for r in self.rounds)

    @property
    def n_simulations(self) -> int:
        """Simulations (rows) over the run, kept or dropped."""
        return sum(self.simulations_requested)


class _NullTracker:
    """sbi training tracker that records nothing.

    sbi's default tracker writes TensorBoard files under ``./sbi-logs``; simfer's
    runner owns the files of a run, and the per-round summary is in SNLRound.
    """

    log_dir = None

    def log_metric(self, name, value, step=None):
        pass

    def log_metrics(self, metrics, step=None):
        pass

    def log_params(self, params):
        pass

    def add_figure(self, name, figure, step=None):
        pass

    def flush(self):
        pass


def _derived_seeds(seed: int) -> tuple[np.random.Generator, int, int]:
    """The simulator's generator, torch's seed and numpy's legacy seed."""
    _check_int("seed", seed, 0)
    simulator_ss, torch_ss, numpy_ss = np.random.SeedSequence(int(seed)).spawn(3)
    return (
        np.random.default_rng(simulator_ss),
        int(torch_ss.generate_state(1, np.uint64)[0]),
        int(numpy_ss.generate_state(1, np.uint32)[0]),
    )


@contextlib.contextmanager
def _seeded_global_state(torch_seed: int, numpy_seed: int) -> Iterator[None]:
    """Seed torch's and numpy's global generators; restore both on exit."""
    # sbi's slice samplers draw from numpy's legacy global generator: no Generator
    # can be passed in, so seed it here and put the caller's state back after
    numpy_state = np.random.get_state()  # noqa: NPY002
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(torch_seed)
        np.random.seed(numpy_seed)  # noqa: NPY002
        try:
            yield
        finally:
            np.random.set_state(numpy_state)  # noqa: NPY002


@contextlib.contextmanager
def _sbi_training_output(round_index: int) -> Iterator[None]:
    """Route sbi's training prints to DEBUG logging and its budget warning to ours.

    sbi prints "Neural network successfully converged ..." to stdout and warns with
    a plain UserWarning when ``max_num_epochs`` is reached; other warnings pass on.
    """
    stdout = io.StringIO()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with contextlib.redirect_stdout(stdout):
                yield
    finally:
        if stdout.getvalue().strip():
            logger.debug("sbi, round %d: %s", round_index, stdout.getvalue().strip())
    for record in caught:
        if str(record.message).startswith("Maximum number of epochs"):
            warnings.warn(
                f"SNL round {round_index}: training reached max_num_epochs before "
                "the validation loss stopped improving",
                TrainingBudgetWarning,
                stacklevel=4,
            )
        else:
            warnings.warn_explicit(
                record.message, record.category, record.filename, record.lineno
            )


def _check_prior(prior: Any, name: str = "prior") -> int:
    if not isinstance(prior, Distribution):
        raise ValueError(
            f"{name} must be a torch.distributions.Distribution (e.g. "
            f"sbi.utils.BoxUniform), got {type(prior).__name__}"
        )
    if len(prior.event_shape) != 1 or len(prior.batch_shape) != 0:
        raise ValueError(
            f"{name} must have event shape (d,) and no batch shape, got event shape "
            f"{tuple(prior.event_shape)} and batch shape {tuple(prior.batch_shape)}; "
            "combine independent 1-d priors with sbi.utils.MultipleIndependent"
        )
    return int(prior.event_shape[0])


def _check_observation(x_observed: ArrayLike) -> torch.Tensor:
    x = np.asarray(x_observed, dtype=np.float64)
    if x.ndim == 2 and x.shape[0] == 1:
        x = x[0]
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"x_observed must have shape (k,), got {x.shape}")
    observed = torch.as_tensor(x, dtype=torch.float32)  # what sbi sees
    if not torch.all(torch.isfinite(observed)):
        raise ValueError("x_observed must be finite in float32 (|x| < 3.4e38)")
    return observed


def _simulate(
    simulator: Simulator,
    theta: torch.Tensor,
    rng: np.random.Generator,
    batch_size: int | None,
    x_dim: int,
) -> tuple[torch.Tensor, int]:
    """Run the simulator on theta (n, d) in batches; return x (n, k) and calls."""
    theta_np = theta.detach().cpu().numpy().astype(np.float64)
    n = theta_np.shape[0]
    step = n if batch_size is None else batch_size
    parts = []
    for start in range(0, n, step):
        batch = theta_np[start : start + step]
        x = np.asarray(simulator(batch.copy(), rng))
        if x.shape != (batch.shape[0], x_dim):
            raise ValueError(
                f"simulator must return an array of shape (n, k) = "
                f"({batch.shape[0]}, {x_dim}) for theta of shape {batch.shape} "
                f"(k = the length of x_observed), got {x.shape}"
            )
        parts.append(x)
    # float32 is what sbi trains on: a finite float64 beyond its range becomes inf
    # here and is dropped with the NaNs
    x = np.concatenate(parts).astype(np.float32)
    return torch.from_numpy(x), len(parts)


def _posterior_parameters(settings: SNLSettings) -> MCMCPosteriorParameters:
    return MCMCPosteriorParameters(
        method=settings.mcmc_method,
        thin=settings.thin,
        warmup_steps=settings.warmup_steps,
        num_chains=settings.num_chains,
        init_strategy=settings.init_strategy,
    )


def _builder(settings: SNLSettings) -> Callable:
    """sbi's builder of the flow: called on (theta, x) it returns the network."""
    return likelihood_nn(
        model=settings.density_estimator,
        z_score_theta=_Z_SCORE,
        z_score_x=_Z_SCORE,
        hidden_features=settings.hidden_features,
        num_transforms=settings.num_transforms,
        num_bins=settings.num_bins,
    )


def _new_trainer(prior: Distribution, settings: SNLSettings) -> NLE:
    return NLE(
        prior=prior,
        density_estimator=_builder(settings),
        tracker=_NullTracker(),
        show_progress_bars=False,
    )


def _sample(posterior: MCMCPosterior, n: int) -> torch.Tensor:
    return posterior.sample((n,), show_progress_bars=False)


def run_snl(
    simulator: Simulator,
    prior: Distribution,
    x_observed: ArrayLike,
    settings: SNLSettings,
    seed: int,
    initial_proposal: Distribution | None = None,
) -> SNLResult:
    """Posterior of ``theta`` given ``x_observed`` by Sequential Neural Likelihood.

    Parameters
    ----------
    simulator : callable
        ``simulator(theta, rng) -> x``: ``theta`` a float64 array of shape (n, d)
        in the prior's units, ``rng`` a ``numpy.random.Generator`` (the only
        randomness the simulator should use), ``x`` an array of shape (n, k).
        Rows of ``x`` with a NaN or an infinite entry are dropped (module
        docstring).
    prior : torch.distributions.Distribution
        Prior of theta with event shape (d,), e.g. ``sbi.utils.BoxUniform`` or
        ``torch.distributions.MultivariateNormal`` (float32); it proposes round 1
        and bounds the MCMC.
    x_observed : array_like, shape (k,)
        The observed data, in the simulator's units.
    settings : SNLSettings
    seed : int
        Non-negative seed of the simulator's generator and of the torch and numpy
        global generators that sbi uses (restored on return).
    initial_proposal : torch.distributions.Distribution, optional
        Draws round 1's parameters instead of the prior (same event shape),
        e.g. a Gaussian about a search's best fit. SNL learns the likelihood,
        so any proposal leaves it unbiased, but the flow is accurate only where
        it has simulations: the proposal must cover the posterior. Later rounds
        draw from the previous round's posterior, as usual.

    Returns
    -------
    SNLResult

    Raises
    ------
    ValueError
        A bad prior, observation, seed or simulator output shape, or a round in
        which every simulation is invalid.

    Warns
    -----
    InvalidSimulationsWarning
        Some simulations returned NaN or infinite data and were dropped.
    TrainingBudgetWarning
        A round's training stopped at ``settings.max_num_epochs``.

    References
    ----------
    Papamakarios, Sterratt & Murray 2019 (arXiv:1805.07226), Algorithm 2.
    """
    if not isinstance(settings, SNLSettings):
        raise ValueError(f"settings must be SNLSettings, got {type(settings).__name__}")
    theta_dim = _check_prior(prior)
    if (
        initial_proposal is not None
        and _check_prior(initial_proposal, "initial_proposal") != theta_dim
    ):
        raise ValueError(
            f"initial_proposal has event shape {tuple(initial_proposal.event_shape)}, "
            f"the prior ({theta_dim},)"
        )
    x_o = _check_observation(x_observed)
    simulator_rng, torch_seed, numpy_seed = _derived_seeds(seed)
    start = time.perf_counter()

    rounds = []
    total_kept = 0
    with _seeded_global_state(torch_seed, numpy_seed):
        trainer = _new_trainer(prior, settings)
        posterior = None
        for index in range(settings.n_rounds):
            n = settings.simulations_per_round
            t0 = time.perf_counter()
            if posterior is not None:
                theta = _sample(posterior, n)
            else:
                first = prior if initial_proposal is None else initial_proposal
                theta = first.sample((n,)).float()  # sbi trains in float32
            t1 = time.perf_counter()
            x, calls = _simulate(
                simulator, theta, simulator_rng, settings.simulation_batch_size,
                x_o.numel(),
            )  # fmt: skip
            t2 = time.perf_counter()

            valid = torch.isfinite(x).all(dim=1)
            n_kept = int(valid.sum())
            total_kept += n_kept
            # sbi trains on every round so far and needs a training and a
            # validation simulation at least
            n_train = int((1 - settings.validation_fraction) * total_kept)
            if n_train < _MIN_TRAINING or n_train == total_kept:
                raise ValueError(
                    f"SNL round {index}: {n_kept} of {n} simulations returned "
                    f"finite data ({total_kept} over all rounds), too few to train "
                    f"on: at least {_MIN_TRAINING} training and one validation "
                    "simulation are needed"
                )
            if n_kept > 1:
                spread = x[valid].std(dim=0)
                if torch.any(spread == 0):
                    # a flow cannot model a point mass: the likelihood, and
                    # sbi's slice sampler on it, would degenerate (hang)
                    raise ValueError(
                        "simulator output columns "
                        f"{torch.nonzero(spread == 0).flatten().tolist()} do not "
                        f"vary in round {index}; drop them from the data"
                    )
            if n_kept < n:
                warnings.warn(
                    f"SNL round {index}: dropped {n - n_kept} of {n} simulations "
                    "with NaN or infinite data; the posterior ignores the "
                    "probability of a failed simulation",
                    InvalidSimulationsWarning,
                    stacklevel=2,
                )
            trainer.append_simulations(theta[valid], x[valid], from_round=index)

            with _sbi_training_output(index):
                estimator = trainer.train(
                    training_batch_size=settings.training_batch_size,
                    learning_rate=settings.learning_rate,
                    validation_fraction=settings.validation_fraction,
                    stop_after_epochs=settings.stop_after_epochs,
                    max_num_epochs=settings.max_num_epochs,
                )
            t3 = time.perf_counter()

            posterior = trainer.build_posterior(
                posterior_parameters=_posterior_parameters(settings)
            )
            posterior.set_default_x(x_o)
            summary = trainer.summary
            rounds.append(
                SNLRound(
                    index=index, simulations_requested=n, simulations_kept=n_kept,
                    simulations_dropped=n - n_kept, simulator_calls=calls,
                    proposal_seconds=t1 - t0, simulation_seconds=t2 - t1,
                    training_seconds=t3 - t2,
                    epochs_trained=int(summary["epochs_trained"][-1]),
                    best_validation_loss=float(summary["best_validation_loss"][-1]),
                )
            )  # fmt: skip
            logger.info(
                "SNL round %d/%d: %d simulations (%d dropped), %d epochs, "
                "validation loss %.3f",
                index + 1, settings.n_rounds, n, n - n_kept,
                rounds[-1].epochs_trained, rounds[-1].best_validation_loss,
            )  # fmt: skip

        t4 = time.perf_counter()
        samples = _sample(posterior, settings.num_posterior_samples)
        t5 = time.perf_counter()

    logger.info(
        "SNL: %d posterior samples, %d simulations in %d calls, %.1f s",
        settings.num_posterior_samples, sum(r.simulations_requested for r in rounds),
        sum(r.simulator_calls for r in rounds), t5 - start,
    )  # fmt: skip
    return SNLResult(
        samples=samples.detach().cpu().numpy(),
        density_estimator=estimator,
        posterior=posterior,
        rounds=tuple(rounds),
        settings=settings,
        seed=int(seed),
        sampling_seconds=t5 - t4,
        total_seconds=t5 - start,
    )


def sample_posterior(
    density_estimator: ConditionalDensityEstimator,
    prior: Distribution,
    x_observed: ArrayLike,
    settings: SNLSettings,
    seed: int,
    num_samples: int | None = None,
) -> NDArray:
    """Posterior samples from a trained (e.g. loaded) likelihood flow.

    Parameters
    ----------
    density_estimator : sbi ConditionalDensityEstimator
        q(x | theta), e.g. from :func:`load_density_estimator`.
    prior : torch.distributions.Distribution
        Prior of theta, event shape (d,).
    x_observed : array_like, shape (k,)
    settings : SNLSettings
        Its MCMC fields set the sampler.
    seed : int
        Seed of the torch and numpy global generators sbi uses (restored after).
    num_samples : int, optional
        Default ``settings.num_posterior_samples``.

    Returns
    -------
    ndarray, shape (num_samples, d)
    """
    theta_dim = _check_prior(prior)
    if tuple(density_estimator.condition_shape) != (theta_dim,):
        raise ValueError(
            f"density_estimator is conditioned on theta of shape "
            f"{tuple(density_estimator.condition_shape)}, the prior has ({theta_dim},)"
        )
    x_o = _check_observation(x_observed)
    if tuple(density_estimator.input_shape) != tuple(x_o.shape):
        raise ValueError(
            f"x_observed has shape {tuple(x_o.shape)}, the density_estimator models "
            f"x of shape {tuple(density_estimator.input_shape)}"
        )
    n = settings.num_posterior_samples if num_samples is None else num_samples
    _check_int("num_samples", n, 1)
    _, torch_seed, numpy_seed = _derived_seeds(seed)
    with _seeded_global_state(torch_seed, numpy_seed):
        posterior = _new_trainer(prior, settings).build_posterior(
            density_estimator, posterior_parameters=_posterior_parameters(settings)
        )
        posterior.set_default_x(x_o)
        samples = _sample(posterior, n)
    return samples.detach().cpu().numpy()


def _file_pair(path: str | os.PathLike) -> tuple[Path, Path]:
    stem = Path(path)
    return stem.with_name(stem.name + ".pt"), stem.with_name(stem.name + ".json")


def _build_flow(settings: SNLSettings, theta_dim: int, x_dim: int) -> NFlowsFlow:
    """An untrained flow of the given settings and shapes.

    sbi builders take shapes and z-scoring statistics from a batch of data; the
    statistics are buffers of the state dict, so dummy data serve. The builder
    draws MAF's random permutations from torch's global generator (also buffers);
    forking it leaves the caller's state alone.
    """
    generator = torch.Generator().manual_seed(0)
    theta = torch.randn(_N_DUMMY, theta_dim, generator=generator)
    x = torch.randn(_N_DUMMY, x_dim, generator=generator)
    with torch.random.fork_rng(devices=[]):
        return _builder(settings)(theta, x)


def _shapes(estimator: ConditionalDensityEstimator) -> tuple[int, int]:
    if not isinstance(estimator, NFlowsFlow):
        raise NotImplementedError(
            "save_density_estimator handles sbi's nflows flows (maf, nsf), got "
            f"{type(estimator).__name__}"
        )
    if len(estimator.condition_shape) != 1 or len(estimator.input_shape) != 1:
        raise NotImplementedError(
            "save_density_estimator handles theta and x of shapes (d,) and (k,), "
            f"got {tuple(estimator.condition_shape)} and {tuple(estimator.input_shape)}"
        )
    return int(estimator.condition_shape[0]), int(estimator.input_shape[0])


def save_density_estimator(
    path: str | os.PathLike,
    result_or_estimator: SNLResult | ConditionalDensityEstimator,
    settings: SNLSettings | None = None,
) -> tuple[Path, Path]:
    """Save a likelihood flow as its state dict plus a JSON config.

    Writes ``<path>.pt`` (``torch.save`` of the state dict: weights, and the
    z-scoring statistics of theta and x and MAF's permutations, which are buffers)
    and ``<path>.json`` (settings, theta and x dimensions, versions, the weights'
    SHA-256). Each file is written to a temporary file in its directory and moved
    into place with ``os.replace``, the weights first.

    Parameters
    ----------
    path : str or path-like
        Stem of the two files; its directory must exist.
    result_or_estimator : SNLResult or sbi ConditionalDensityEstimator
    settings : SNLSettings, optional
        Required with a bare estimator; with a result, its settings are used.

    Returns
    -------
    (weights_path, config_path) : tuple of Path

    Raises
    ------
    ValueError
        No settings, or settings that do not describe the estimator's network.
    """
    if isinstance(result_or_estimator, SNLResult):
        if settings is not None and settings != result_or_estimator.settings:
            raise ValueError("settings differ from the settings of the SNLResult")
        settings = result_or_estimator.settings
        estimator = result_or_estimator.density_estimator
    else:
        estimator = result_or_estimator
    if not isinstance(settings, SNLSettings):
        raise ValueError("settings: SNLSettings needed to save a bare estimator")
    theta_dim, x_dim = _shapes(estimator)

    state = {k: v.detach().cpu().clone() for k, v in estimator.state_dict().items()}
    skeleton = _build_flow(settings, theta_dim, x_dim).state_dict()
    if {k: v.shape for k, v in skeleton.items()} != {
        k: v.shape for k, v in state.items()
    }:
        raise ValueError(
            "settings (density_estimator, hidden_features, num_transforms, "
            "num_bins) do not describe the estimator's network"
        )

    weights_path, config_path = _file_pair(path)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    weights = buffer.getvalue()
    config = {
        "format": _FORMAT,
        "format_version": _FORMAT_VERSION,
        "builder": "sbi.neural_nets.likelihood_nn",
        "z_score_theta": _Z_SCORE,
        "z_score_x": _Z_SCORE,
        "theta_dim": theta_dim,
        "x_dim": x_dim,
        "settings": settings.to_dict(),
        "weights_file": weights_path.name,
        "weights_sha256": hashlib.sha256(weights).hexdigest(),
        "sbi_version": sbi.__version__,
        "torch_version": torch.__version__,
    }
    with atomic_write(weights_path, "wb") as handle:
        handle.write(weights)
    with atomic_write(config_path) as handle:
        handle.write(json.dumps(config, indent=2) + "\n")
    logger.info("saved density estimator to %s and %s", weights_path, config_path)
    return weights_path, config_path


def load_density_estimator(
    path: str | os.PathLike,
) -> tuple[ConditionalDensityEstimator, SNLSettings]:
    """Rebuild a flow saved by :func:`save_density_estimator`.

    The network is re-created by sbi's ``likelihood_nn`` from the JSON config and
    given the saved state dict (read with ``torch.load(weights_only=True)``, no
    pickled objects); its log-probabilities equal the saved network's.

    Parameters
    ----------
    path : str or path-like
        The stem given to :func:`save_density_estimator`.

    Returns
    -------
    estimator : sbi ConditionalDensityEstimator
        In eval mode; sample a posterior from it with :func:`sample_posterior`.
    settings : SNLSettings

    Raises
    ------
    ValueError
        Not a simfer SNL config, or weights whose SHA-256 differs from the
        config's (the two files are not a pair).
    """
    weights_path, config_path = _file_pair(path)
    config = json.loads(config_path.read_text())
    if config.get("format") != _FORMAT or config.get("format_version") != (
        _FORMAT_VERSION
    ):
        raise ValueError(
            f"{config_path} is not a {_FORMAT} config of version {_FORMAT_VERSION}"
        )
    weights = weights_path.read_bytes()
    if hashlib.sha256(weights).hexdigest() != config["weights_sha256"]:
        raise ValueError(
            f"{weights_path} does not match {config_path} (SHA-256 differs)"
        )
    settings = SNLSettings.from_dict(config["settings"])
    state = torch.load(io.BytesIO(weights), weights_only=True)
    estimator = _build_flow(settings, int(config["theta_dim"]), int(config["x_dim"]))
    estimator.load_state_dict(state, strict=True)
    estimator.eval()
    return estimator, settings
