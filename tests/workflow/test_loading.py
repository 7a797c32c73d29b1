import pytest
from pydantic import BaseModel, ConfigDict

from simfer.workflow.loading import (
    WorkflowConfigError,
    apply_overrides,
    format_key_path,
    load_yaml_with_lines,
    parse_yaml_with_lines,
    validate_model,
)
from simfer.workflow.quantities import PositiveMass


class Star(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    mass: PositiveMass


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stars: list[Star]
    count: int = 3


TEXT = """\
stars:
  - name: a
    mass: "1 solMass"
  - name: b
    mass: "-2 solMass"
    colour: red
count: many
"""


def test_every_problem_is_reported_with_key_path_and_line():
    loaded = parse_yaml_with_lines(TEXT, "stars.yaml")
    with pytest.raises(WorkflowConfigError) as info:
        validate_model(Config, loaded.data, loaded)
    problems = {p.key_path: p for p in info.value.problems}
    assert set(problems) == {"stars[1].mass", "stars[1].colour", "count"}
    assert problems["stars[1].mass"].line == 5
    assert "positive" in problems["stars[1].mass"].expected
    assert problems["stars[1].mass"].found == "'-2 solMass'"
    assert problems["stars[1].colour"].line == 6
    assert "unknown" in problems["stars[1].colour"].expected
    assert problems["count"].line == 7
    assert "stars.yaml" in str(info.value)


def test_missing_key_points_at_its_parent():
    loaded = parse_yaml_with_lines("stars:\n  - name: a\n", "x.yaml")
    with pytest.raises(WorkflowConfigError) as info:
        validate_model(Config, loaded.data, loaded)
    (problem,) = info.value.problems
    assert problem.key_path == "stars[0].mass"
    assert problem.line == 2
    assert problem.found == "nothing"


def test_malformed_yaml_reports_its_line():
    with pytest.raises(WorkflowConfigError) as info:
        parse_yaml_with_lines("a: 1\nb: [1, 2\nc: 3\n", "bad.yaml")
    (problem,) = info.value.problems
    assert problem.key_path == "<yaml>"
    assert problem.line is not None and problem.line >= 2


def test_top_level_must_be_a_mapping():
    with pytest.raises(WorkflowConfigError) as info:
        parse_yaml_with_lines("- 1\n- 2\n", "list.yaml")
    assert info.value.problems[0].key_path == "<top level>"


def test_missing_file(tmp_path):
    with pytest.raises(WorkflowConfigError) as info:
        load_yaml_with_lines(tmp_path / "nope.yaml")
    assert info.value.problems[0].found == "no such file"


def test_overrides_set_nested_values_and_drop_their_line_numbers():
    loaded = parse_yaml_with_lines(TEXT)
    changed = apply_overrides(loaded, ["count=5", "extra.deep.key=0.5"])
    assert changed.data["count"] == 5
    assert changed.data["extra"] == {"deep": {"key": 0.5}}
    assert changed.line_of(("count",)) is None  # from the command line
    assert changed.line_of(("extra", "deep", "key")) is None
    assert changed.line_of(("stars", 1, "mass")) == 5
    assert loaded.data["count"] == "many"  # the original is untouched


@pytest.mark.parametrize("override", ["count", "=3", "count.x=1"])
def test_bad_overrides_are_reported(override):
    loaded = parse_yaml_with_lines(TEXT)
    with pytest.raises(WorkflowConfigError):
        apply_overrides(loaded, [override])


def test_key_path_formatting():
    assert format_key_path(("config", "sources", 0, "m_1")) == "config.sources[0].m_1"
    assert format_key_path(()) == "<top level>"


def test_list_items_can_be_overridden_by_index():
    loaded = parse_yaml_with_lines(TEXT)
    for spelling in ("stars[1].mass", "stars.1.mass"):
        changed = apply_overrides(loaded, [f"{spelling}=3 solMass"])
        assert changed.data["stars"][1]["mass"] == "3 solMass"
    with pytest.raises(WorkflowConfigError) as info:
        apply_overrides(loaded, ["stars[5].mass=1 solMass"])
    assert info.value.problems[0].key_path == "stars[5]"


def test_duplicate_keys_are_an_error_naming_both_lines():
    with pytest.raises(WorkflowConfigError) as info:
        parse_yaml_with_lines("seed: 1\ncount: 2\nseed: 3\n", "dup.yaml")
    (problem,) = info.value.problems
    assert problem.key_path == "seed"
    assert problem.line == 3
    assert "line 1" in problem.expected


def test_recursive_alias_is_rejected():
    with pytest.raises(WorkflowConfigError) as info:
        parse_yaml_with_lines("config: &a {x: *a}\n", "loop.yaml")
    assert "recursive alias" in info.value.problems[0].found


def test_alias_bomb_is_rejected_quickly():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):
        previous = f"*a{level - 1}"
        lines.append(f"a{level}: &a{level} [{', '.join([previous] * 10)}]")
    with pytest.raises(WorkflowConfigError) as info:
        parse_yaml_with_lines("\n".join(lines) + "\n", "bomb.yaml")
    assert "after expanding aliases" in info.value.problems[0].expected


def test_ordinary_aliases_are_fine():
    loaded = parse_yaml_with_lines("base: &b {mass: 1}\nother: *b\n")
    assert loaded.data["other"] == {"mass": 1}
