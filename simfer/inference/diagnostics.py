"""Posterior diagnostics: two-sample tests, marginal comparisons and calibration.

Generic checks of posterior samples, whatever produced them (MCMC, neural
posterior or likelihood estimation, Fisher forecasts drawn as Gaussians):

* :func:`c2st`, the classifier two-sample test (Lopez-Paz & Oquab 2017) between
  two sample sets of one posterior, e.g. neural inference against a reference
  MCMC: the cross-validated accuracy of a classifier telling them apart, 0.5 when
  they are indistinguishable and 1 when disjoint;
* :func:`compare_marginals`, per-parameter medians and widths against a
  reference posterior;
* :func:`tarp_coverage`, the expected coverage probability of a posterior
  estimator over many injections, by Tests of Accuracy with Random Points
  (TARP; Lemos et al. 2023), a necessary and sufficient check of calibration in
  all parameters jointly;
* :func:`rank_statistics`, :func:`rank_histogram` and
  :func:`sbc_uniformity_pvalues`, simulation-based calibration (SBC; Talts et
  al. 2018), the per-parameter check: the rank of the true value among its
  posterior samples is uniform when the posterior is calibrated.

The calibration checks need injections drawn from the prior that the posterior
uses, and independent posterior samples (thin MCMC chains by their
autocorrelation time first): correlated samples make ranks and TARP credibility
levels pile up at the ends even for a correct posterior (Talts et al. 2018,
Sec. 5).

Only :func:`c2st` needs the ``sbi`` extra (it uses sbi's implementation, which
brings torch and scikit-learn); it is imported when called.

References
----------
Lopez-Paz, D. & Oquab, M. 2017, ICLR (Revisiting classifier two-sample tests;
arXiv:1610.06545).
Lueckmann, J.-M. et al. 2021, AISTATS, PMLR 130, 343 (C2ST as the benchmark
metric of simulation-based inference; arXiv:2101.04653).
Lemos, P., Coogan, A., Hezaveh, Y. & Perreault-Levasseur, L. 2023, ICML, PMLR
202, 19256 (TARP; arXiv:2302.03026).
Talts, S., Betancourt, M., Simpson, D., Vehtari, A. & Gelman, A. 2018,
arXiv:1804.06788 (simulation-based calibration).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from astropy.table import Table
from numpy.typing import ArrayLike, NDArray
from scipy import stats

__all__ = [
    "TARPResult",
    "c2st",
    "compare_marginals",
    "rank_histogram",
    "rank_statistics",
    "sbc_uniformity_pvalues",
    "tarp_coverage",
]

# Probability inside +-1 sigma of a Gaussian, erf(1 / sqrt(2)) = 0.6827
_ONE_SIGMA = math.erf(1 / math.sqrt(2))
_MIN_EXPECTED_PER_BIN = 5  # the chi-square approximation needs >= 5 per bin


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _finite_array(name: str, value: ArrayLike, ndim: int, shape: str) -> NDArray:
    """``value`` as a float array of ``ndim`` dimensions with finite entries."""
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be a numeric array {shape}") from error
    if array.ndim != ndim or 0 in array.shape:
        raise ValueError(
            f"{name} must have shape {shape} with no empty axis, got {array.shape}"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} has NaN or infinite entries")
    return array


def c2st(
    samples_a: ArrayLike,
    samples_b: ArrayLike,
    *,
    seed: int,
    n_folds: int = 5,
    max_samples: int | None = None,
    classifier: Literal["mlp", "rf"] = "mlp",
) -> float:
    """Classifier two-sample test accuracy between two sample sets.

    A classifier is trained to tell the sets apart, with ``n_folds``-fold
    cross-validation, and its mean held-out accuracy returned (Lopez-Paz & Oquab
    2017): about 0.5 when the sets come from one distribution, 1 when their
    supports are disjoint. Both sets are subsampled to the same size n (the
    smaller set's, at most ``max_samples``), so that chance is 0.5, and z-scored
    with the mean and standard deviation of ``samples_a``. The test itself is
    sbi's ``sbi.utils.metrics.c2st``.

    For two draws of one distribution the accuracy scatters about 0.5 with a
    standard deviation of about sqrt(0.25 / (2 n)) (0.011 at n = 1000); a
    flexible classifier can also overfit a little below 0.5. In one dimension
    sbi's default MLP (10 hidden units) sometimes stops early before it has
    learned anything and reports 0.5 for clearly different sets; use
    ``classifier="rf"`` there.

    Parameters
    ----------
    samples_a, samples_b : array_like, shape (n_a, d) and (n_b, d)
        Samples of the two distributions, in the same parameters and units.
    seed : int
        Seeds the subsampling, the classifier's initialisation and the
        cross-validation folds (>= 0).
    n_folds : int
        Folds of the cross-validation (>= 2).
    max_samples : int, optional
        Largest number of samples used from each set (>= 2 ``n_folds``);
        None uses the smaller set whole.
    classifier : {"mlp", "rf"}
        scikit-learn's multi-layer perceptron with two hidden layers of 10 d
        units and early stopping (sbi's settings, those of the sbi benchmark of
        Lueckmann et al. 2021), or a random forest.

    Returns
    -------
    float
        Mean held-out classification accuracy, in [0, 1].

    Raises
    ------
    ValueError
        Sample sets that are not 2-d, differ in d, have non-finite entries or
        fewer than 2 ``n_folds`` rows; bad ``seed``, ``n_folds``,
        ``max_samples`` or ``classifier``.

    References
    ----------
    Lopez-Paz, D. & Oquab, M. 2017, ICLR (arXiv:1610.06545).
    Lueckmann, J.-M. et al. 2021, AISTATS, PMLR 130, 343 (arXiv:2101.04653).
    """
    a = _finite_array("samples_a", samples_a, 2, "(n_a, d)")
    b = _finite_array("samples_b", samples_b, 2, "(n_b, d)")
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"samples_b has {b.shape[1]} parameters per sample, samples_a has "
            f"{a.shape[1]}"
        )
    seed = _check_int("seed", seed, 0)
    n_folds = _check_int("n_folds", n_folds, 2)
    if max_samples is not None:
        max_samples = _check_int("max_samples", max_samples, 2 * n_folds)
    if classifier not in ("mlp", "rf"):
        raise ValueError(f"classifier must be 'mlp' or 'rf', got {classifier!r}")
    n = min(len(a), len(b), max_samples or len(a))
    if n < 2 * n_folds:
        raise ValueError(
            f"samples_a and samples_b need at least 2 n_folds = {2 * n_folds} "
            f"samples each, got {len(a)} and {len(b)}"
        )

    subsample_ss, classifier_ss = np.random.SeedSequence(seed).spawn(2)
    rng = np.random.default_rng(subsample_ss)
    a = a[rng.choice(len(a), size=n, replace=False)]
    b = b[rng.choice(len(b), size=n, replace=False)]
    # scikit-learn takes seeds below 2**32
    classifier_seed = int(classifier_ss.generate_state(1, np.uint32)[0])

    import torch
    from sbi.utils.metrics import c2st as sbi_c2st

    # sbi's c2st passes its seed to scikit-learn; torch and numpy's global
    # generators are seeded too, should a version draw from them, and restored
    from simfer.inference.snl import _seeded_global_state

    with _seeded_global_state(classifier_seed, classifier_seed):
        accuracy = sbi_c2st(
            torch.from_numpy(a),
            torch.from_numpy(b),
            seed=classifier_seed,
            n_folds=n_folds,
            classifier=classifier,
        )
    return float(accuracy)


def _central_interval(samples: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    """Per column: median, and the 15.87 % and 84.13 % quantiles."""
    lower, median, upper = np.quantile(
        samples, [(1 - _ONE_SIGMA) / 2, 0.5, (1 + _ONE_SIGMA) / 2], axis=0
    )
    return median, lower, upper


def compare_marginals(
    samples: ArrayLike, reference: ArrayLike, names: Sequence[str]
) -> Table:
    """Per-parameter medians and widths of a posterior against a reference.

    The width of a marginal is sigma = (q84 - q16) / 2, half its central 68.27 %
    interval: the standard deviation for a Gaussian, but, unlike the sample
    standard deviation, insensitive to heavy tails and to a few stray samples
    (a stuck MCMC walker, a flow's outliers).

    Parameters
    ----------
    samples : array_like, shape (n, d)
        Samples of the posterior under test.
    reference : array_like, shape (m, d)
        Samples of the reference posterior (e.g. converged MCMC), in the same
        parameters and units.
    names : sequence of str
        The d parameter names.

    Returns
    -------
    astropy.table.Table
        One row per parameter, columns ``name``; ``median`` and ``sigma`` of
        ``samples``; ``reference_median`` and ``reference_sigma``, in the units
        of the parameter; ``median_offset_sigma`` = (median -
        reference_median) / reference_sigma; ``width_ratio`` = sigma /
        reference_sigma (1 for matching widths, < 1 for a narrower posterior).

    Raises
    ------
    ValueError
        Sample sets that are not 2-d, differ in d or from ``names``, have
        non-finite entries or fewer than two rows, or a reference marginal of
        zero width.
    """
    x = _finite_array("samples", samples, 2, "(n, d)")
    ref = _finite_array("reference", reference, 2, "(m, d)")
    names = [str(name) for name in names]
    if x.shape[1] != len(names) or ref.shape[1] != len(names):
        raise ValueError(
            f"names has {len(names)} entries; samples and reference have "
            f"{x.shape[1]} and {ref.shape[1]} parameters per sample"
        )
    if len(x) < 2 or len(ref) < 2:
        raise ValueError(
            f"samples and reference need at least 2 rows, got {len(x)} and {len(ref)}"
        )

    median, lower, upper = _central_interval(x)
    ref_median, ref_lower, ref_upper = _central_interval(ref)
    sigma = (upper - lower) / 2
    ref_sigma = (ref_upper - ref_lower) / 2
    flat = [name for name, s in zip(names, ref_sigma, strict=True) if s <= 0]
    if flat:
        raise ValueError(f"reference has a marginal of zero width in {flat}")

    return Table(
        {
            "name": names,
            "median": median,
            "sigma": sigma,
            "reference_median": ref_median,
            "reference_sigma": ref_sigma,
            "median_offset_sigma": (median - ref_median) / ref_sigma,
            "width_ratio": sigma / ref_sigma,
        },
        descriptions={
            "sigma": "half the central 68.27 % interval of samples",
            "reference_sigma": "half the central 68.27 % interval of reference",
            "median_offset_sigma": "(median - reference_median) / reference_sigma",
            "width_ratio": "sigma / reference_sigma",
        },
    )


def _calibration_inputs(
    posterior_samples: ArrayLike, truths: ArrayLike
) -> tuple[NDArray, NDArray]:
    samples = _finite_array(
        "posterior_samples", posterior_samples, 3, "(n_injections, n_samples, d)"
    )
    truth = _finite_array("truths", truths, 2, "(n_injections, d)")
    if truth.shape != (samples.shape[0], samples.shape[2]):
        raise ValueError(
            f"truths must have shape (n_injections, d) = "
            f"{(samples.shape[0], samples.shape[2])} to match posterior_samples "
            f"{samples.shape}, got {truth.shape}"
        )
    return samples, truth


@dataclass(frozen=True)
class TARPResult:
    """Outcome of :func:`tarp_coverage`.

    Attributes
    ----------
    alpha : ndarray, shape (n_alpha,)
        Credibility levels, from 0 to 1.
    ecp : ndarray, shape (n_alpha,)
        Expected coverage probability at each level: the fraction of injections
        whose truth lies inside the region of credibility ``alpha`` (eq. 4 of
        Lemos et al. 2023). Equal to ``alpha`` for a calibrated posterior.
    credibility : ndarray, shape (n_injections, n_references)
        Credibility level f of the truth of each injection for each reference
        point: the fraction of posterior samples closer to the reference than
        the truth is. Uniform in [0, 1] for a calibrated posterior.
    max_deviation : float
        Largest |ECP - alpha| on the grid.
    area : float
        Area between the ECP curve and the diagonal, the integral of
        |ECP - alpha| over alpha (0 when calibrated, at most 1/2).
    signed_area_upper_half : float
        Integral of ECP - alpha over alpha in [1/2, 1]: negative for an
        over-confident (too narrow) posterior, positive for an under-confident
        (too wide) one (the "ATC" of sbi's ``check_tarp``). A biased posterior
        can give either sign (Lemos et al. 2023, Fig. 2).
    ks_pvalue : float
        p-value of the Kolmogorov-Smirnov test that the credibility levels of
        the first reference point per injection are uniform in [0, 1].
    """

    alpha: NDArray
    ecp: NDArray
    credibility: NDArray
    max_deviation: float
    area: float
    signed_area_upper_half: float
    ks_pvalue: float


def tarp_coverage(
    posterior_samples: ArrayLike,
    truths: ArrayLike,
    *,
    seed: int,
    n_references: int | None = None,
    references: ArrayLike | None = None,
    n_alpha: int = 101,
) -> TARPResult:
    """Expected coverage probability of a posterior estimator by TARP.

    For injection i with truth theta_i and posterior samples theta_ij, a
    reference point theta_r is drawn and the credibility level of the truth is
    f_i = (1 / n_samples) sum_j 1(|theta_ij - theta_r| < |theta_i - theta_r|):
    the posterior mass of the ball about theta_r reaching out to the truth
    (Lemos et al. 2023, Algorithm 2). The expected coverage probability
    ECP(alpha) is the fraction of injections with f_i < alpha; it equals alpha
    for every alpha (and every distribution of reference points) if and only if
    the posterior is the true one (their Theorem 3), given injections
    theta_i drawn from the prior with data simulated at them.

    Each parameter is first scaled to [0, 1] by the range of the truths, so
    that Euclidean distances weigh the parameters alike; reference points are
    drawn uniformly in that box (the bounding box of the truths) unless given.
    The paper's ECP is defined with the strict inequality, which at alpha = 1
    would exclude truths outside all samples; ECP(1) is set to 1, as the
    alpha = 1 region is the whole space (as in sbi's implementation).

    sbi 0.27 computes the same quantities in ``sbi.diagnostics.tarp._run_tarp``
    (private), on a grid of alpha spanning the observed range of f_i rather than
    [0, 1], and draws references from torch's global generator; this version
    uses a fixed grid and a seeded numpy Generator.

    Parameters
    ----------
    posterior_samples : array_like, shape (n_injections, n_samples, d)
        Independent posterior samples for each injection's data.
    truths : array_like, shape (n_injections, d)
        The parameters each injection was simulated at, drawn from the prior.
    seed : int
        Seeds the reference points (>= 0).
    n_references : int, optional
        Reference points per injection (>= 1); the ECP averages over them, which
        lowers the scatter due to the references. None uses one per injection,
        as in the paper, or as many as ``references`` has.
    references : array_like, optional
        Reference points, shape (n_injections, d) or (n_injections,
        n_references, d), in the units of ``truths``; replaces the random draw.
    n_alpha : int
        Points of the alpha grid, spaced evenly from 0 to 1 (>= 3).

    Returns
    -------
    TARPResult

    Raises
    ------
    ValueError
        Shapes that do not match, non-finite entries, fewer than two
        injections, a parameter whose truths are all equal, or bad ``seed``,
        ``n_references`` or ``n_alpha``.

    References
    ----------
    Lemos, P., Coogan, A., Hezaveh, Y. & Perreault-Levasseur, L. 2023, ICML,
    PMLR 202, 19256 (arXiv:2302.03026).
    """
    samples, truth = _calibration_inputs(posterior_samples, truths)
    n_injections, n_samples, dim = samples.shape
    if n_injections < 2:
        raise ValueError(
            f"truths must hold at least 2 injections to set the scale, got "
            f"{n_injections}"
        )
    seed = _check_int("seed", seed, 0)
    n_alpha = _check_int("n_alpha", n_alpha, 3)
    if n_references is not None:
        n_references = _check_int("n_references", n_references, 1)
    low, high = truth.min(axis=0), truth.max(axis=0)
    constant = np.flatnonzero(high <= low).tolist()
    if constant:
        raise ValueError(
            f"truths are all equal in parameter(s) {constant}: no range to "
            "scale distances by"
        )

    def scaled(values: NDArray) -> NDArray:
        return (values - low) / (high - low)

    if references is None:
        count = 1 if n_references is None else n_references
        rng = np.random.default_rng(seed)
        reference = rng.uniform(size=(n_injections, count, dim))
    else:
        shape = "(n_injections, d) or (n_injections, n_references, d)"
        given = _finite_array("references", references, np.ndim(references), shape)
        if given.ndim == 2:
            given = given[:, None, :]
        if given.ndim != 3 or (given.shape[0], given.shape[2]) != (
            n_injections,
            dim,
        ):
            raise ValueError(
                f"references must have shape {shape} with n_injections = "
                f"{n_injections} and d = {dim}, got {np.shape(references)}"
            )
        if n_references is not None and given.shape[1] != n_references:
            raise ValueError(
                f"references holds {given.shape[1]} points per injection, "
                f"n_references is {n_references}"
            )
        reference = scaled(given)
    samples, truth = scaled(samples), scaled(truth)

    # squared distances accumulated per parameter: memory n_injections x n_samples
    credibility = np.empty(reference.shape[:2])
    for k in range(reference.shape[1]):
        ref = reference[:, k, :]
        to_samples = np.zeros((n_injections, n_samples))
        for j in range(dim):
            to_samples += (samples[:, :, j] - ref[:, None, j]) ** 2
        to_truth = np.sum((truth - ref) ** 2, axis=1)
        credibility[:, k] = np.mean(to_samples < to_truth[:, None], axis=1)

    alpha = np.linspace(0.0, 1.0, n_alpha)
    ecp = np.mean(credibility.reshape(-1, 1) < alpha[:-1], axis=0)
    ecp = np.append(ecp, 1.0)
    deviation = ecp - alpha
    upper = alpha >= 0.5
    return TARPResult(
        alpha=alpha,
        ecp=ecp,
        credibility=credibility,
        max_deviation=float(np.max(np.abs(deviation))),
        area=float(np.trapezoid(np.abs(deviation), alpha)),
        signed_area_upper_half=float(np.trapezoid(deviation[upper], alpha[upper])),
        ks_pvalue=float(stats.kstest(credibility[:, 0], "uniform").pvalue),
    )


def rank_statistics(posterior_samples: ArrayLike, truths: ArrayLike) -> NDArray:
    """Ranks of the truths among their posterior samples, for SBC.

    The rank of parameter k of injection i is the number of posterior samples
    below the truth, r_ik = sum_j 1(theta_ijk < theta_ik), in {0, ...,
    n_samples}. With truths drawn from the prior, data simulated at them and
    independent samples of the exact posterior, each column of ranks is
    uniformly distributed on {0, ..., n_samples} (Talts et al. 2018, Theorem 1).
    Ties count as "not below": draw samples from a continuous distribution.

    Parameters
    ----------
    posterior_samples : array_like, shape (n_injections, n_samples, d)
        Independent posterior samples for each injection's data.
    truths : array_like, shape (n_injections, d)
        The parameters each injection was simulated at, drawn from the prior.

    Returns
    -------
    ndarray of int, shape (n_injections, d)

    Raises
    ------
    ValueError
        Shapes that do not match or non-finite entries.

    References
    ----------
    Talts, S. et al. 2018, arXiv:1804.06788 (Algorithm 1).
    """
    samples, truth = _calibration_inputs(posterior_samples, truths)
    return np.sum(samples < truth[:, None, :], axis=1)


def _check_ranks(ranks: ArrayLike, n_samples: int) -> NDArray:
    n_samples = _check_int("n_samples", n_samples, 1)
    values = _finite_array("ranks", ranks, 2, "(n_injections, d)")
    if np.any(values != np.round(values)) or np.any(
        (values < 0) | (values > n_samples)
    ):
        raise ValueError(f"ranks must be integers in [0, n_samples = {n_samples}]")
    return values.astype(int)


def rank_histogram(
    ranks: ArrayLike, n_samples: int, *, n_bins: int | None = None
) -> tuple[NDArray, NDArray, NDArray]:
    """Histogram of SBC ranks with the counts a calibrated posterior expects.

    The n_samples + 1 possible ranks are split into ``n_bins`` bins of
    consecutive ranks, as equal as integers allow; bin b holding w_b of them
    expects n_injections w_b / (n_samples + 1) counts (Talts et al. 2018,
    Sec. 4.1).

    Parameters
    ----------
    ranks : array_like of int, shape (n_injections, d)
        Output of :func:`rank_statistics`.
    n_samples : int
        Posterior samples per injection the ranks were computed with.
    n_bins : int, optional
        Number of bins (2 to n_samples + 1), each expecting at least 5 counts;
        None takes about 20 expected counts per bin.

    Returns
    -------
    edges : ndarray of int, shape (n_bins + 1,)
        Bin b holds the ranks edges[b] <= r < edges[b + 1].
    counts : ndarray of int, shape (n_bins, d)
        Injections per bin and parameter.
    expected : ndarray, shape (n_bins,)
        Expected counts per bin for a calibrated posterior.

    Raises
    ------
    ValueError
        Ranks that are not integers in [0, n_samples], or bins that would
        expect fewer than 5 counts.

    References
    ----------
    Talts, S. et al. 2018, arXiv:1804.06788.
    """
    values = _check_ranks(ranks, n_samples)
    n_injections = len(values)
    n_ranks = n_samples + 1
    if n_bins is None:
        n_bins = min(n_ranks, max(2, n_injections // 20))
    n_bins = _check_int("n_bins", n_bins, 2)
    if n_bins > n_ranks:
        raise ValueError(f"n_bins must be <= n_samples + 1 = {n_ranks}, got {n_bins}")

    # spacing >= 1 between the unrounded edges keeps the rounded ones distinct
    edges = np.round(np.linspace(0, n_ranks, n_bins + 1)).astype(int)
    expected = n_injections * np.diff(edges) / n_ranks
    if expected.min() < _MIN_EXPECTED_PER_BIN:
        raise ValueError(
            f"n_bins = {n_bins} expects only {expected.min():.1f} of the "
            f"{n_injections} ranks in a bin; the chi-square test needs >= "
            f"{_MIN_EXPECTED_PER_BIN}: use fewer bins or more injections"
        )
    counts = np.stack(
        [np.histogram(column, bins=edges)[0] for column in values.T], axis=1
    )
    return edges, counts, expected


def sbc_uniformity_pvalues(
    ranks: ArrayLike, n_samples: int, *, n_bins: int | None = None
) -> NDArray:
    """Per-parameter p-values of SBC ranks against the discrete uniform.

    Pearson's chi-square test of the binned ranks (:func:`rank_histogram`)
    against the counts expected when every rank in {0, ..., n_samples} is
    equally likely, with n_bins - 1 degrees of freedom. A small p-value flags a
    miscalibrated marginal: a U-shaped histogram an over-confident posterior,
    a hump an under-confident one, a slope a biased one (Talts et al. 2018,
    Sec. 4.1). The d p-values are not corrected for multiple testing.

    sbi 0.27's ``check_sbc`` also needs prior and data-averaged posterior
    samples; its rank test (``check_uniformity_frequentist``) is a
    Kolmogorov-Smirnov test against the continuous uniform on [0, n_samples].
    The chi-square test here uses the discrete distribution of the ranks.

    Parameters
    ----------
    ranks : array_like of int, shape (n_injections, d)
        Output of :func:`rank_statistics`.
    n_samples : int
        Posterior samples per injection the ranks were computed with.
    n_bins : int, optional
        Number of bins, see :func:`rank_histogram`.

    Returns
    -------
    ndarray, shape (d,)

    Raises
    ------
    ValueError
        As :func:`rank_histogram`.

    References
    ----------
    Talts, S. et al. 2018, arXiv:1804.06788.
    """
    _, counts, expected = rank_histogram(ranks, n_samples, n_bins=n_bins)
    statistic = np.sum((counts - expected[:, None]) ** 2 / expected[:, None], axis=0)
    return stats.chi2.sf(statistic, df=len(expected) - 1)
