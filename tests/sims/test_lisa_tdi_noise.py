"""Tests of the LISA TDI A, E, T noise PSDs and noise realisations."""

from __future__ import annotations

import math

import astropy.units as u
import numpy as np
import pytest

from simfer.sims.detectors import get_detector
from simfer.sims.lisa_tdi_noise import (
    LisaTdiNoise,
    frequency_grid,
    gaussian_noise_fd,
    noise_weighted_inner_product,
    single_link_psds,
    snr,
)

C = 299_792_458.0
L = 2.5e9
YEAR = 365.25 * 86_400.0


def _babak2021_reference(f: float) -> tuple[float, float]:
    """S_A and S_T written out from Babak, Hewitson & Petiteau (2021), scalar math."""
    s_acc = (
        (3e-15) ** 2
        * (1 + (0.4e-3 / f) ** 2)
        * (1 + (f / 8e-3) ** 4)
        / (2 * math.pi * f) ** 4
        * (2 * math.pi * f / C) ** 2
    )
    s_oms = (15e-12) ** 2 * (1 + (2e-3 / f) ** 4) * (2 * math.pi * f / C) ** 2
    x = 2 * math.pi * f * L / C
    s_a = (
        8
        * math.sin(x) ** 2
        * (
            (2 + math.cos(x)) * s_oms
            + 2 * (3 + 2 * math.cos(x) + math.cos(2 * x)) * s_acc
        )
    )
    s_t = (
        32
        * math.sin(x) ** 2
        * math.sin(x / 2) ** 2
        * (s_oms + 4 * math.sin(x / 2) ** 2 * s_acc)
    )
    return s_a, s_t


@pytest.mark.parametrize("f", [1e-4, 3e-3, 3e-2])
def test_psd_matches_published_formulas(f: float) -> None:
    s_a, s_t = _babak2021_reference(f)
    psd = LisaTdiNoise().psd([f])[:, 0]
    # Same closed form evaluated independently; only rounding differs.
    np.testing.assert_allclose(psd, [s_a, s_a, s_t], rtol=1e-12)


@pytest.mark.parametrize(
    ("generation", "tdi"), [(1, "TDIAET"), (2, "TDI2AET")], ids=["tdi1", "tdi2"]
)
@pytest.mark.parametrize("rescaled", [False, True])
def test_matches_lisabeta_scirdv1(generation: int, tdi: str, rescaled: bool) -> None:
    lisanoise = pytest.importorskip("lisabeta.lisa.pyLISAnoise")
    f = np.geomspace(1e-5, 0.5, 400)
    model = lisanoise.LISAnoiseSciRDv1 | {"WDbackground": False}
    reference = lisanoise.LISANoisePSDFunction3Chan(
        model, TDI=tdi, TDIrescaled=rescaled
    ).apply(f)[:, 1:]
    ours = LisaTdiNoise(generation=generation, rescaled=rescaled).psd(f)
    # Identical formulas (lisabeta 'SciRDv1', L = 2.5e9 m, same c); measured
    # <= 8e-13, from rounding of sin x near its zeros at f = k c / 2L.
    np.testing.assert_allclose(ours, reference.T, rtol=1e-10)


def test_low_frequency_asymptotes() -> None:
    f = np.array([1e-5, 3e-5])
    x = 2 * np.pi * f * L / C
    s_acc, s_oms = single_link_psds(f)
    psd = LisaTdiNoise().psd(f)
    # Leading terms of the series in x; next order is O(x^2) <= 2.5e-6 here.
    np.testing.assert_allclose(psd[0], 24 * x**2 * (s_oms + 4 * s_acc), rtol=1e-5)
    np.testing.assert_allclose(psd[2], 8 * x**4 * (s_oms + x**2 * s_acc), rtol=1e-5)


@pytest.mark.parametrize("f", [1e-5, 1e-4, 1e-3])
def test_t_channel_suppressed_at_low_frequency(f: float) -> None:
    x = 2 * np.pi * f * L / C
    s_acc, s_oms = (v[0] for v in single_link_psds([f]))
    psd = LisaTdiNoise().psd([f])[:, 0]
    ratio = psd[2] / psd[0]
    expected = x**2 * (s_oms + x**2 * s_acc) / (3 * (s_oms + 4 * s_acc))
    # S_T / S_A = x^2 (S_oms + x^2 S_acc) / (3 (S_oms + 4 S_acc)) (1 + O(x^2)),
    # x^2 <= 2.7e-3 at 1 mHz, so 2 % covers the neglected order.
    np.testing.assert_allclose(ratio, expected, rtol=2e-2)
    assert ratio < x**2 / 3


def test_high_frequency_asymptote() -> None:
    # Average of S/f^2 over 10 full periods (Delta f = c / L) of the trig factors:
    # <S_A> = <S_T> = 8 S_oms + 20 S_acc, both growing as f^2 above 8 mHz.
    period = C / L
    f = 2.0 + np.linspace(0.0, 10 * period, 20_000, endpoint=False)
    psd = LisaTdiNoise().psd(f)
    expected = (2 * np.pi / C) ** 2 * (
        8 * (15e-12) ** 2 + 20 * (3e-15) ** 2 / ((2 * np.pi) ** 4 * (8e-3) ** 4)
    )
    # Uniform sampling of whole periods averages trig polynomials exactly; the
    # dropped corner factors are (8 mHz / f)^4 < 3e-10.
    np.testing.assert_allclose((psd / f**2).mean(axis=1), expected, rtol=1e-7)


def test_second_generation_and_rescaling_factors() -> None:
    f = np.geomspace(1e-4, 0.2, 50)
    x = 2 * np.pi * f * L / C
    first = LisaTdiNoise().psd(f)
    second = LisaTdiNoise(generation=2).psd(f)
    rescaled = LisaTdiNoise(rescaled=True).psd(f)
    # Exact algebraic factors: only rounding.
    np.testing.assert_allclose(second, 4 * np.sin(2 * x) ** 2 * first, rtol=1e-12)
    np.testing.assert_allclose(first[0], 2 * np.sin(x) ** 2 * rescaled[0], rtol=1e-12)
    np.testing.assert_allclose(
        first[2], 8 * np.sin(x) ** 2 * np.sin(x / 2) ** 2 * rescaled[2], rtol=1e-12
    )
    # Rescaled PSDs do not depend on the generation (lisabeta convention).
    np.testing.assert_array_equal(
        LisaTdiNoise(generation=2, rescaled=True).psd(f), rescaled
    )


@pytest.mark.parametrize("model", ["karnesis2021", "robson2019"])
def test_confusion_foreground_in_a_and_e(model: str) -> None:
    f = np.geomspace(1e-4, 1e-2, 30)
    x = 2 * np.pi * f * L / C
    t_obs = 4 * YEAR
    with_gal = LisaTdiNoise(confusion=model, t_obs=t_obs).psd(f)
    without = LisaTdiNoise().psd(f)
    s_c = np.asarray(
        get_detector("LISA", t_obs=t_obs, confusion=model).psd_confusion(f)
    )
    r_a = 3.6 * x**2 * np.sin(x) ** 2 / (1 + 0.6 * x**2)
    # S_A = S_A^inst + 2 R_A S_c exactly as documented; rounding only (compared
    # as totals: above the knee the foreground is below the instrument's ulp).
    np.testing.assert_allclose(with_gal[0], without[0] + 2 * r_a * s_c, rtol=1e-12)
    # Measured S_A(with)/S_A(without) = 3.7-5.6 in this band (both fits).
    band = (f > 7e-4) & (f < 1.5e-3)
    assert np.all(with_gal[0, band] > 2 * without[0, band])
    np.testing.assert_array_equal(with_gal[0], with_gal[1])
    np.testing.assert_array_equal(with_gal[2], without[2])


@pytest.mark.parametrize("f", [1e-4, 3e-4, 1e-3])
def test_sky_averaged_sensitivity_matches_detectors(f: float) -> None:
    # S_A / (2 R_A), instrument plus foreground, is Robson et al.'s S_n(f).
    x = 2 * np.pi * f * L / C
    r_a = 3.6 * x**2 * np.sin(x) ** 2 / (1 + 0.6 * x**2)
    s_a = LisaTdiNoise(confusion="karnesis2021", t_obs=4 * u.yr).psd([f])[0, 0]
    s_n = float(get_detector("LISA", t_obs=4 * u.yr).psd(f))
    # Robson's eq. (1) keeps only the leading cos terms: relative O(x^2 / 2),
    # x^2 / 2 <= 1.4e-3 at 1 mHz.
    np.testing.assert_allclose(s_a / (2 * r_a), s_n, rtol=3e-3)


def test_noise_realisation_statistics() -> None:
    duration = 2.0e4
    f = frequency_grid(duration, 1e-3, 5e-3)
    psd = LisaTdiNoise().psd(f)
    n_real = 400
    noise = gaussian_noise_fd(
        np.broadcast_to(psd, (n_real, *psd.shape)), 1 / duration, 7
    )
    ratio = (2 / duration) * np.abs(noise) ** 2 / psd

    # Mean periodogram / PSD = 1. Each bin averages 400 Exp(1) draws: standard
    # error 0.05; 5 sigma over 3 x 80 bins has a false-alarm rate ~1e-4.
    per_bin = ratio.mean(axis=0)
    assert np.max(np.abs(per_bin - 1)) < 5 / math.sqrt(n_real)
    # Pooled over all bins: standard error 1/sqrt(96000) = 3.2e-3; 4 sigma.
    assert abs(ratio.mean() - 1) < 4 / math.sqrt(ratio.size)
    # Real and imaginary parts each carry S T / 4: 4 Re^2 / (S T) has mean 1 and
    # variance 2, so the difference of the two means has standard error
    # 2 / sqrt(N); 4 sigma.
    re = ((4 / duration) * noise.real**2 / psd).mean()
    im = ((4 / duration) * noise.imag**2 / psd).mean()
    assert abs(re - im) < 8 / math.sqrt(ratio.size)


def test_inner_product_normalisation_with_noise() -> None:
    # (n|h) has mean 0 and variance (h|h): checks <|n|^2> = S T / 2 against the
    # 4 Re sum / S df inner product.
    duration = 1.0e4
    df = 1 / duration
    f = frequency_grid(duration, 2e-3, 2e-2)
    psd = LisaTdiNoise().psd(f)
    h = 1e-20 * np.exp(2j * np.pi * f * 100.0) * np.sqrt(psd / psd.mean())
    hh = noise_weighted_inner_product(h, h, psd, df)
    noise = gaussian_noise_fd(np.broadcast_to(psd, (2000, *psd.shape)), df, 11)
    nh = noise_weighted_inner_product(noise, h, psd, df)
    # 2000 draws: the sample variance has relative standard error sqrt(2/2000)
    # = 3.2 %; 4 sigma. The mean has standard error sqrt(hh / 2000); 4 sigma.
    np.testing.assert_allclose(nh.var(axis=0), hh, rtol=0.13)
    assert np.all(np.abs(nh.mean(axis=0)) < 4 * np.sqrt(hh / 2000))
    # <(n|n)> = 2 per bin and channel: standard error sqrt(2 / (2000 n)).
    nn = noise_weighted_inner_product(noise, noise, psd, df).mean(axis=0)
    np.testing.assert_allclose(
        nn / (2 * f.size), 1.0, atol=4 / math.sqrt(2000 * f.size)
    )


def test_noise_realisation_is_deterministic() -> None:
    f = frequency_grid(1e4, 1e-3, 3e-3)
    noise = LisaTdiNoise()
    a = noise.noise_realisation(f, 42)
    b = noise.noise_realisation(f, np.random.default_rng(42))
    c = noise.noise_realisation(f, 43)
    assert a.shape == (3, f.size) and a.dtype == np.complex128
    np.testing.assert_array_equal(a, b)
    assert not np.any(a == c)


def test_snr_and_inner_product_numpy_and_jax_agree() -> None:
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    f = frequency_grid(1e4, 1e-3, 1e-2)
    psd = LisaTdiNoise().psd(f)
    h = np.stack([1e-21 * np.exp(1j * f * k) for k in (1.0, 2.0, 3.0)])
    df = 1e-4
    expected = math.sqrt(4 * df * np.sum(np.abs(h) ** 2 / psd))
    # Analytic sum written out; rounding only.
    assert snr(h, psd, df) == pytest.approx(expected, rel=1e-12)
    jitted = jax.jit(snr)(jnp.asarray(h), jnp.asarray(psd), df)
    # Same float64 arithmetic, summation order may differ.
    assert float(jitted) == pytest.approx(expected, rel=1e-12)


def test_frequency_grid() -> None:
    f = frequency_grid(100.0 * u.s, 0.0, 0.055)
    # Multiples k / T with k >= 1, exact in binary up to one rounding.
    np.testing.assert_allclose(f, np.arange(1, 6) / 100.0, rtol=1e-15)


@pytest.mark.parametrize("bad", [0.0, -1e-3, np.nan, np.inf])
def test_bad_frequencies_raise(bad: float) -> None:
    with pytest.raises(ValueError, match="frequencies"):
        LisaTdiNoise().psd([1e-3, bad])
    with pytest.raises(ValueError, match="frequencies"):
        single_link_psds(bad)


def test_bad_parameters_raise() -> None:
    with pytest.raises(ValueError, match="generation"):
        LisaTdiNoise(generation=3)
    with pytest.raises(ValueError, match="confusion"):
        LisaTdiNoise(confusion="huang2020")
    with pytest.raises(ValueError, match="t_obs"):
        LisaTdiNoise(t_obs=-1.0)
    with pytest.raises(ValueError, match="arm_length"):
        LisaTdiNoise(arm_length=float("nan"))
    with pytest.raises(TypeError, match="rng"):
        LisaTdiNoise().noise_realisation([1e-3, 2e-3], None)
    with pytest.raises(ValueError, match="frequencies"):
        LisaTdiNoise().noise_realisation([1e-3, 2e-3, 4e-3], 1)
    with pytest.raises(ValueError, match="psd"):
        gaussian_noise_fd([1.0, -1.0], 1.0, 1)
    with pytest.raises(ValueError, match="df"):
        gaussian_noise_fd([1.0], 0.0, 1)
    with pytest.raises(ValueError, match="f_min, f_max"):
        frequency_grid(10.0, 1e-3, 2e-3)
