"""Reading user files (YAML) into validated pydantic models, with errors that name the place.

Every user-facing file (contracts, inventories, scenarios, requirement batches) goes through
``load_yaml_model``: a mistake becomes an ``InputError`` whose one-line text is
``file:line:column: field.path: message``, so the CLI can print it and exit 2 without a trace.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

__all__ = ["InputError", "InputErrors", "Located", "load_yaml_model", "parse_yaml", "validate"]

M = TypeVar("M", bound=BaseModel)
Path_ = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class InputError:
    """One mistake in one file, at one place."""

    file: str
    line: int
    column: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class InputErrors(ValueError):
    """A file had one or more mistakes; ``errors`` lists each with its place."""

    def __init__(self, errors: Sequence[InputError]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


@dataclass(frozen=True, slots=True)
class Located:
    """Parsed YAML data plus the line and column (1-based) of every mapping key and item."""

    source: str
    data: Any
    marks: dict[Path_, tuple[int, int]]

    def where(self, path: Sequence[str | int]) -> tuple[Path_, tuple[int, int]]:
        """The deepest known prefix of ``path`` and its position.

        Paths from pydantic may contain extra parts (a union tag, a validator name) that are
        not in the file; those are skipped so the error still points at the nearest key.
        """
        found: Path_ = ()
        for part in path:
            candidate = (*found, part)
            if candidate in self.marks:
                found = candidate
        return found, self.marks.get(found, (1, 1))

    def error(self, path: Sequence[str | int], message: str) -> InputError:
        """An ``InputError`` pointing at ``path`` (or its nearest known parent)."""
        found, (line, col) = self.where(path)
        return InputError(self.source, line, col, dotted(found if found else tuple(path)), message)


def dotted(path: Sequence[str | int]) -> str:
    """``("versions", 2, "window")`` -> ``versions[2].window``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def parse_yaml(text: str, source: str) -> Located:
    """Parse YAML text, keeping node positions. Syntax errors become ``InputErrors``."""
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise InputErrors([InputError(source, line, col, "", f"YAML: {exc.problem}")]) from None
    except yaml.YAMLError as exc:
        raise InputErrors([InputError(source, 1, 1, "", f"YAML: {exc}")]) from None
    marks: dict[Path_, tuple[int, int]] = {}
    if node is not None:
        _walk(node, (), marks)
    return Located(source, data, marks)


def _walk(node: yaml.Node, path: Path_, marks: dict[Path_, tuple[int, int]]) -> None:
    marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            marks[(*path, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            _walk(value_node, (*path, key), marks)
            # the key's own position is the most useful place to point at
            marks[(*path, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), marks)


def validate(located: Located, model: type[M]) -> M:
    """Validate parsed data into ``model``; pydantic errors become located ``InputErrors``."""
    if not isinstance(located.data, dict):
        raise InputErrors([located.error((), "expected a mapping at the top of the file")])
    try:
        return model.model_validate(located.data)
    except ValidationError as exc:
        errors = [located.error(err["loc"], _message(err)) for err in exc.errors()]
        raise InputErrors(errors) from None


def _message(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key (check the spelling; `rofr schema` lists the allowed keys)"
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")


def read_located(source: str | Path, text: str | None = None) -> Located:
    """Read and parse a YAML file (or ``text`` named ``source``); an unreadable file is an
    ``InputErrors`` like any other mistake in it."""
    name = str(source)
    if text is None:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise InputErrors(
                [InputError(name, 1, 1, "", f"cannot read file: {exc.strerror}")]
            ) from None
    return parse_yaml(text, name)


def load_yaml_model(source: str | Path, model: type[M], *, text: str | None = None) -> M:
    """Read a YAML file (or ``text`` named ``source``) and validate it into ``model``."""
    return validate(read_located(source, text), model)


def located_errors(located: Located, problems: Sequence[tuple[Path_, str]]) -> InputErrors:
    """Turn (path, message) pairs from cross-field checks into ``InputErrors``."""
    return InputErrors([located.error(path, message) for path, message in problems])


__all__ += ["dotted", "located_errors", "read_located"]
