"""Tests of simfer.sims.surveys: survey definitions and photometric errors."""

import dataclasses

import numpy as np
import pytest

from simfer.sims.surveys import GAIA, JULIAN_YEAR, RUBIN, Cadence, photometric_error


def test_photometric_errors_against_the_cited_formulae():
    m5 = dict(zip(RUBIN.bands, RUBIN.limiting_magnitude, strict=True))
    sigma = photometric_error(RUBIN, "r", [m5["r"], m5["r"] - 15])
    # Ivezic 2019 eq. 5: x = 1 at m5 -> sigma_rand^2 = 0.04, plus 0.005 floor
    assert sigma[0] == pytest.approx(np.hypot(0.2, 0.005), rel=1e-12)
    # bright end: x -> 1e-6, sigma -> the 0.005 mag systematic floor
    assert sigma[1] == pytest.approx(0.005, rel=1e-3)
    # gamma differs in u (0.038): sigma_rand^2 = 0.002 x + 0.038 x^2 at x = 2.512
    x = 10**0.4
    expected = np.sqrt(0.002 * x + 0.038 * x**2 + 0.005**2)
    assert photometric_error(RUBIN, 0, m5["u"] + 1) == pytest.approx(expected, 1e-12)

    floor = GAIA.errors.sigma_sys
    # Gaia per-transit, z = 1 at G = 15: 1.2e-3 sqrt(0.04895 + 1.8633 + 0.0001985)
    g15 = 1.2e-3 * np.sqrt(0.04895 + 1.8633 + 0.0001985)
    assert photometric_error(GAIA, "G", 15.0) == pytest.approx(np.hypot(g15, floor))
    # G = 20: z = 100 -> 31 mmag; bright floor: G = 8 as G = 12
    g20 = 1.2e-3 * np.sqrt(0.04895e4 + 1.8633e2 + 0.0001985)
    assert photometric_error(GAIA, 0, 20.0) == pytest.approx(np.hypot(g20, floor))
    assert photometric_error(GAIA, 0, 8.0) == photometric_error(GAIA, 0, 12.0)


def test_survey_definitions_reject_inconsistent_settings():
    with pytest.raises(ValueError, match="band"):
        photometric_error(RUBIN, "V", 20.0)
    with pytest.raises(ValueError, match="band_index"):
        photometric_error(RUBIN, 6, 20.0)
    with pytest.raises(ValueError, match="band_visits"):
        dataclasses.replace(RUBIN, band_visits=(1, 2, 3, 4, 5, 6))
    with pytest.raises(ValueError, match="reference_band"):
        dataclasses.replace(RUBIN, reference_band="G")
    with pytest.raises(ValueError, match="baseline"):
        dataclasses.replace(RUBIN, baseline=9.5 * JULIAN_YEAR)
    with pytest.raises(ValueError, match="n_groups"):
        Cadence(n_groups=0, group_offsets=(0.0,), season_length=1.0)
