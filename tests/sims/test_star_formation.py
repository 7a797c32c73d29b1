"""Tests of simfer.sims.galaxy: structure, sampling, coordinates, star formation."""

import astropy.units as u
import numpy as np
import pytest
from scipy import stats
from scipy.integrate import quad

from simfer.sims import galaxy as g
from simfer.sims import star_formation as sf

MW = g.MCMILLAN_2017
N = 200_000
# With a fixed seed each KS p-value is a fixed number; 1e-3 rejects a wrong
# distribution of this size (N = 2e5 resolves CDF differences of ~0.4%).
P_MIN = 1e-3


def test_same_seed_same_positions_and_ages():
    a = MW.sample("thin_disc", 1000, 5)
    b = MW.sample("thin_disc", 1000, np.random.default_rng(5))
    # an integer seed and a Generator built from it give identical streams
    np.testing.assert_array_equal(a.xyz, b.xyz)
    np.testing.assert_array_equal(a.l, b.l)
    ages_a = sf.MODEL_1.sample_ages("thin_disc", 1000, 9)
    ages_b = sf.MODEL_1.sample_ages("thin_disc", 1000, 9)
    np.testing.assert_array_equal(ages_a, ages_b)
    assert not np.array_equal(ages_a, sf.MODEL_1.sample_ages("thin_disc", 1000, 10))


def _sfh_cases():
    return [
        sf.ConstantSFH(10 * u.Gyr, 1e10 * u.Msun, age_min=2 * u.Gyr),
        sf.ExponentialSFH(10 * u.Gyr, 3 * u.Gyr, 1e10 * u.Msun),
        sf.ExponentialSFH(8 * u.Gyr, -2 * u.Gyr, 1e10 * u.Msun, age_min=1 * u.Gyr),
        sf.BurstSFH(
            [
                (1 * u.Gyr, 2 * u.Gyr, 1e9 * u.Msun),
                (1.5 * u.Gyr, 6 * u.Gyr, 3e9 * u.Msun),
                (9 * u.Gyr, 10 * u.Gyr, 2e9 * u.Msun),
            ]
        ),
        sf.TabulatedSFH([0, 2, 5, 10] * u.Gyr, [1, 3, 0, 2] * u.Msun / u.yr),
    ]


def test_named_models():
    for model in (sf.MODEL_1, sf.MODEL_2):
        for comp in MW.components:
            sfh = model.history(comp.name)
            # mass formed = present mass of the component (documented convention)
            formed = sfh.total_mass.to_value(u.Msun)
            assert formed == pytest.approx(
                comp.stellar_mass.to_value(u.Msun), rel=1e-12
            )
            # star formation stays inside the component's cited age range
            lo, hi = sfh.age_limits.to_value(u.Gyr)
            c_lo, c_hi = comp.age_range.to_value(u.Gyr)
            assert c_lo - 1e-12 <= lo and hi <= c_hi + 1e-12
    thin1, thin2 = sf.MODEL_1.history("thin_disc"), sf.MODEL_2.history("thin_disc")
    now = 0 * u.Gyr
    # Model 1 falls by a factor 10 from onset to today (Just & Jahreiss 2010)
    ratio = thin1.rate(10 * u.Gyr) / thin1.rate(now)
    assert ratio.to_value(u.one) == pytest.approx(10.0, rel=1e-12)
    # Model 2 is constant: M / 10 Gyr = 3.52 Msun/yr
    assert thin2.rate(now).to_value(u.Msun / u.yr) == pytest.approx(3.516, rel=1e-3)
    assert thin2.rate(now) > 3 * thin1.rate(now)


def test_bad_parameters_raise():
    with pytest.raises(ValueError, match="scale_length"):
        g.ExponentialDisc(
            "d",
            0.02,
            [0, 1] * u.Gyr,
            surface_density=1 * u.Msun / u.pc**2,
            scale_length=-1 * u.kpc,
            scale_height=0.3 * u.kpc,
        )
    with pytest.raises(TypeError, match="surface_density"):
        g.ExponentialDisc(
            "d",
            0.02,
            [0, 1] * u.Gyr,
            surface_density=1 * u.Msun,
            scale_length=1 * u.kpc,
            scale_height=0.3 * u.kpc,
        )
    with pytest.raises(ValueError, match="metallicity"):
        g.ExponentialDisc(
            "d",
            0.5,
            [0, 1] * u.Gyr,
            surface_density=1 * u.Msun / u.pc**2,
            scale_length=1 * u.kpc,
            scale_height=0.3 * u.kpc,
        )
    with pytest.raises(ValueError, match="axis_ratio"):
        g.TruncatedSpheroid(
            "b",
            0.02,
            [0, 1] * u.Gyr,
            central_density=1 * u.Msun / u.pc**3,
            scale_radius=0.1 * u.kpc,
            cutoff_radius=2 * u.kpc,
            alpha=1.8,
            axis_ratio=1.5,
        )
    with pytest.raises(ValueError, match="total_mass"):
        sf.ConstantSFH(10 * u.Gyr, 0 * u.Msun)
    with pytest.raises(ValueError, match="timescale"):
        sf.ExponentialSFH(10 * u.Gyr, 0 * u.Gyr, 1 * u.Msun)
    with pytest.raises(ValueError, match="age_min < age_max"):
        sf.ConstantSFH(1 * u.Gyr, 1 * u.Msun, age_min=2 * u.Gyr)
    with pytest.raises(ValueError, match="increasing"):
        sf.TabulatedSFH([0, 2, 1] * u.Gyr, [1, 1, 1] * u.Msun / u.yr)
    with pytest.raises(ValueError, match="no component"):
        MW.component("halo")
    with pytest.raises(ValueError, match="no history"):
        sf.MODEL_1.history("halo")
    with pytest.raises(TypeError, match="rng"):
        MW.sample("bulge", 10, None)
    with pytest.raises(ValueError, match="n must"):
        MW.sample("bulge", -1, 1)
    with pytest.raises(ValueError, match="shape"):
        g.sky_positions(np.zeros(3) * u.kpc)


@pytest.mark.parametrize("sfh", _sfh_cases(), ids=lambda s: type(s).__name__)
def test_sfh_sampler_reproduces_its_rate(sfh):
    ages = sfh.sample_ages(N, 3)
    lo, hi = sfh.age_limits
    assert ages.min() >= lo and ages.max() <= hi
    # KS against the class's own CDF ...
    assert stats.kstest(ages.value, lambda a: sfh.cdf(a * u.Gyr)).pvalue > P_MIN

    # ... and that CDF against the quadrature of rate(t): it is the integral of
    # the rate divided by the mass formed (quad rtol 1e-10)
    def formed(age):
        val = quad(lambda a: sfh.rate(a * u.Gyr).to_value(u.Msun / u.Gyr), 0, age)
        return val[0]

    probes = np.linspace(lo.value, hi.value, 7)
    cdf = sfh.cdf(probes * u.Gyr)
    direct = [formed(a) / sfh.total_mass.to_value(u.Msun) for a in probes]
    np.testing.assert_allclose(cdf, direct, atol=1e-8)
    # histogram chi-square with 20 equal-mass bins: chi2(19) < 43.8 at p = 1e-3
    edges = np.interp(
        np.linspace(0, 1, 21),
        sfh.cdf(np.linspace(lo, hi, 4001)),
        np.linspace(lo, hi, 4001).value,
    )
    counts = np.histogram(ages.value, edges)[0]
    assert np.sum((counts - N / 20) ** 2 / (N / 20)) < 43.8
