"""Physical quantities in workflow files: strings with units, parsed by astropy.

A workflow file writes every physical quantity as a string with its unit
(``"4 yr"``, ``"8.5 kpc"``, ``"3 mHz"``). The pydantic types defined here parse such
strings into :class:`astropy.units.Quantity` objects, check the physical type
(a length is not a duration), optionally check the sign, and serialise back to the
same string form so a resolved config can be written out and read again.

Examples
--------
>>> from pydantic import BaseModel
>>> class Mission(BaseModel):
...     t_obs: Duration
>>> Mission(t_obs="4 yr").t_obs
<Quantity 4. yr>
"""

from __future__ import annotations

from typing import Annotated, Any

import astropy.units as u
import numpy as np
from pydantic import PlainSerializer, PlainValidator, WithJsonSchema

__all__ = [
    "Angle",
    "Distance",
    "Duration",
    "Frequency",
    "Mass",
    "PositiveDistance",
    "PositiveDuration",
    "PositiveFrequency",
    "PositiveMass",
    "format_quantity",
    "parse_quantity",
    "quantity_type",
]


def parse_quantity(
    value: Any, physical_type: str, *, positive: bool = False
) -> u.Quantity:
    """Parse ``value`` into a scalar Quantity of the given physical type.

    Parameters
    ----------
    value : str or astropy.units.Quantity
        A string such as ``"4 yr"`` or a Quantity. Bare numbers are rejected:
        a workflow file must say which unit it means.
    physical_type : str
        The astropy physical type expected, e.g. ``"time"``, ``"length"``.
    positive : bool
        If true, zero and negative values are rejected.

    Returns
    -------
    astropy.units.Quantity
        The parsed scalar quantity, in the unit it was written in.

    Raises
    ------
    ValueError
        With a message saying what was expected and what was found.
    """
    expected = f"a {physical_type} with a unit, e.g. {_EXAMPLES[physical_type]!r}"
    if isinstance(value, u.Quantity):
        quantity = value
    elif isinstance(value, str):
        try:
            quantity = u.Quantity(value)
        except (TypeError, ValueError):
            raise ValueError(
                f"expected {expected}; found {value!r}, which is not a number "
                "followed by a unit astropy knows"
            ) from None
    elif isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected {expected}; found {value!r}")
    else:
        raise ValueError(f"expected {expected}; found the bare number {value!r}")

    if not quantity.isscalar:
        raise ValueError(f"expected {expected}; found an array {value!r}")
    if quantity.unit.physical_type != physical_type:
        found_type = str(quantity.unit.physical_type)
        if found_type == "unknown":
            found_type = "quantity of no known physical type"
        article = "an" if found_type[0] in "aeiou" else "a"
        raise ValueError(
            f"expected {expected}; found {value!r}, which is {article} {found_type}"
        )
    if not _finite(quantity):
        raise ValueError(f"expected a finite {physical_type}; found {value!r}")
    if positive and quantity.value <= 0:
        raise ValueError(f"expected a positive {physical_type}; found {value!r}")
    return quantity


def format_quantity(quantity: u.Quantity) -> str:
    """Write a Quantity as the string a workflow file would contain (``"4.0 yr"``)."""
    return f"{float(quantity.value)!r} {quantity.unit.to_string()}"


def quantity_type(physical_type: str, *, positive: bool = False) -> Any:
    """Build an annotated pydantic type for a scalar Quantity of ``physical_type``.

    Parameters
    ----------
    physical_type : str
        The astropy physical type expected, e.g. ``"time"``.
    positive : bool
        If true, zero and negative values are rejected.
    """
    example = _EXAMPLES[physical_type]
    sign = "positive " if positive else ""
    description = f"a {sign}{physical_type} written with its unit, e.g. {example!r}"
    return Annotated[
        u.Quantity,
        PlainValidator(
            lambda value: parse_quantity(value, physical_type, positive=positive)
        ),
        PlainSerializer(format_quantity, return_type=str),
        WithJsonSchema(
            {
                "type": "string",
                "description": description,
                "examples": [example],
            }
        ),
    ]


def _finite(quantity: u.Quantity) -> bool:
    return bool(np.isfinite(quantity.value))


_EXAMPLES = {
    "time": "4 yr",
    "length": "8.5 kpc",
    "frequency": "3 mHz",
    "mass": "0.6 solMass",
    "angle": "30 deg",
}

Duration = quantity_type("time")
PositiveDuration = quantity_type("time", positive=True)
Distance = quantity_type("length")
PositiveDistance = quantity_type("length", positive=True)
Frequency = quantity_type("frequency")
PositiveFrequency = quantity_type("frequency", positive=True)
Mass = quantity_type("mass")
PositiveMass = quantity_type("mass", positive=True)
Angle = quantity_type("angle")
