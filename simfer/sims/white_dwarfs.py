"""White-dwarf structure: the zero-temperature mass-radius relation.

A cold white dwarf supported by electron degeneracy pressure shrinks as its mass
grows and reaches zero radius at the Chandrasekhar mass. :func:`white_dwarf_radius`
gives Eggleton's interpolation formula, as quoted by Verbunt & Rappaport (1988),
which joins the relativistic-degenerate behaviour near the Chandrasekhar mass
``M_ch`` to the low-mass (Coulomb-dominated, ``R ~ M^(1/3)``) behaviour below
``M_p``, the mass at which the radius of a cold body peaks:

    R / Rsun = 0.0114 sqrt((M/M_ch)^(-2/3) - (M/M_ch)^(2/3))
               * (1 + 3.5 (M/M_p)^(-2/3) + M_p/M)^(-2/3),

with ``M_ch = 1.44 Msun`` and ``M_p = 0.00057 Msun``. The relation ignores finite
temperature and composition, so young, hot helium white dwarfs are larger than it
says. Inputs may be SI floats (kg) or astropy Quantities; outputs are SI floats (m).
"""

from __future__ import annotations

import logging

import astropy.units as u
import numpy as np
from numpy.typing import ArrayLike, NDArray

from simfer.sims.si_inputs import as_si

logger = logging.getLogger(__name__)

__all__ = [
    "CHANDRASEKHAR_MASS",
    "M_P",
    "white_dwarf_radius",
]

_MSUN = u.Msun.to(u.kg)  # kg, IAU 2015 nominal through astropy
_RSUN = u.Rsun.to(u.m)  # m, IAU 2015 nominal through astropy

#: Chandrasekhar mass used by the relation, kg (1.44 Msun).
CHANDRASEKHAR_MASS = 1.44 * _MSUN
#: Mass at which a cold body's radius peaks in the relation, kg (0.00057 Msun).
M_P = 0.00057 * _MSUN

# Radius scale of the relation, m (0.0114 Rsun).
_R0 = 0.0114 * _RSUN


def white_dwarf_radius(mass: ArrayLike | u.Quantity) -> NDArray:
    """Radius of a cold white dwarf from Eggleton's mass-radius relation.

    Parameters
    ----------
    mass : array_like or Quantity
        White-dwarf mass, kg (plain numbers) or any mass Quantity. Every value must
        be finite and lie in ``(0, M_ch)``, ``M_ch = 1.44 Msun``.

    Returns
    -------
    ndarray
        Radius, m, of the same shape as ``mass``.

    Raises
    ------
    ValueError
        If any mass is not finite, is ``<= 0`` or is ``>= M_ch`` (the radius
        vanishes at ``M_ch`` and the relation has no meaning beyond it).

    References
    ----------
    Verbunt, F. & Rappaport, S. 1988, ApJ 332, 193 (Eggleton's relation, quoted in
    their appendix).
    """
    m = as_si(mass, u.kg, "mass")
    if not np.all(np.isfinite(m)) or np.any(m <= 0) or np.any(m >= CHANDRASEKHAR_MASS):
        raise ValueError(
            "mass must be finite and lie in (0, M_ch), M_ch = 1.44 Msun "
            f"= {CHANDRASEKHAR_MASS:.6e} kg"
        )

    x = m / CHANDRASEKHAR_MASS
    degenerate = np.sqrt(x ** (-2.0 / 3.0) - x ** (2.0 / 3.0))

    y = m / M_P
    low_mass = (1.0 + 3.5 * y ** (-2.0 / 3.0) + 1.0 / y) ** (-2.0 / 3.0)
    return _R0 * degenerate * low_mass
