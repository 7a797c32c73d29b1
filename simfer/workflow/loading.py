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
    overridden: set[KeyPath] = field(default_factory=set)

    def line_of(self, key_path: KeyPath) -> int | None:
        """Line of ``key_path``, or of its nearest ancestor present in the file.

        None for keys set or changed on the command line (``--set``).
        """
        path = tuple(key_path)
        if any(path[: len(o)] == o for o in self.overridden):
            return None
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
        problems = _check_aliases(node)
        lines[()] = node.start_mark.line + 1
        _record_lines(node, (), lines, problems, set())
        if problems:
            raise WorkflowConfigError(source, problems)
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


#: Largest number of nodes a document may expand to through aliases: a guard
#: against "billion laughs" files, far above any real workflow.
MAX_EXPANDED_NODES = 100_000


def _check_aliases(root: yaml.Node) -> list[ConfigProblem]:
    """Reject recursive aliases and documents that aliases blow up in size."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()

    def size(node: yaml.Node) -> int:
        if id(node) in on_path:
            raise _RecursiveAlias(node.start_mark.line + 1)
        if id(node) in sizes:
            return sizes[id(node)]
        on_path.add(id(node))
        children = []
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        total = 1 + sum(size(child) for child in children)
        on_path.discard(id(node))
        sizes[id(node)] = total
        return total

    try:
        total = size(root)
    except _RecursiveAlias as error:
        return [
            ConfigProblem(
                "<yaml>",
                error.line,
                "no alias inside its own anchor",
                "a recursive alias",
            )
        ]
    if total > MAX_EXPANDED_NODES:
        return [
            ConfigProblem(
                "<yaml>",
                None,
                f"at most {MAX_EXPANDED_NODES} values after expanding aliases",
                f"{total}",
            )
        ]
    return []


class _RecursiveAlias(Exception):
    def __init__(self, line: int) -> None:
        self.line = line


def _record_lines(
    node: yaml.Node,
    path: KeyPath,
    lines: dict[KeyPath, int],
    problems: list[ConfigProblem],
    visited: set[int],
) -> None:
    if id(node) in visited:  # an alias: its lines were recorded where it was defined
        return
    visited.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen:
                problems.append(
                    ConfigProblem(
                        format_key_path((*path, key)),
                        line,
                        f"each key once (first given on line {seen[key]})",
                        "a second value for the same key",
                    )
                )
            seen[key] = line
            lines[(*path, key)] = line
            _record_lines(value_node, (*path, key), lines, problems, visited)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*path, index)] = item.start_mark.line + 1
            _record_lines(item, (*path, index), lines, problems, visited)


def apply_overrides(
    loaded: LoadedYaml, overrides: list[str] | tuple[str, ...]
) -> LoadedYaml:
    """Apply ``key.path=value`` overrides (values parsed as YAML).

    List items are addressed by index, ``sources[0].m_1`` or ``sources.0.m_1``.
    Overridden keys lose their line number: problems with them are reported as
    coming from the command line.

    Raises
    ------
    WorkflowConfigError
        If an override is not of the form ``key.path=value``, or tries to descend
        into a value that is neither a mapping nor a list.
    """
    data = copy.deepcopy(loaded.data)
    overridden = set(loaded.overridden)
    problems = []
    for override in overrides:
        key_path, sep, raw_value = override.partition("=")
        keys = _parse_key_path(key_path)
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
        problem = _set_path(data, keys, value)
        if problem is not None:
            problems.append(problem)
        else:
            overridden.add(tuple(keys))
    if problems:
        raise WorkflowConfigError("--set", problems)
    return LoadedYaml(
        data=data, lines=loaded.lines, source=loaded.source, overridden=overridden
    )


def _parse_key_path(text: str) -> list[str | int]:
    """``a.b[0].c`` or ``a.b.0.c`` -> ``["a", "b", 0, "c"]``."""
    keys: list[str | int] = []
    for part in text.strip().replace("[", ".[").split("."):
        if not part:
            continue
        if part.startswith("[") and part.endswith("]") and part[1:-1].isdigit():
            keys.append(int(part[1:-1]))
        elif part.isdigit():
            keys.append(int(part))
        else:
            keys.append(part)
    return keys


def _set_path(data: Any, keys: list[str | int], value: Any) -> ConfigProblem | None:
    target = data
    for depth, key in enumerate(keys):
        last = depth == len(keys) - 1
        where = format_key_path(tuple(keys[: depth + 1]))
        if isinstance(target, list):
            if not isinstance(key, int) or not -len(target) <= key < len(target):
                return ConfigProblem(
                    where,
                    None,
                    f"an index of an existing item (0 to {len(target) - 1})",
                    repr(key),
                )
        elif isinstance(target, dict):
            if isinstance(key, int):
                key = str(key)
            if not last:
                target.setdefault(key, {})
        else:
            return ConfigProblem(
                format_key_path(tuple(keys[:depth])) or "<top level>",
                None,
                "a mapping or list to set keys inside (from --set)",
                repr(target),
            )
        if last:
            target[key] = value
        else:
            target = target[key]
    return None


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
    # relative paths inside a workflow are relative to the workflow file
    context = {"workflow_dir": str(Path(loaded.source).resolve().parent)}
    try:
        return model.model_validate(data, context=context)
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
    # e.g. 'function-plain[parse()]' or '[key]'; never a real key of ours
    return isinstance(key, str) and (
        key == "[key]"
        or (key.endswith("]") and "[" in key and "-" in key.split("[")[0])
    )


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
    message = message.removeprefix("Input should be ")
    return message[0].lower() + message[1:]


def _found_from(item: dict[str, Any]) -> str:
    if item["type"] == "missing":
        return "nothing"
    if item["type"] == "value_error":
        _, _, found = item["msg"].partition("; found ")
        if found:
            return found
    return repr(item.get("input"))
