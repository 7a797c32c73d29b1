import astropy.units as u
import pytest
from pydantic import BaseModel, ValidationError

from simfer.workflow.quantities import (
    Distance,
    PositiveDuration,
    PositiveMass,
    format_quantity,
    parse_quantity,
)


class Example(BaseModel):
    t_obs: PositiveDuration
    distance: Distance
    mass: PositiveMass


def test_strings_with_units_parse_to_quantities():
    example = Example(t_obs="4 yr", distance="8.5 kpc", mass="0.6 solMass")
    assert example.t_obs == 4 * u.yr
    assert example.distance.to_value(u.pc) == pytest.approx(8500.0, rel=1e-15)
    assert example.mass.unit == u.solMass


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("4 kpc", "which is a length"),
        (4, "bare number"),
        ("four years", "not a number followed by a unit"),
        ("inf yr", "finite"),
        ("-1 yr", "positive"),
        ("0 yr", "positive"),
        ([1, 2], "expected a time"),
    ],
)
def test_wrong_duration_is_rejected_with_what_was_expected(value, fragment):
    with pytest.raises(ValidationError) as info:
        Example(t_obs=value, distance="1 kpc", mass="1 solMass")
    (error,) = info.value.errors()
    assert error["loc"] == ("t_obs",)
    assert fragment in error["msg"]


def test_serialised_form_parses_back_to_the_same_quantity():
    example = Example(t_obs="4.25 yr", distance="1.234567891 kpc", mass="1 solMass")
    dumped = example.model_dump(mode="json")
    assert dumped["t_obs"] == "4.25 yr"
    again = Example.model_validate(dumped)
    # repr of a float round-trips exactly
    assert again.distance == example.distance


def test_format_and_parse_round_trip():
    quantity = parse_quantity("3 mHz", "frequency", positive=True)
    assert parse_quantity(format_quantity(quantity), "frequency") == quantity


def test_json_schema_describes_unit_strings():
    schema = Example.model_json_schema()
    assert schema["properties"]["t_obs"]["type"] == "string"
    assert "4 yr" in schema["properties"]["t_obs"]["examples"]
