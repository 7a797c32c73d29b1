"""Tests of simfer.sims.white_dwarfs: Eggleton's cold mass-radius relation."""

import astropy.units as u
import numpy as np
import pytest

from simfer.sims.white_dwarfs import CHANDRASEKHAR_MASS, M_P, white_dwarf_radius

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
