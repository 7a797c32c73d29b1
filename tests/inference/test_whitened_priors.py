"""Uniform box priors in whitened coordinates (simfer.inference.whitened_priors)."""

import numpy as np
import pytest
import torch
from scipy import stats

from simfer.inference.whitened_priors import (
    WhitenedBoxTruncatedNormal,
    WhitenedBoxUniform,
)

LOW, HIGH = np.array([-1.0, 0.0]), np.array([2.0, 0.5])
CENTRE = np.array([0.5, 0.2])
# a correlated whitening: the Cholesky factor of a Fisher matrix, transposed
FISHER = np.array([[40.0, 55.0], [55.0, 100.0]])
MATRIX = np.linalg.cholesky(FISHER).T


@pytest.fixture
def box():
    return WhitenedBoxUniform(LOW, HIGH, CENTRE, MATRIX)


def _grid_integral(distribution, half_width, n=801):
    """Integral of exp(log_prob) over a square in u, by the midpoint rule."""
    axis = np.linspace(-half_width, half_width, n)
    step = axis[1] - axis[0]
    u = np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)
    density = torch.exp(distribution.log_prob(torch.from_numpy(u))).numpy()
    return density.sum() * step**2


def test_coordinates_round_trip(box):
    theta = np.random.default_rng(0).uniform(LOW, HIGH, (50, 2))
    np.testing.assert_allclose(box.to_parameters(box.to_whitened(theta)), theta,
                               rtol=0, atol=1e-12)  # fmt: skip
    np.testing.assert_allclose(box.to_whitened(CENTRE), 0.0, atol=1e-15)


def test_samples_are_uniform_in_the_box(box):
    torch.manual_seed(1)
    theta = box.to_parameters(box.sample((4000,)).double().numpy())
    assert box.inside(box.to_whitened(theta)).all()
    for j in range(2):
        scaled = (theta[:, j] - LOW[j]) / (HIGH[j] - LOW[j])
        # KS against U(0, 1): p below 1e-3 would be a 1-in-1000 fluke
        assert stats.kstest(scaled, "uniform").pvalue > 1e-3


def test_density_integrates_to_one(box):
    # the box spans |u| < 15 here; the midpoint rule on an 801^2 grid cuts its
    # edges to about 0.5 % of the mass
    assert _grid_integral(box, 15.0) == pytest.approx(1.0, rel=0.01)
    value = box.log_prob(torch.zeros(2, dtype=torch.float64))
    expected = -np.log(np.prod(HIGH - LOW)) - np.log(np.linalg.det(MATRIX))
    assert float(value) == pytest.approx(expected, rel=1e-12)
    outside = torch.from_numpy(box.to_whitened(HIGH + 0.1))
    assert float(box.log_prob(outside)) == -np.inf


def test_moments_are_those_of_the_mapped_box(box):
    torch.manual_seed(2)
    u = box.sample((20000,)).double().numpy()
    mean, variance = box.mean.double().numpy(), box.variance.double().numpy()
    # 20000 draws: sample means within 4 standard errors, variances within 5 %
    # (their scatter is ~1 %)
    np.testing.assert_allclose(u.mean(0), mean, atol=4 * np.sqrt(variance.max() / 2e4))
    np.testing.assert_allclose(u.var(0), variance, rtol=0.05)


def test_truncated_normal_is_normalised_and_inside(box):
    proposal = WhitenedBoxTruncatedNormal(box, 2.0)
    torch.manual_seed(3)
    u = proposal.sample((3000,)).double().numpy()
    assert box.inside(u).all()
    # acceptance estimated from 1e5 draws: 0.3 % error; grid: 0.2 %
    assert _grid_integral(proposal, 15.0) == pytest.approx(1.0, rel=0.01)


def test_truncated_normal_in_a_wide_box_is_the_normal():
    wide = WhitenedBoxUniform(CENTRE - 10.0, CENTRE + 10.0, CENTRE, np.eye(2))
    proposal = WhitenedBoxTruncatedNormal(wide, 1.5)
    torch.manual_seed(4)
    u = proposal.sample((20000,)).double().numpy()
    # standard deviation of 20000 normal draws: 0.5 % scatter
    np.testing.assert_allclose(u.std(0), 1.5, rtol=0.02)
    # its moments, for sbi's standardisation, from 1e5 draws: < 1 % error
    np.testing.assert_allclose(proposal.mean, 0.0, atol=0.02)
    np.testing.assert_allclose(proposal.variance, 1.5**2, rtol=0.02)
    value = float(proposal.log_prob(torch.zeros(2)))
    assert value == pytest.approx(-np.log(2 * np.pi * 1.5**2), rel=1e-6)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((HIGH, LOW, CENTRE, MATRIX), "below high"),
        ((LOW, HIGH, CENTRE[:1], MATRIX), "one length"),
        ((LOW, HIGH, CENTRE, np.eye(3)), r"shape \(2, 2\)"),
        ((LOW, HIGH, CENTRE, np.zeros((2, 2))), "invertible"),
        ((LOW, HIGH, [np.nan, 0.0], MATRIX), "finite"),
    ],
)
def test_bad_boxes_are_refused(arguments, message):
    with pytest.raises(ValueError, match=message):
        WhitenedBoxUniform(*arguments)


def test_bad_proposals_are_refused(box):
    with pytest.raises(ValueError, match="scale"):
        WhitenedBoxTruncatedNormal(box, 0.0)
    far = WhitenedBoxUniform(LOW, HIGH, HIGH + 50.0, MATRIX)
    with pytest.raises(ValueError, match="edge or corner"):
        WhitenedBoxTruncatedNormal(far, 1.0)
    with pytest.raises(ValueError, match="too large for the box"):
        WhitenedBoxTruncatedNormal(box, 1e6)
    with pytest.raises(ValueError, match="scale"):
        WhitenedBoxTruncatedNormal(box, True)
    assert WhitenedBoxTruncatedNormal(box, np.float32(3.0)).scale == 3.0


def test_log_prob_checks_shapes_and_returns_floats(box):
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 2\)"):
        box.log_prob(torch.zeros(3))
    value = box.log_prob(torch.zeros(2, dtype=torch.int64))
    assert value.dtype == torch.float32 and float(value) < 0
