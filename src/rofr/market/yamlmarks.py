"""Load a YAML file into a pydantic model, with errors that name file, line and field.

People write inventories and contracts by hand; an error that says only "value is not a
valid date" sends them hunting. Here the YAML is composed into a node tree first (which keeps
each node's line and column), then constructed and validated; a pydantic error's ``loc`` path
is walked back down the node tree to the line that caused it.

Floats are read as ``Decimal`` from their source text, so ``unit_price: 12.29`` is exactly
12.29 and never 12.2899999...
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from rofr.inputs import InputError as Located_
from rofr.inputs import InputErrors

__all__ = ["InputError", "load_yaml_model"]

ModelT = TypeVar("ModelT", bound=BaseModel)


class InputError(InputErrors):
    """A hand-written input file is wrong. ``str()`` is one line: ``file:line:col: field: message``.

    ``line`` and ``column`` are 1-based, as editors show them. It is an ``InputErrors`` (the
    package-wide error for user files) with exactly one entry, so every caller that reports
    user mistakes (the CLI, the API) handles it the same way.
    """

    def __init__(self, file: str, line: int, column: int, field: str, message: str) -> None:
        self.file = file
        self.line = line
        self.column = column
        self.field = field
        self.message = message
        super().__init__([Located_(file, line, column, field, message)])


class _DecimalLoader(yaml.SafeLoader):
    """SafeLoader that turns YAML floats into ``Decimal`` from their source text."""


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    text = str(loader.construct_scalar(node)).replace("_", "")  # type: ignore[arg-type]
    return Decimal(text)


def _construct_timestamp(loader: yaml.SafeLoader, node: yaml.Node) -> object:
    # An impossible date (2025-13-01) would crash inside PyYAML with no position; hand the
    # text to pydantic instead, whose error is then placed on the right line.
    try:
        return loader.construct_yaml_timestamp(node)  # type: ignore[arg-type]
    except ValueError:
        return loader.construct_scalar(node)  # type: ignore[arg-type]


_DecimalLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)
_DecimalLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


def _read(path_or_text: str | Path, source_name: str | None) -> tuple[str, str]:
    # A Path is always a file. A one-line str naming an existing file is read too, so callers
    # may pass a CLI argument straight through; anything else is YAML text.
    if isinstance(path_or_text, Path):
        return path_or_text.read_text(encoding="utf-8"), source_name or str(path_or_text)
    if "\n" not in path_or_text and path_or_text.strip() and Path(path_or_text).is_file():
        return Path(path_or_text).read_text(encoding="utf-8"), source_name or path_or_text
    return path_or_text, source_name or "<text>"


def _locate(root: yaml.Node, loc: tuple[int | str, ...]) -> tuple[yaml.Node, str]:
    """Walk ``loc`` down the node tree: the deepest node reached and the dotted field path.

    Elements that match no node (a discriminated-union tag, or a missing key) are skipped,
    except the last one, which names the missing field.
    """
    node = root
    field = ""
    for position, part in enumerate(loc):
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            for key_node, value_node in node.value:
                if getattr(key_node, "value", None) == part:
                    child = value_node
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            child = node.value[part]
        last = position == len(loc) - 1
        if child is None and not last:
            continue
        field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else part)
        if child is not None:
            node = child
    return node, field or "(document)"


def _key_node(parent: yaml.Node, name: str) -> yaml.Node | None:
    if isinstance(parent, yaml.MappingNode):
        for key_node, _ in parent.value:
            if getattr(key_node, "value", None) == name:
                return key_node  # type: ignore[no-any-return]
    return None


def load_yaml_model(
    path_or_text: str | Path, model_cls: type[ModelT], source_name: str | None = None
) -> ModelT:
    """Parse YAML and validate it as ``model_cls``; raise ``InputError`` on the first problem.

    ``source_name`` is the file name shown in errors (defaults to the path, or ``<text>``).
    """
    text, name = _read(path_or_text, source_name)
    try:
        loader = _DecimalLoader(text)
        try:
            root = loader.get_single_node()
            data: Any = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise InputError(name, line, col, "(syntax)", str(exc.problem or exc)) from exc
    if root is None:
        raise InputError(name, 1, 1, "(document)", "the file is empty")
    try:
        return model_cls.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(error["loc"])
        node, field = _locate(root, loc)
        if error["type"] == "extra_forbidden" and loc:
            # Point at the unknown key itself, not at its value.
            parent, _ = _locate(root, loc[:-1])
            node = _key_node(parent, str(loc[-1])) or node
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = f"unknown key {str(loc[-1])!r} (check its spelling and indentation)"
        raise InputError(
            name, node.start_mark.line + 1, node.start_mark.column + 1, field, message
        ) from exc
