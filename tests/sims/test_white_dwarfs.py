"""Tests of simfer.sims.white_dwarfs: Eggleton's cold mass-radius relation."""

import astropy.units as u
import numpy as np
import pytest

from simfer.sims.white_dwarfs import (
    CHANDRASEKHAR_MASS,
    CORE_CO,
    CORE_HE,
    CORE_ONE,
    M_P,
    effective_temperature,
    white_dwarf_luminosity,
    white_dwarf_radius,
)

MSUN = u.Msun.to(u.kg)
RSUN = u.Rsun.to(u.m)

# R/Rsun = 0.0114 sqrt(x^(-2/3) - x^(2/3)) (1 + 3.5 y^(-2/3) + 1/y)^(-2/3), x = M/1.44,
# y = M/0.00057 (M in Msun), evaluated once in plain float64 Python outside simfer.
EXPECTED_RADIUS_RSUN = {
    0.2: 0.020231041416363327,
    0.6: 0.01238194686098156,
    1.0: 0.007859550385766707,
    1.3: 0.004154518496034538,
}


@pytest.mark.parametrize(("mass_msun", "radius_rsun"), EXPECTED_RADIUS_RSUN.items())
def test_radius_matches_formula_values(mass_msun, radius_rsun):
    radius = white_dwarf_radius(mass_msun * u.Msun) / RSUN
    # same formula in float64: agreement to rounding (1e-12)
    assert radius == pytest.approx(radius_rsun, rel=1e-12)


def test_kg_floats_and_quantities_agree_and_shape_is_kept():
    masses = np.array([[0.2, 0.6], [1.0, 1.3]])
    from_kg = white_dwarf_radius(masses * MSUN)
    from_quantity = white_dwarf_radius(masses * u.Msun)
    assert from_kg.shape == (2, 2)
    # one unit conversion apart: rounding only
    np.testing.assert_allclose(from_kg, from_quantity, rtol=1e-14)


def test_radius_decreases_with_mass_over_white_dwarf_range():
    radii = white_dwarf_radius(np.linspace(0.01, 1.43, 2000) * u.Msun)
    # strict decrease above the radius maximum near M_p = 0.00057 Msun
    assert np.all(np.diff(radii) < 0)


def test_radius_vanishes_at_chandrasekhar_mass_as_square_root():
    eps = 1e-8
    radius = white_dwarf_radius(CHANDRASEKHAR_MASS * (1 - eps))
    y = CHANDRASEKHAR_MASS / M_P
    low_mass_factor = (1 + 3.5 * y ** (-2 / 3) + 1 / y) ** (-2 / 3)
    expected = 0.0114 * RSUN * np.sqrt(4 * eps / 3) * low_mass_factor
    # x^(-2/3) - x^(2/3) = (4/3) eps + O(eps^2) for x = 1 - eps: relative error ~eps
    assert radius == pytest.approx(expected, rel=1e-6)


def test_radius_grows_as_cube_root_of_mass_far_below_m_p():
    mass = 1e-12 * MSUN
    expected = 0.0114 * RSUN * (CHANDRASEKHAR_MASS * mass) ** (1 / 3) / M_P ** (2 / 3)
    # leading term of the M << M_p limit; next term 3.5 (M/M_p)^(1/3) ~ 4e-3 -> 1e-2
    assert white_dwarf_radius(mass) == pytest.approx(expected, rel=1e-2)


@pytest.mark.parametrize(
    "mass", [0.0, -0.3 * MSUN, CHANDRASEKHAR_MASS, 1.5 * MSUN, np.nan, np.inf]
)
def test_masses_outside_open_interval_are_rejected(mass):
    with pytest.raises(ValueError, match="mass must be finite and lie in"):
        white_dwarf_radius([0.6 * MSUN, mass])


def test_wrong_unit_and_non_numeric_input_are_rejected():
    with pytest.raises(u.UnitConversionError, match="mass must be convertible"):
        white_dwarf_radius(0.6 * u.m)
    with pytest.raises(TypeError, match="mass must be numeric"):
        white_dwarf_radius("heavy")


# ---------------------------------------------------------------- cooling

LSUN = u.Lsun.to(u.W)


def _hurley_shara_by_hand(m, t_myr, a, z):
    """Hurley & Shara (2003) modified Mestel law, L/Lsun, in plain Python."""
    if t_myr < 9000.0:
        return 300.0 * m * z**0.4 / (a * (t_myr + 0.1)) ** 1.18
    return 300.0 * (9000.1 * a) ** 5.3 * m * z**0.4 / (a * (t_myr + 0.1)) ** 6.48


@pytest.mark.parametrize(
    ("m", "t_myr", "core", "a", "z"),
    [
        (0.6, 1000.0, CORE_CO, 15.0, 0.02),
        (0.3, 50.0, CORE_HE, 4.0, 0.001),
        (1.2, 12000.0, CORE_ONE, 15.0, 0.03),
        (0.45, 0.0, CORE_HE, 4.0, 0.0001),
    ],
)
def test_cooling_law_matches_formula(m, t_myr, core, a, z):
    lum = white_dwarf_luminosity(m * u.Msun, t_myr * u.Myr, core, z) / LSUN
    # same closed form in float64; only unit conversions differ (rounding, 1e-12)
    assert lum == pytest.approx(_hurley_shara_by_hand(m, t_myr, a, z), rel=1e-12)


def test_mestel_law_option_matches_hurley_pols_tout_eq_90():
    lum = white_dwarf_luminosity(0.6 * u.Msun, 1 * u.Gyr, CORE_CO, 0.02, law="mestel")
    expected = 635.0 * 0.6 * 0.02**0.4 / (15.0 * 1000.1) ** 1.4
    # Hurley, Pols & Tout (2000) eq. 90 by hand: rounding only
    assert lum / LSUN == pytest.approx(expected, rel=1e-12)


def test_cooling_law_is_continuous_at_9000_myr():
    ages = np.array([9000.0 - 1e-9, 9000.0]) * u.Myr
    lum = white_dwarf_luminosity(0.6 * u.Msun, ages, CORE_CO, 0.02)
    # both branches equal 300 M Z^0.4 (9000.1 A)^-1.18 at t = 9000 Myr; the 1e-9 Myr
    # step changes L by 1.18e-9 / 9000 relative: continuity to rounding
    assert lum[1] / lum[0] == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("core", [CORE_HE, CORE_CO, CORE_ONE])
def test_white_dwarfs_dim_monotonically(core):
    ages = np.linspace(0.0, 14.0, 2001) * u.Gyr
    lum = white_dwarf_luminosity(0.5 * u.Msun, ages, core, 0.02)
    # both branches are strictly decreasing powers of t
    assert np.all(np.diff(lum) < 0)


def test_half_solar_mass_co_white_dwarf_at_1_gyr_matches_published_tracks():
    lum = white_dwarf_luminosity(0.6 * u.Msun, 1.0 * u.Gyr, CORE_CO, 0.02)
    # Fontaine, Brassard & Bergeron (2001, PASP 113, 409) 0.6 Msun CO, thick-H
    # sequence (file CO_0600204 as distributed with the WD_models package of
    # S. Cheng): model 111, age 1.003e9 yr, L = 2.577e30 erg/s -> log L/Lsun = -3.17
    # (Teff 8246 K). The Mestel-type law is a ~0.2 dex approximation: 0.3 dex allowed.
    assert np.log10(lum / LSUN) == pytest.approx(-3.17, abs=0.3)


def test_effective_temperature_inverts_stefan_boltzmann():
    # the Sun: L = 1 Lsun, R = 1 Rsun -> IAU nominal Teff 5772 K (Prsa et al. 2016)
    teff = effective_temperature(1.0 * u.Lsun, 1.0 * u.Rsun)
    # IAU 2015 B3 nominal values are defined consistently to ~1 K
    assert teff == pytest.approx(5772.0, abs=1.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"core": 3}, "core must hold integer codes"),
        ({"core": 0.5}, "core must hold integer codes"),
        ({"metallicity": 0.0}, "metallicity must be finite"),
        ({"metallicity": 0.2}, "metallicity must be finite"),
        ({"cooling_age": -1.0 * u.Myr}, "cooling_age must be finite and >= 0"),
        ({"mass": 0.0}, "mass must be finite and > 0"),
        ({"law": "other"}, "law must be"),
    ],
)
def test_cooling_rejects_bad_inputs(kwargs, message):
    args = {
        "mass": 0.6 * u.Msun,
        "cooling_age": 1 * u.Gyr,
        "core": CORE_CO,
        "metallicity": 0.02,
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        white_dwarf_luminosity(**args)
