"""Posterior diagnostics (simfer.inference.diagnostics) and their figures.

The calibration checks use the conjugate Gaussian problem: theta ~ N(0, 1) and
x | theta ~ N(theta, s^2) per parameter, whose posterior is exactly

    theta | x ~ N(x / (1 + s^2), s^2 / (1 + s^2))

(e.g. Bishop 2006, Pattern Recognition and Machine Learning, eq. 2.141-2.142),
so a calibrated posterior is drawn exactly, and over-confident, under-confident
or biased ones by shrinking, widening or shifting it.
"""

import numpy as np
import pytest
from matplotlib.figure import Figure
from scipy import stats

from simfer.inference.diagnostics import (
    TARPResult,
    c2st,
    compare_marginals,
    rank_histogram,
    rank_statistics,
    sbc_uniformity_pvalues,
    tarp_coverage,
)
from simfer.plots import coverage_plot, posterior_corner

NOISE = 0.5  # s, standard deviation of x | theta
POSTERIOR_STD = NOISE / np.sqrt(1 + NOISE**2)


def conjugate_posteriors(seed, n_injections, n_samples, d=2, width=1.0, shift=0.0):
    """Truths from the prior and posterior samples for data simulated at them.

    ``width`` scales the exact posterior's standard deviation (1: calibrated,
    < 1: over-confident, > 1: under-confident); ``shift`` moves its mean by that
    many exact posterior standard deviations (a bias).
    """
    rng = np.random.default_rng(seed)
    truths = rng.standard_normal((n_injections, d))
    x = truths + NOISE * rng.standard_normal((n_injections, d))
    mean = x / (1 + NOISE**2) + shift * POSTERIOR_STD
    noise = rng.standard_normal((n_injections, n_samples, d))
    return mean[:, None, :] + width * POSTERIOR_STD * noise, truths


def normal_grid(n, loc=0.0, scale=1.0):
    """n points at evenly spaced quantiles of N(loc, scale^2): no sampling noise."""
    return loc + scale * stats.norm.ppf((np.arange(n) + 0.5) / n)


# --- c2st ---------------------------------------------------------------------


def test_c2st_of_one_distribution_is_chance():
    pytest.importorskip("sbi")
    rng = np.random.default_rng(10)
    a, b = rng.standard_normal((2, 500, 2))
    # held-out accuracy of 1000 points at chance scatters by sqrt(0.25 / 1000) = 0.016
    # about 0.5, and the MLP can overfit a little below it: 0.06 is ~4 sigma
    assert abs(c2st(a, b, seed=0) - 0.5) < 0.06


def test_c2st_of_gaussians_3_sigma_apart_is_bayes_accuracy():
    pytest.importorskip("sbi")
    rng = np.random.default_rng(11)
    a, b = rng.standard_normal((2, 500, 2))
    b[:, 0] += 3.0
    # best classifier of two unit Gaussians 3 apart thresholds at the midpoint
    bayes = stats.norm.cdf(1.5)  # 0.933
    # held-out accuracy of 1000 points scatters by sqrt(0.933 * 0.067 / 1000) = 0.008
    # and sbi's small MLP falls ~0.015 short of the Bayes rate: 0.04 covers both
    assert abs(c2st(a, b, seed=1) - bayes) < 0.04


def test_c2st_is_reproducible_and_leaves_global_state_alone():
    pytest.importorskip("sbi")
    import torch

    rng = np.random.default_rng(12)
    a = rng.standard_normal((300, 2))
    b = rng.standard_normal((400, 2)) + 0.5
    np.random.seed(123)  # noqa: NPY002 -- the caller's state that must survive
    torch.manual_seed(456)
    numpy_before = np.random.get_state()  # noqa: NPY002
    torch_before = torch.get_rng_state()
    first = c2st(a, b, seed=5, n_folds=3)
    second = c2st(a, b, seed=5, n_folds=3)
    numpy_after = np.random.get_state()  # noqa: NPY002
    assert first == second
    assert numpy_after[0] == numpy_before[0]
    np.testing.assert_array_equal(numpy_after[1], numpy_before[1])
    assert numpy_after[2:] == numpy_before[2:]
    assert torch.equal(torch.get_rng_state(), torch_before)


@pytest.mark.parametrize(
    ("a", "b", "kwargs", "match"),
    [
        (np.zeros(50), np.zeros((50, 1)), {}, "samples_a"),
        (np.zeros((50, 2)), np.zeros((50, 3)), {}, "samples_b"),
        (np.zeros((50, 1)), np.full((50, 1), np.nan), {}, "samples_b"),
        (np.zeros((6, 1)), np.zeros((50, 1)), {}, "n_folds"),
        (np.zeros((50, 1)), np.zeros((50, 1)), {"n_folds": 1}, "n_folds"),
        (np.zeros((50, 1)), np.zeros((50, 1)), {"seed": -1}, "seed"),
        (np.zeros((50, 1)), np.zeros((50, 1)), {"max_samples": 4}, "max_samples"),
        (np.zeros((50, 1)), np.zeros((50, 1)), {"classifier": "svm"}, "classifier"),
    ],
)
def test_c2st_bad_inputs(a, b, kwargs, match):
    # validation happens before sbi is imported or anything is trained
    with pytest.raises(ValueError, match=match):
        c2st(a, b, **({"seed": 0} | kwargs))


# --- compare_marginals --------------------------------------------------------


def test_compare_marginals_recovers_known_shifts_and_widths():
    reference = np.stack([normal_grid(20000, 3.0, 2.0), normal_grid(20000, -1.0, 0.1)])
    samples = np.stack(
        [
            normal_grid(10000, 3.0 + 0.5 * 2.0, 0.5 * 2.0),  # +0.5 sigma, half as wide
            normal_grid(10000, -1.0 - 2.0 * 0.1, 1.5 * 0.1),  # -2 sigma, 1.5 x as wide
        ]
    )
    table = compare_marginals(samples.T, reference.T, ["a", "b"])
    assert list(table["name"]) == ["a", "b"]
    # quantiles of a quantile grid of n points are exact to a grid step,
    # 1 / (n phi(1)) = 4e-4 standard deviations at the 16 % point for n = 1e4
    atol = 1e-3
    np.testing.assert_allclose(table["median"], [4.0, -1.2], atol=atol)
    np.testing.assert_allclose(table["sigma"], [1.0, 0.15], atol=atol)
    np.testing.assert_allclose(table["reference_median"], [3.0, -1.0], atol=atol)
    np.testing.assert_allclose(table["reference_sigma"], [2.0, 0.1], atol=atol)
    np.testing.assert_allclose(table["median_offset_sigma"], [0.5, -2.0], atol=atol)
    np.testing.assert_allclose(table["width_ratio"], [0.5, 1.5], atol=atol)


def test_compare_marginals_widths_resist_stray_samples():
    # 1 % of the samples stuck far away: every quantile p of the rest moves to
    # the quantile p / (1 - 0.01) of N(0, 1), while the standard deviation explodes
    samples = np.concatenate([normal_grid(19800), np.full(200, 1e6)])[:, None]
    reference = normal_grid(20000)[:, None]
    table = compare_marginals(samples, reference, ["x"])
    lower, median, upper = stats.norm.ppf(
        np.array([0.5 - 0.68269 / 2, 0.5, 0.5 + 0.68269 / 2]) / 0.99
    )
    # quantile-grid samples: exact to a grid step, 1 / (n phi(1)) = 2e-4
    atol = 1e-3
    assert table["median_offset_sigma"][0] == pytest.approx(median, abs=atol)
    assert table["width_ratio"][0] == pytest.approx((upper - lower) / 2, abs=atol)
    assert samples.std() > 1e4  # what the sample standard deviation would give


@pytest.mark.parametrize(
    ("samples", "reference", "names", "match"),
    [
        (np.zeros((10, 2)), np.ones((10, 2)), ["a"], "names"),
        (np.zeros((10, 2)), np.ones((10, 3)), ["a", "b"], "names"),
        (np.zeros(10), np.ones((10, 1)), ["a"], "samples"),
        (np.full((10, 1), np.nan), np.ones((10, 1)), ["a"], "samples"),
        (np.zeros((1, 1)), np.arange(10.0)[:, None], ["a"], "at least 2 rows"),
        (np.zeros((10, 1)), np.ones((10, 1)), ["a"], r"reference .*zero width"),
    ],
)
def test_compare_marginals_bad_inputs(samples, reference, names, match):
    with pytest.raises(ValueError, match=match):
        compare_marginals(samples, reference, names)


# --- TARP ---------------------------------------------------------------------

N_INJECTIONS, N_SAMPLES = 1000, 200
# Dvoretzky-Kiefer-Wolfowitz: the ECDF of n = 1000 draws strays beyond
# eps = 0.06 from its CDF with probability <= 2 exp(-2 n eps^2) = 0.0015; the
# credibility of a calibrated posterior is uniform on {0, 1/N, ..., 1}, whose CDF
# is within 1 / (N + 1) of the diagonal
CALIBRATED_BAND = 0.06 + 1 / (N_SAMPLES + 1)


def test_tarp_of_calibrated_posterior_follows_diagonal():
    samples, truths = conjugate_posteriors(20, N_INJECTIONS, N_SAMPLES)
    result = tarp_coverage(samples, truths, seed=0)
    assert isinstance(result, TARPResult)
    assert result.credibility.shape == (N_INJECTIONS, 1)
    np.testing.assert_array_equal(result.alpha, np.linspace(0, 1, 101))
    assert result.ecp[0] == 0.0 and result.ecp[-1] == 1.0
    # DKW band, see CALIBRATED_BAND
    assert result.max_deviation < CALIBRATED_BAND
    # area and upper-half area are integrals of |ECP - alpha| over at most [0, 1]
    assert result.area < CALIBRATED_BAND
    assert abs(result.signed_area_upper_half) < CALIBRATED_BAND / 2
    # credibility is uniform, so its KS p-value is uniform: 0.01 fails 1 % of seeds
    assert result.ks_pvalue > 0.01


@pytest.mark.parametrize(("width", "sign"), [(0.5, -1), (2.0, +1)])
def test_tarp_of_over_and_under_confident_posteriors_leaves_diagonal(width, sign):
    samples, truths = conjugate_posteriors(21, N_INJECTIONS, N_SAMPLES, width=width)
    result = tarp_coverage(samples, truths, seed=0)
    i = np.flatnonzero(np.isclose(result.alpha, 0.9))[0]
    # too narrow: truths fall outside the 90 % regions too often (ECP below
    # alpha), too wide: too rarely; beyond the calibrated DKW band either way
    assert sign * (result.ecp[i] - 0.9) > CALIBRATED_BAND
    assert sign * result.signed_area_upper_half > CALIBRATED_BAND / 2
    assert result.ks_pvalue < 1e-6  # ~0.2 from uniform over 1000 draws: KS p ~ 1e-30


def test_tarp_worked_example():
    # one parameter, scaled by the truths' range [0, 1] to itself
    truths = np.array([[0.0], [1.0]])
    samples = np.array([[0.2, 0.4, 0.9, -0.5], [0.5, 2.0, 1.5, 0.9]])[:, :, None]
    references = np.array([[0.5], [0.0]])
    result = tarp_coverage(samples, truths, seed=0, references=references, n_alpha=5)
    # truth 0 is 0.5 from its reference; samples 0.3, 0.1, 0.4, 1.0: 3 of 4 closer
    # truth 1 is 1 from its reference; samples 0.5, 2, 1.5, 0.9: 2 of 4 closer
    np.testing.assert_array_equal(result.credibility, [[0.75], [0.5]])
    # ECP(alpha) = fraction with f < alpha, on alpha = 0, 1/4, 1/2, 3/4, 1
    np.testing.assert_array_equal(result.ecp, [0.0, 0.0, 0.0, 0.5, 1.0])


def test_tarp_credibility_matches_sbi():
    pytest.importorskip("sbi")
    import torch
    from sbi.diagnostics.tarp import _run_tarp

    samples, truths = conjugate_posteriors(22, 300, 100, d=3, width=0.7)
    references = np.random.default_rng(5).uniform(-2, 2, size=truths.shape)
    result = tarp_coverage(samples, truths, seed=0, references=references)
    ecp_sbi, alpha_sbi = _run_tarp(
        torch.from_numpy(samples.transpose(1, 0, 2)),
        torch.from_numpy(truths),
        torch.from_numpy(references),
        z_score_theta=True,
    )
    # sbi bins f (float32) into 300 // 10 bins over its range and takes the
    # cumulative sum: do the same with our credibility levels
    counts, edges = torch.histogram(
        torch.from_numpy(result.credibility[:, 0]).float(), bins=30, density=True
    )
    ours = torch.cat([torch.zeros(1), torch.cumsum(counts, 0) / counts.sum()])
    # identical counts give identical float32 sums; a credibility differing in a
    # single injection would move the ECP by 1 / 300
    torch.testing.assert_close(edges, alpha_sbi, rtol=0, atol=1e-7)
    torch.testing.assert_close(ours, ecp_sbi, rtol=0, atol=1e-6)


def test_tarp_ecp_is_empirical_cdf_of_credibility_and_scale_free():
    samples, truths = conjugate_posteriors(23, 200, 100, d=2, shift=0.5)
    result = tarp_coverage(samples, truths, seed=3, n_references=4)
    assert result.credibility.shape == (200, 4)
    cred = np.sort(result.credibility.ravel())
    # ECDF by sorting, counting values strictly below each alpha
    ecdf = np.searchsorted(cred, result.alpha[:-1], side="left") / cred.size
    np.testing.assert_allclose(result.ecp[:-1], ecdf, rtol=0, atol=1e-15)  # rounding
    # the parameters are scaled by the truths' range: units do not matter
    scale, offset = np.array([1e3, 1e-2]), np.array([-5.0, 7.0])
    rescaled = tarp_coverage(samples * scale + offset, truths * scale + offset, seed=3,
                             n_references=4)  # fmt: skip
    # credibilities are counts of strict comparisons; rescaling only rounds the
    # distances, which moves a count only for a sample tied to 1e-15 (none is)
    np.testing.assert_array_equal(rescaled.credibility, result.credibility)
    # same seed, same reference points
    again = tarp_coverage(samples, truths, seed=3, n_references=4)
    np.testing.assert_array_equal(again.ecp, result.ecp)


@pytest.mark.parametrize(
    ("samples", "truths", "kwargs", "match"),
    [
        (np.zeros((5, 10)), np.zeros((5, 1)), {}, "posterior_samples"),
        (np.zeros((5, 10, 2)), np.zeros((5, 1)), {}, "truths"),
        (np.zeros((5, 10, 1)), np.zeros((4, 1)), {}, "truths"),
        (np.full((5, 10, 1), np.nan), np.arange(5.0)[:, None], {}, "posterior_samples"),
        (np.zeros((1, 10, 1)), np.zeros((1, 1)), {}, "at least 2 injections"),
        (np.zeros((5, 10, 1)), np.zeros((5, 1)), {}, "truths are all equal"),
        (np.zeros((5, 10, 1)), np.arange(5.0)[:, None], {"n_alpha": 2}, "n_alpha"),
        (np.zeros((5, 10, 1)), np.arange(5.0)[:, None], {"n_references": 0},
         "n_references"),
        (np.zeros((5, 10, 1)), np.arange(5.0)[:, None], {"references": np.zeros(5)},
         "references"),
        (np.zeros((5, 10, 1)), np.arange(5.0)[:, None],
         {"references": np.zeros((5, 3, 1)), "n_references": 2}, "n_references"),
    ],
)  # fmt: skip
def test_tarp_bad_inputs(samples, truths, kwargs, match):
    with pytest.raises(ValueError, match=match):
        tarp_coverage(samples, truths, **({"seed": 0} | kwargs))


# --- SBC ----------------------------------------------------------------------


def test_rank_statistics_count_samples_below_truth():
    samples, truths = conjugate_posteriors(30, 50, 40, d=3, shift=0.3)
    ranks = rank_statistics(samples, truths)
    # independently: insertion index of the truth among the sorted samples
    expected = np.array(
        [
            [np.searchsorted(np.sort(samples[i, :, k]), truths[i, k]) for k in range(3)]
            for i in range(50)
        ]
    )
    np.testing.assert_array_equal(ranks, expected)  # integer counts: exact


def test_rank_histogram_of_every_rank_once_is_flat():
    # ranks 0..n_samples each once: every bin holds exactly its width
    n_samples = 99
    ranks = np.stack([np.arange(100), np.arange(100)[::-1]], axis=1)
    edges, counts, expected = rank_histogram(ranks, n_samples, n_bins=10)
    np.testing.assert_array_equal(edges, np.arange(0, 101, 10))
    np.testing.assert_array_equal(counts, np.full((10, 2), 10))
    np.testing.assert_allclose(expected, 10.0, rtol=1e-15)  # rounding only
    assert sbc_uniformity_pvalues(ranks, n_samples, n_bins=10) == pytest.approx(1.0)


def test_rank_histogram_counts_sum_to_injections():
    samples, truths = conjugate_posteriors(31, 400, 50, d=2)
    ranks = rank_statistics(samples, truths)
    edges, counts, expected = rank_histogram(ranks, 50)
    assert len(edges) == 21  # default: about 20 expected counts per bin
    np.testing.assert_array_equal(counts.sum(axis=0), [400, 400])
    assert expected.sum() == pytest.approx(400, rel=1e-12)  # rounding only
    assert edges[0] == 0 and edges[-1] == 51
    assert np.all(np.diff(edges) >= 1)


def test_sbc_pvalues_are_pearson_chi_square():
    samples, truths = conjugate_posteriors(32, 300, 60, d=2, width=0.8)
    ranks = rank_statistics(samples, truths)
    _, counts, expected = rank_histogram(ranks, 60, n_bins=12)
    pvalues = sbc_uniformity_pvalues(ranks, 60, n_bins=12)
    # scipy's chi-square goodness-of-fit test on the same counts; float rounding
    for k in range(2):
        reference = stats.chisquare(counts[:, k], expected).pvalue
        assert pvalues[k] == pytest.approx(reference, rel=1e-10)


def test_sbc_of_calibrated_posterior_is_uniform():
    samples, truths = conjugate_posteriors(33, 1000, 100, d=3)
    pvalues = sbc_uniformity_pvalues(rank_statistics(samples, truths), 100)
    # p-values are uniform under calibration: 0.01 fails 1 % of seeds per parameter
    assert np.all(pvalues > 0.01)


@pytest.mark.parametrize(
    ("width", "shift"),
    [(1.0, 1.0), (0.5, 0.0), (2.0, 0.0)],
    ids=["biased", "over-confident", "under-confident"],
)
def test_sbc_of_miscalibrated_posterior_is_rejected(width, shift):
    samples, truths = conjugate_posteriors(34, 1000, 100, d=2, width=width, shift=shift)
    pvalues = sbc_uniformity_pvalues(rank_statistics(samples, truths), 100)
    # histograms far from flat (bins off by ~50 %): chi-square p ~ 1e-40 or less
    assert np.all(pvalues < 1e-8)


@pytest.mark.parametrize(
    ("ranks", "n_samples", "kwargs", "match"),
    [
        (np.array([[0], [101]] * 10), 100, {}, "n_samples"),  # n_samples mismatched
        (np.array([[-1], [3]] * 10), 100, {}, "ranks"),
        (np.array([[0.5], [3]] * 10), 100, {}, "ranks"),
        (np.array([[np.nan], [3]] * 10), 100, {}, "ranks"),
        (np.arange(20), 100, {}, "ranks"),
        (np.array([[0], [3]] * 10), 0, {}, "n_samples"),
        (np.array([[0], [3]] * 10), 100, {"n_bins": 5}, "n_bins"),  # 4 per bin
        (np.array([[0], [1]] * 10), 2, {"n_bins": 4}, "n_bins"),  # > n_samples + 1
    ],
)
def test_rank_histogram_bad_inputs(ranks, n_samples, kwargs, match):
    with pytest.raises(ValueError, match=match):
        rank_histogram(ranks, n_samples, **kwargs)
    with pytest.raises(ValueError, match=match):
        sbc_uniformity_pvalues(ranks, n_samples, **kwargs)


def test_rank_statistics_bad_inputs():
    with pytest.raises(ValueError, match="truths"):
        rank_statistics(np.zeros((5, 10, 2)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="posterior_samples"):
        rank_statistics(np.full((5, 10, 2), np.inf), np.zeros((5, 2)))


# --- figures ------------------------------------------------------------------


def test_posterior_corner_overlays_sets():
    pytest.importorskip("corner")
    rng = np.random.default_rng(40)
    sets = {
        "wide": rng.standard_normal((2000, 3)),
        "narrow": 0.5 + 0.25 * rng.standard_normal((800, 3)),
    }
    figure = posterior_corner(sets, ["a", "b", "c"], truths=[0.0, 0.1, 0.2], title="t")
    assert isinstance(figure, Figure)
    assert len(figure.axes) == 9
    legend = [text.get_text() for text in figure.legends[0].get_texts()]
    assert legend == ["wide", "narrow", "truth"]
    for i in range(3):
        diagonal = figure.axes[4 * i]
        # every set's histogram fits: the narrow one's density peaks near
        # 1 / (0.25 sqrt(2 pi)) = 1.6, above the wide one's 0.4
        assert diagonal.dataLim.y1 > 1.2
        assert diagonal.get_ylim()[1] >= diagonal.dataLim.y1


def test_posterior_corner_of_one_parameter_with_truth():
    pytest.importorskip("corner")
    samples = np.random.default_rng(41).standard_normal((500, 1))
    figure = posterior_corner({"only": samples}, ["x"], truths=[0.3])
    assert isinstance(figure, Figure)
    assert len(figure.axes) == 1


@pytest.mark.parametrize(
    ("sets", "kwargs", "match"),
    [
        ({}, {}, "sample_sets"),
        ({str(i): np.zeros((50, 2)) for i in range(7)}, {}, "sample_sets"),
        ({"a": np.zeros((50, 3))}, {}, "sample_sets"),
        ({"a": np.zeros((2, 2))}, {}, "sample_sets"),
        ({"a": np.full((50, 2), np.nan)}, {}, "sample_sets"),
        ({"a": np.zeros((50, 2))}, {"truths": [0.0]}, "truths"),
        ({"a": np.zeros((50, 2))}, {"labels": ["x"]}, "labels"),
        ({"a": np.zeros((50, 2))}, {"levels": (0.5, 1.5)}, "levels"),
    ],
)
def test_posterior_corner_bad_inputs(sets, kwargs, match):
    pytest.importorskip("corner")
    with pytest.raises(ValueError, match=match):
        posterior_corner(sets, ["x", "y"], **kwargs)


def test_coverage_plot_panels():
    samples, truths = conjugate_posteriors(42, 200, 99, d=5)
    result = tarp_coverage(samples, truths, seed=0)
    ranks = rank_statistics(samples, truths)
    only_tarp = coverage_plot(result.alpha, result.ecp, n_injections=200)
    assert isinstance(only_tarp, Figure)
    assert len(only_tarp.axes) == 1
    two = coverage_plot(result.alpha, result.ecp, ranks[:, :2], 99, names=["a", "b"])
    assert len(two.axes) == 3
    assert [ax.get_title() for ax in two.axes[1:]] == ["a", "b"]
    five = coverage_plot(result.alpha, result.ecp, ranks, 99, n_bins=5, title="t")
    assert len(five.axes) == 6  # two rows of at most four panels


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((np.linspace(0, 1, 5), np.linspace(0, 1, 4)), {}, "alpha and ecp"),
        ((np.linspace(0, 1, 5), np.linspace(0, 2, 5)), {}, "alpha and ecp"),
        ((np.linspace(0, 1, 5), np.linspace(0, 1, 5)), {"n_injections": 0},
         "n_injections"),
        ((np.linspace(0, 1, 5), np.linspace(0, 1, 5), np.zeros((100, 2), int)), {},
         "n_samples"),
        ((np.linspace(0, 1, 5), np.linspace(0, 1, 5), np.full((100, 2), 20), 10), {},
         "ranks"),
        ((np.linspace(0, 1, 5), np.linspace(0, 1, 5), np.zeros((100, 2), int), 10),
         {"names": ["a"]}, "names"),
    ],
)  # fmt: skip
def test_coverage_plot_bad_inputs(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        coverage_plot(*args, **kwargs)
