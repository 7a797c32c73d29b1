"""Reading workflow files: YAML with line numbers, ``--set`` overrides, validation.

Every problem in a workflow file is reported at once, each with the key path in the
file (``config.detectors.LISA.t_obs``), the line it is on, what was expected and what
was found. The functions here never write anything: a file that does not validate
leaves no trace.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

__all__ = [
    "ConfigProblem",
    "WorkflowConfigError",
    "apply_overrides",
    "format_key_path",
    "load_yaml_with_lines",
    "validate_model",
]

KeyPath = tuple[str | int, ...]
ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with a workflow file.

    Attributes
    ----------
    key_path : str
        Dotted path of the offending key, e.g. ``config.sources[0].m_1``.
    line : int or None
        1-based line number in the file, or None when the problem is not tied to a
        line (a missing file, a ``--set`` override).
    expected : str
        What a valid value looks like.
    found : str
        What the file contained.
    """

    key_path: str
    line: int | None
    expected: str
    found: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "-"
        return (
            f"{self.key_path} ({where}): expected {self.expected}; found {self.found}"
        )


@dataclass
class WorkflowConfigError(Exception):
    """A workflow file that cannot be run, with every problem found in it."""

    source: str
    problems: list[ConfigProblem] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"{self.source}: {len(self.problems)} problem(s)"]
        lines += [f"  - {problem}" for problem in self.problems]
        return "\n".join(lines)


@dataclass
class LoadedYaml:
    """A parsed YAML document and the line of every key path in it."""

    data: Any
    lines: dict[KeyPath, int]
    source: str

    def line_of(self, key_path: KeyPath) -> int | None:
        """Line of ``key_path``, or of its nearest ancestor present in the file."""
        path = tuple(key_path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)


def load_yaml_with_lines(path: str | Path) -> LoadedYaml:
    """Parse a YAML file and record the line number of each key and list item.

    Parameters
    ----------
    path : str or pathlib.Path
        The workflow file.

    Raises
    ------
    WorkflowConfigError
        If the file does not exist, cannot be read, or is not valid YAML.
    """
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WorkflowConfigError(
            source, [ConfigProblem("<file>", None, "an existing file", "no such file")]
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise WorkflowConfigError(
            source,
            [ConfigProblem("<file>", None, "a readable UTF-8 text file", str(error))],
        ) from None
    return parse_yaml_with_lines(text, source)


def parse_yaml_with_lines(text: str, source: str = "<string>") -> LoadedYaml:
    """Parse YAML text; see :func:`load_yaml_with_lines`."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(error, "problem", None) or str(error)
        raise WorkflowConfigError(
            source, [ConfigProblem("<yaml>", line, "valid YAML", str(problem))]
        ) from None

    lines: dict[KeyPath, int] = {}
    if node is not None:
        lines[()] = node.start_mark.line + 1
        _record_lines(node, (), lines)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise WorkflowConfigError(
            source,
            [
                ConfigProblem(
                    "<top level>",
                    lines.get(()),
                    "a mapping with keys such as 'kind' and 'config'",
                    f"a {type(data).__name__}",
                )
            ],
        )
    return LoadedYaml(data=data, lines=lines, source=source)


def _record_lines(node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            lines[(*path, key)] = key_node.start_mark.line + 1
            _record_lines(value_node, (*path, key), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*path, index)] = item.start_mark.line + 1
            _record_lines(item, (*path, index), lines)


def apply_overrides(
    loaded: LoadedYaml, overrides: list[str] | tuple[str, ...]
) -> LoadedYaml:
    """Apply ``key.path=value`` overrides (values parsed as YAML scalars).

    Overridden keys lose their line number: problems with them are reported as
    coming from the command line.

    Raises
    ------
    WorkflowConfigError
        If an override is not of the form ``key.path=value``, or tries to descend
        into a value that is not a mapping.
    """
    data = copy.deepcopy(loaded.data)
    lines = dict(loaded.lines)
    problems = []
    for override in overrides:
        key_path, sep, raw_value = override.partition("=")
        keys = [key for key in key_path.strip().split(".") if key]
        if not sep or not keys:
            problems.append(
                ConfigProblem(
                    f"--set {override}", None, "KEY.PATH=VALUE", repr(override)
                )
            )
            continue
        try:
            value = yaml.safe_load(raw_value)
        except yaml.YAMLError:
            value = raw_value
        target = data
        for depth, key in enumerate(keys[:-1]):
            child = target.setdefault(key, {})
            if not isinstance(child, dict):
                problems.append(
                    ConfigProblem(
                        ".".join(keys[: depth + 1]),
                        None,
                        "a mapping to set keys inside (from --set)",
                        repr(child),
                    )
                )
                break
            target = child
        else:
            target[keys[-1]] = value
            for path in [p for p in lines if p[: len(keys)] == tuple(keys)]:
                del lines[path]
    if problems:
        raise WorkflowConfigError("--set", problems)
    return LoadedYaml(data=data, lines=lines, source=loaded.source)


def format_key_path(key_path: KeyPath) -> str:
    """Write ``("config", "sources", 0, "m_1")`` as ``config.sources[0].m_1``."""
    text = ""
    for key in key_path:
        if isinstance(key, int):
            text += f"[{key}]"
        else:
            text += f".{key}" if text else str(key)
    return text or "<top level>"


def validate_model(
    model: type[ModelT], data: Any, loaded: LoadedYaml, prefix: KeyPath = ()
) -> ModelT:
    """Validate ``data`` against a pydantic model, reporting problems with lines.

    Parameters
    ----------
    model : type of pydantic.BaseModel
        The schema.
    data : Any
        The parsed YAML (sub)tree.
    loaded : LoadedYaml
        Where the line numbers come from.
    prefix : tuple
        Key path of ``data`` inside the file.

    Raises
    ------
    WorkflowConfigError
        Listing every validation error at once.
    """
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise WorkflowConfigError(
            loaded.source, problems_from_validation(error, loaded, prefix)
        ) from None


def problems_from_validation(
    error: ValidationError, loaded: LoadedYaml, prefix: KeyPath = ()
) -> list[ConfigProblem]:
    """Turn pydantic's errors into :class:`ConfigProblem` entries with lines."""
    problems = []
    for item in error.errors(include_url=False):
        # pydantic adds tags such as 'function-plain[...]' for some unions, and
        # '[key]' when a mapping's key (not its value) is invalid
        loc = tuple(key for key in item["loc"] if not _is_union_tag(key))
        key_path = (*prefix, *loc)
        problems.append(
            ConfigProblem(
                key_path=format_key_path(key_path),
                line=loaded.line_of(key_path),
                expected=_expected_from(item),
                found=_found_from(item),
            )
        )
    return problems


def _is_union_tag(key: str | int) -> bool:
    return isinstance(key, str) and ("[" in key and "]" in key)


def _expected_from(item: dict[str, Any]) -> str:
    kind = item["type"]
    if kind == "extra_forbidden":
        return "no such key (unknown keys are rejected; check the spelling)"
    if kind == "missing":
        return "this required key"
    message = item["msg"]
    if kind == "value_error":
        message = message.removeprefix("Value error, ")
        expected, _, _ = message.partition("; found ")
        return expected.removeprefix("expected ")
    return message[0].lower() + message[1:]


def _found_from(item: dict[str, Any]) -> str:
    if item["type"] == "missing":
        return "nothing"
    if item["type"] == "value_error":
        _, _, found = item["msg"].partition("; found ")
        if found:
            return found
    return repr(item.get("input"))
