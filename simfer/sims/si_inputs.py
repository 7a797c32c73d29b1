"""Inputs of the vectorised simulators: numbers or Quantities in, checked SI out.

Public functions of :mod:`simfer.sims` accept plain numbers (taken as SI) or
astropy Quantities of any compatible unit; these helpers convert once at that
boundary and check signs, naming the parameter in every error.
"""

from __future__ import annotations

import astropy.units as u
import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["as_si", "non_negative", "positive"]


def as_si(value: ArrayLike | u.Quantity, unit: u.UnitBase, name: str) -> NDArray:
    """Return ``value`` as a float64 array in ``unit``; plain numbers are SI.

    Raises
    ------
    astropy.units.UnitConversionError
        If a Quantity cannot be converted to ``unit``.
    TypeError
        If ``value`` is not numeric.
    """
    if isinstance(value, u.Quantity):
        try:
            return np.asarray(value.to_value(unit), dtype=float)
        except u.UnitConversionError as exc:
            raise u.UnitConversionError(
                f"{name} must be convertible to {unit}, got {value.unit}"
            ) from exc
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be numeric or a Quantity in {unit}") from exc


def positive(value: NDArray, name: str) -> NDArray:
    """``value`` unchanged if every element is finite and > 0, else ValueError."""
    if not np.all(np.isfinite(value)) or np.any(value <= 0):
        raise ValueError(f"{name} must be finite and > 0")
    return value


def non_negative(value: NDArray, name: str) -> NDArray:
    """``value`` unchanged if every element is finite and >= 0, else ValueError."""
    if not np.all(np.isfinite(value)) or np.any(value < 0):
        raise ValueError(f"{name} must be finite and >= 0")
    return value
