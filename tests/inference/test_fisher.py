"""Tests of the Fisher-matrix forecasts for galactic binaries."""

import dataclasses

import astropy.units as u
import jax.numpy as jnp
import numpy as np
import pytest

from simfer.inference.fisher import (
    FisherResult,
    IllConditionedFisherWarning,
    fisher_galactic_binaries,
    fisher_galactic_binary,
    fisher_matrix,
    invert_fisher,
    observation_grid,
)
from simfer.inference.snr import snr_averaged, snr_per_source
from simfer.sims.detectors import get_detector
from simfer.sims.galactic_binaries import GalacticBinary, slow_signal

YEAR = 365.25 * 86400.0


def _source(**overrides):
    values = dict(
        chirp_mass=0.3 * u.Msun,
        frequency=3e-3 * u.Hz,
        distance=3 * u.kpc,
        cos_inclination=0.3,
        polarisation=1.0,
        ecliptic_latitude=0.4,
        ecliptic_longitude=4.0,
        initial_phase=0.5,
    )
    values.update(overrides)
    return GalacticBinary.from_physical(**values)


@pytest.fixture(scope="module")
def lisa():
    return get_detector("LISA")


@pytest.fixture(scope="module")
def tianqin():
    return get_detector("TianQin")


def test_sinusoid_errors_match_the_analytic_scaling():
    # Constant-amplitude sinusoid, no modulation or Doppler, (phi0, f, fdot) free:
    # sigma_f = sqrt(3)/(pi T rho), sigma_fdot = sqrt(180)/(pi T^2 rho) with f at
    # mid-observation (Takahashi & Seto 2002; Cutler 1998).
    t_obs = 2 * YEAR
    times, weights = observation_grid(t_obs)
    amplitude, psd, f_c = 1e-21, 1e-40, 5e-3

    def model(theta):
        phi0, f, fdot = theta
        phase = phi0 + 2 * jnp.pi * (f - f_c) * times + jnp.pi * fdot * times**2
        return (amplitude * jnp.exp(1j * phase))[None, :]

    fisher, snr2 = fisher_matrix(model, [0.3, f_c, 1e-17], weights, psd)
    covariance, condition = invert_fisher(fisher)
    rho = np.sqrt(snr2)
    # rho^2 = A^2 T / P for one channel (module notes): exact sum of weights
    assert snr2 == pytest.approx(amplitude**2 * t_obs / psd, rel=1e-12)
    sigma_f, sigma_fdot = np.sqrt(np.diag(covariance))[1:]
    # brief: within 2 %; the mid-point rule is accurate to ~1e-6 here
    assert sigma_f == pytest.approx(np.sqrt(3) / (np.pi * t_obs * rho), rel=0.02)
    assert sigma_fdot == pytest.approx(
        np.sqrt(180) / (np.pi * t_obs**2 * rho), rel=0.02
    )
    assert sigma_f == pytest.approx(np.sqrt(3) / (np.pi * t_obs * rho), rel=1e-5)
    assert condition < 10  # (phi0, fdot) correlation sqrt(5)/3 only


def test_full_parameter_set_inflates_frequency_errors(lisa):
    src = _source()
    full = fisher_galactic_binary(src, lisa)
    minimal = fisher_galactic_binary(src, lisa, free=("phi0", "f", "fdot"))
    growth_f = full.errors["frequency"] / minimal.errors["frequency"]
    growth_fdot = full.errors["fdot"] / minimal.errors["fdot"]
    # Marginalising over more parameters can only inflate errors (Schur complement);
    # measured 1.0196 (f) and 1.0020 (fdot) for this source: over a 4 yr mission the
    # yearly Doppler and antenna modulation barely correlate with (f, fdot)
    # (Takahashi & Seto 2002).
    assert growth_f >= 1.0
    assert growth_fdot >= 1.0
    assert growth_f == pytest.approx(1.0196, abs=2e-3)
    assert growth_fdot == pytest.approx(1.0020, abs=1e-3)
    # the modulated minimal case stays near the pure-sinusoid value (2 % at SNR 44)
    ideal_f = np.sqrt(3) / (np.pi * lisa.t_obs * full.snr)
    assert minimal.errors["frequency"] / ideal_f == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize("detector_name", ["LISA", "TianQin"])
def test_inner_product_equals_snr_per_source_squared(detector_name):
    detector = get_detector(detector_name)
    rng = np.random.default_rng(11)
    n = 4
    mc = rng.uniform(0.2, 0.8, n) * u.Msun
    f = 10 ** rng.uniform(-3, -1.7, n) * u.Hz
    dist = rng.uniform(1, 10, n) * u.kpc
    lat = np.arcsin(rng.uniform(-1, 1, n))
    lon = rng.uniform(0, 2 * np.pi, n)
    cos_i = rng.uniform(-1, 1, n)
    psi = rng.uniform(0, np.pi, n)
    src = GalacticBinary.from_physical(
        mc,
        f,
        dist,
        cos_inclination=cos_i,
        polarisation=psi,
        ecliptic_latitude=lat,
        ecliptic_longitude=lon,
        fdot=np.zeros(n),
    )
    table = fisher_galactic_binaries(src, detector, free=("lnA", "f", "phi0"))
    expected = snr_per_source(mc, f, dist, detector, lat, lon, cos_i, psi, fdot=0.0)
    # brief: within 1 %; measured <= 2.2e-5 for LISA (4 Julian yr are not whole
    # sidereal orbits, while the factor is the exact orbit average) and ~1e-14 for
    # TianQin (its channel sum is time independent)
    np.testing.assert_allclose(table["snr"] ** 2, expected**2, rtol=1e-2)
    np.testing.assert_allclose(table["snr"] ** 2, expected**2, rtol=1e-4)


@pytest.mark.parametrize("detector_name", ["LISA", "TianQin"])
def test_isotropic_mean_of_inner_product_is_averaged_snr_squared(detector_name):
    # End to end, without the analytic factor: (h|h) of the time-domain model over
    # an isotropic population must average to snr_averaged^2 (the known pitfall of
    # per-source SNR codes is a normalisation off by a factor of several).
    detector = get_detector(detector_name)
    rng = np.random.default_rng(99)
    n = 3000
    src = GalacticBinary.from_physical(
        0.4 * u.Msun,
        4e-3 * u.Hz,
        2 * u.kpc,
        cos_inclination=rng.uniform(-1, 1, n),
        polarisation=rng.uniform(0, np.pi, n),
        ecliptic_latitude=np.arcsin(rng.uniform(-1, 1, n)),
        ecliptic_longitude=rng.uniform(0, 2 * np.pi, n),
        fdot=0.0,
    )
    table = fisher_galactic_binaries(src, detector, free=("lnA",), chunk_size=512)
    ratio = (
        np.asarray(table["snr"]) ** 2
        / snr_averaged(0.4 * u.Msun, 4e-3 * u.Hz, 2 * u.kpc, detector, fdot=0.0) ** 2
    )
    standard_error = ratio.std() / np.sqrt(n)
    # Monte Carlo over 3000 sources: standard error ~0.012 (LISA), ~0.018
    # (TianQin); allow 4 sigma
    assert abs(ratio.mean() - 1.0) < 4 * standard_error


@pytest.mark.parametrize("detector_name", ["LISA", "TianQin"])
def test_errors_scale_inversely_with_snr(detector_name):
    detector = get_detector(detector_name)
    near = fisher_galactic_binary(_source(distance=2 * u.kpc), detector)
    far = fisher_galactic_binary(_source(distance=4 * u.kpc), detector)
    # linear-signal Fisher: F ~ A^2 ~ 1/D^2, errors ~ D; exact up to rounding
    assert far.snr == pytest.approx(near.snr / 2, rel=1e-12)
    for name, sigma in near.errors.items():
        assert far.errors[name] == pytest.approx(2 * sigma, rel=1e-9), name
    assert far.condition_number == pytest.approx(near.condition_number, rel=1e-8)
    assert far.relative_chirp_mass_error == pytest.approx(
        2 * near.relative_chirp_mass_error, rel=1e-9
    )


@pytest.mark.parametrize("detector_name", ["LISA", "TianQin"])
def test_quadrature_is_converged(detector_name):
    detector = get_detector(detector_name)
    src = _source(frequency=1.5e-2 * u.Hz)  # large Doppler derivatives
    default = fisher_galactic_binary(src, detector)
    fine = fisher_galactic_binary(src, detector, nodes_per_segment=64)
    for name, sigma in default.errors.items():
        # module notes: 16 nodes per 3-month segment are converged (measured 1e-14)
        assert sigma == pytest.approx(fine.errors[name], rel=1e-10), name


def test_quadrature_matches_a_dense_uniform_grid(lisa):
    # Independent route: the generic fisher_matrix on 4096 uniform mid-points,
    # channel PSD (3/10) S_n, against the vectorised Gauss-Legendre kernel.
    src = _source(frequency=1.5e-2 * u.Hz)
    theta = jnp.asarray(src.parameter_vector())
    edges = np.linspace(-0.5 * lisa.t_obs, 0.5 * lisa.t_obs, 4097)
    times = 0.5 * (edges[1:] + edges[:-1])
    psd = 0.3 * float(lisa.psd(src.frequency))
    fisher, snr2 = fisher_matrix(
        lambda x: slow_signal(x, times, lisa, theta[1]),
        theta,
        np.diff(edges),
        psd,
    )
    dense = np.sqrt(np.diag(invert_fisher(fisher)[0]))
    result = fisher_galactic_binary(src, lisa)
    # mid-point rule error ~ (dt/yr)^2 ~ 1e-6 at 4096 points (measured 3e-7)
    np.testing.assert_allclose(dense, list(result.errors.values()), rtol=3e-6)
    assert np.sqrt(snr2) == pytest.approx(result.snr, rel=1e-9)


def test_source_at_ecliptic_pole_warns(lisa):
    # At the pole the longitude only rotates the polarisation basis: degenerate
    # with psi, the Fisher matrix is singular.
    src = _source(ecliptic_latitude=np.pi / 2)
    with pytest.warns(IllConditionedFisherWarning, match="ill-conditioned"):
        result = fisher_galactic_binary(src, lisa)
    assert result.condition_number > 1e10
    assert result.ill_conditioned


def test_very_short_observation_warns():
    # Ten minutes: the Doppler and antenna modulations are nearly linear in t, so
    # the sky angles, f and fdot become degenerate (condition number ~1e10 at 1 h,
    # ~1e7 at 1 d, ~2e4 at 30 d for this source).
    detector = get_detector("LISA", t_obs=10 * u.min, confusion=None)
    with pytest.warns(IllConditionedFisherWarning):
        result = fisher_galactic_binary(_source(), detector)
    assert result.condition_number > 1e10


def test_well_conditioned_source_does_not_warn(lisa):
    result = fisher_galactic_binary(_source(), lisa)  # warnings are errors in tests
    assert result.condition_number < 1e4  # measured ~20
    assert not result.ill_conditioned


def test_chirp_mass_error_follows_fdot_error(lisa):
    result = fisher_galactic_binary(_source(), lisa)
    fdot = _source().fdot
    # ln Mc = (3/5) ln fdot - (11/5) ln f: f is known to ~1e-9 relative, so
    # sigma_Mc/Mc = (3/5) sigma_fdot/fdot to better than 1e-6
    assert result.relative_chirp_mass_error == pytest.approx(
        0.6 * result.errors["fdot"] / fdot, rel=1e-6
    )
    # ln D = ln fdot - 3 ln f - ln A: both terms matter, so only a range check
    assert result.relative_distance_error > result.errors["ln_amplitude"] * 0.5

    fixed_fdot = fisher_galactic_binary(_source(), lisa, free=("lnA", "f", "phi0"))
    assert np.isnan(fixed_fdot.relative_chirp_mass_error)


def test_batch_matches_single_source(tianqin):
    sources = _source(
        frequency=np.array([2e-3, 8e-3]) * u.Hz, distance=np.array([1.0, 5.0]) * u.kpc
    )
    table = fisher_galactic_binaries(sources, tianqin, chunk_size=1)
    for row in range(2):
        single = fisher_galactic_binary(
            GalacticBinary(*(v[row] for v in np.broadcast_arrays(*sources))), tianqin
        )
        # same kernel, same numbers
        assert table["sigma_f"][row].to_value(u.Hz) == pytest.approx(
            single.errors["frequency"], rel=1e-10
        )
        assert table["sky_area"][row].to_value(u.sr) == pytest.approx(
            single.sky_area, rel=1e-8
        )
    assert table["sigma_fdot"].unit == u.Hz / u.s
    assert set(table.colnames) >= {
        "sigma_lnA",
        "sigma_cos_i",
        "sigma_psi",
        "sigma_beta",
        "sigma_lambda",
        "sigma_Mc_over_Mc",
        "sigma_D_over_D",
        "condition_number",
    }


def test_tianqin_duty_cycle_halves_snr_squared():
    continuous = get_detector("TianQin", observing_scheme="continuous")
    on_off = get_detector("TianQin")
    full = fisher_galactic_binary(_source(), continuous, free=("lnA",))
    half = fisher_galactic_binary(_source(), on_off, free=("lnA",))
    # time-independent TianQin channel sum: SNR^2 scales with time on source exactly
    assert half.snr**2 == pytest.approx(0.5 * full.snr**2, rel=1e-12)


def test_observation_grid_windows():
    t_obs = 5 * YEAR
    times, weights = observation_grid(t_obs, 0.5, 16)
    # 10 complete 3-month-on / 3-month-off cycles: exactly half the time on source
    assert weights.sum() == pytest.approx(0.5 * t_obs, rel=1e-12)
    assert times.size == 10 * 16  # one segment per window
    phase = (times + t_obs / 2) % (0.5 * YEAR)
    assert np.all(phase < 0.25 * YEAR)  # every node inside an observing window

    times, weights = observation_grid(4 * YEAR)
    assert times.size == 16 * 16  # 3-month segments
    assert weights.sum() == pytest.approx(4 * YEAR, rel=1e-12)  # exact quadrature
    with pytest.raises(ValueError, match="duty_cycle"):
        observation_grid(t_obs, 0.0)
    with pytest.raises(ValueError, match="nodes_per_segment"):
        observation_grid(t_obs, 1.0, 2)


def test_bad_free_parameters_raise(lisa):
    with pytest.raises(ValueError, match="unknown parameter"):
        fisher_galactic_binary(_source(), lisa, free=("mass",))
    with pytest.raises(TypeError, match="sequence"):
        fisher_galactic_binary(_source(), lisa, free="f")


def test_result_is_frozen(lisa):
    result = fisher_galactic_binary(_source(), lisa, free=("f", "phi0"))
    assert isinstance(result, FisherResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.snr = 0.0
