"""Tests of simfer.sims.detectors: published sensitivity formulas and validation."""

import dataclasses
import math

import astropy.units as u
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simfer.sims.detectors import (
    DETECTOR_NAMES,
    YEAR,
    ConfusionFitRangeWarning,
    Detector,
    UnknownDetectorError,
    get_detector,
)

FREQUENCIES = np.array([1e-4, 1e-3, 1e-2])  # Hz

# Reference values in 1/Hz at FREQUENCIES, evaluated once from the published
# formulas with mpmath at 30 significant digits (independently of simfer's code):
# Robson et al. 2019 eqs. (1)-(3) and (14) with Table 1; Karnesis et al. 2021
# eqs. (6)-(7), Table II (6 links, SNR 7, running median); Huang et al. 2020
# eq. (13) times 10/3 and Table II. t_obs in Julian years.
LISA_INSTRUMENT = [
    2.1134953642689264e-33,
    1.636064126084727e-38,
    1.4493594614037133e-40,
]
KARNESIS_4YR = [2.4332218574562167e-35, 6.5358694397108469e-38, 1.9843296546011604e-58]
KARNESIS_1YR = [2.4525550088706235e-35, 7.9671103112499466e-38, 1.5522678448435568e-54]
ROBSON_4YR = [2.8368639136664579e-35, 6.6624142239622437e-38, 3.907837640707282e-52]
ROBSON_1YR = [3.1589974057235199e-35, 1.6635156799950636e-37, 2.4090738079134887e-52]
TIANQIN_INSTRUMENT = [
    5.7033240368758332e-33,
    3.1379638327543357e-37,
    1.4002351846026942e-40,
]
HUANG_5YR = [2.5118864315095801e-100, 6.3095734448019325e-38, 4.3651583224016597e-58]


def test_lisa_instrument_matches_robson2019():
    detector = get_detector("LISA", confusion=None)
    # 1e-6: the brief's tolerance; float64 evaluation reaches ~1e-15
    np.testing.assert_allclose(
        np.asarray(detector.psd(FREQUENCIES)), LISA_INSTRUMENT, rtol=1e-6
    )
    # no confusion fit means the confusion part is exactly zero
    np.testing.assert_array_equal(np.asarray(detector.psd_confusion(FREQUENCIES)), 0)


@pytest.mark.parametrize(
    ("confusion", "years", "expected"),
    [
        ("karnesis2021", 4.0, KARNESIS_4YR),
        ("karnesis2021", 1.0, KARNESIS_1YR),
        ("robson2019", 4.0, ROBSON_4YR),
        ("robson2019", 1.0, ROBSON_1YR),
    ],
)
def test_lisa_confusion_matches_published_fits(confusion, years, expected):
    detector = get_detector("LISA", t_obs=years * u.yr, confusion=confusion)
    # 1e-6: the brief's tolerance (the cut-off factor is evaluated without
    # cancellation, so even the 1e-58 values at 10 mHz agree to ~1e-13)
    np.testing.assert_allclose(
        np.asarray(detector.psd_confusion(FREQUENCIES)), expected, rtol=1e-6
    )
    total = np.asarray(LISA_INSTRUMENT) + np.asarray(expected)
    # total = instrument + confusion, same tolerance
    np.testing.assert_allclose(np.asarray(detector.psd(FREQUENCIES)), total, rtol=1e-6)


def test_tianqin_matches_huang2020_with_ten_thirds():
    instrument_only = get_detector("TianQin", confusion=None)
    # 1e-6: the brief's tolerance
    np.testing.assert_allclose(
        np.asarray(instrument_only.psd(FREQUENCIES)), TIANQIN_INSTRUMENT, rtol=1e-6
    )
    detector = get_detector("TianQin")
    # 1e-6: the brief's tolerance
    np.testing.assert_allclose(
        np.asarray(detector.psd_confusion(FREQUENCIES)), HUANG_5YR, rtol=1e-6
    )
    # outside the fitted band 0.1 mHz - 1 Hz Huang et al. give no foreground
    np.testing.assert_array_equal(np.asarray(detector.psd_confusion([5e-5, 2.0])), 0)


def test_defaults():
    lisa = get_detector("LISA")
    tianqin = get_detector("TianQin")
    assert (lisa.confusion, tianqin.confusion) == ("karnesis2021", "huang2020")
    assert (lisa.duty_cycle, tianqin.duty_cycle) == (1.0, 0.5)
    # 4 yr and 5 yr missions in seconds, exact up to float rounding
    assert lisa.t_obs == pytest.approx(4 * YEAR, rel=1e-15)
    assert tianqin.t_obs == pytest.approx(5 * YEAR, rel=1e-15)
    assert tianqin.effective_t_obs == pytest.approx(2.5 * YEAR, rel=1e-15)
    # arm lengths of the brief: 2.5e9 m and sqrt(3) * 1e8 m
    assert lisa.arm_length == 2.5e9
    assert tianqin.arm_length == pytest.approx(math.sqrt(3) * 1e8, rel=1e-15)
    # f* = c / (2 pi L): 19.09 mHz for LISA (Robson et al. 2019)
    assert lisa.f_star == pytest.approx(19.09e-3, rel=1e-3)
    continuous = get_detector("TianQin", observing_scheme="continuous")
    assert continuous.duty_cycle == 1.0


def test_names_are_case_insensitive_and_t_obs_accepts_seconds():
    assert get_detector("lisa") == get_detector("LISA")
    assert get_detector(" TIANQIN ").name == "TianQin"
    assert DETECTOR_NAMES == ("LISA", "TianQin")
    assert get_detector("LISA", t_obs=2 * YEAR) == get_detector("LISA", t_obs=2 * u.yr)


def test_detector_is_hashable_frozen_and_jit_static():
    detector = get_detector("LISA")
    assert hash(detector) == hash(get_detector("LISA"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        detector.t_obs = 1.0

    psd = jax.jit(lambda f, det: det.psd(f), static_argnums=1)
    f = jnp.asarray(FREQUENCIES)
    # jitted == eager to rounding
    np.testing.assert_allclose(
        np.asarray(psd(f, detector)), np.asarray(detector.psd(f)), rtol=1e-13
    )


def test_characteristic_strain_and_table():
    detector = get_detector("TianQin")
    # definition sqrt(f S_n), to rounding
    np.testing.assert_allclose(
        np.asarray(detector.characteristic_strain(FREQUENCIES)),
        np.sqrt(FREQUENCIES * np.asarray(detector.psd(FREQUENCIES))),
        rtol=1e-14,
    )
    table = detector.sensitivity_table(f_min=1e-4, f_max=1e-1, n=50)
    assert len(table) == 50
    assert table["frequency"].unit == u.Hz
    assert table["psd"].unit == 1 / u.Hz
    assert table["asd"].unit == u.Hz**-0.5
    # end points of the log grid, to rounding
    assert table["frequency"][0].to_value(u.Hz) == pytest.approx(1e-4, rel=1e-12)
    assert table["frequency"][-1].to_value(u.Hz) == pytest.approx(1e-1, rel=1e-12)
    # columns consistent with each other, to rounding
    np.testing.assert_allclose(
        table["psd"].value,
        table["psd_instrument"].value + table["psd_confusion"].value,
        rtol=1e-14,
    )
    assert table.meta["detector"] == "TianQin"


def test_unknown_name_lists_known_detectors():
    with pytest.raises(UnknownDetectorError, match="LISA, TianQin"):
        get_detector("Taiji")
    assert issubclass(UnknownDetectorError, ValueError)


@pytest.mark.parametrize("t_obs", [-1 * u.yr, 0.0, float("nan"), float("inf")])
def test_bad_t_obs(t_obs):
    with pytest.raises(ValueError, match="t_obs"):
        get_detector("LISA", t_obs=t_obs)


def test_bad_t_obs_type_and_unit():
    with pytest.raises(TypeError, match="t_obs"):
        get_detector("LISA", t_obs="4 yr")
    with pytest.raises(ValueError, match="t_obs"):
        get_detector("LISA", t_obs=4 * u.m)


@pytest.mark.parametrize(
    ("name", "confusion"),
    [("LISA", "karnesis2022"), ("LISA", "huang2020"), ("TianQin", "robson2019")],
)
def test_confusion_must_be_known_for_the_detector(name, confusion):
    with pytest.raises(ValueError, match="confusion"):
        get_detector(name, confusion=confusion)


def test_bad_observing_scheme():
    with pytest.raises(ValueError, match="observing_scheme"):
        get_detector("TianQin", observing_scheme="sometimes")
    with pytest.raises(ValueError, match="observing_scheme"):
        get_detector("LISA", observing_scheme="three_months_on_off")


def test_bad_direct_construction():
    with pytest.raises(ValueError, match="duty_cycle"):
        Detector("LISA", 2.5e9, 4 * YEAR, None, duty_cycle=0.0)
    with pytest.raises(ValueError, match="arm_length"):
        Detector("LISA", -1.0, 4 * YEAR, None)
    with pytest.raises(UnknownDetectorError):
        Detector("lisa", 2.5e9, 4 * YEAR, None)


def test_confusion_fit_outside_its_durations_warns():
    with pytest.warns(ConfusionFitRangeWarning, match="karnesis2021"):
        get_detector("LISA", t_obs=20 * u.yr)
    with pytest.warns(ConfusionFitRangeWarning, match="robson2019"):
        get_detector("LISA", t_obs=8 * u.yr, confusion="robson2019")
    with pytest.warns(ConfusionFitRangeWarning, match="1-yr huang2020"):
        get_detector("TianQin", t_obs=1 * u.yr)
    # no confusion fit, nothing to warn about
    get_detector("LISA", t_obs=20 * u.yr, confusion=None)
