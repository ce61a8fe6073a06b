"""Strict front-matter splitting and a bounded, data-only YAML loader.

Why not python-frontmatter + ``yaml.safe_load``: on real feeds they fail silently
or dangerously. python-frontmatter returns *empty metadata* for a UTF-8 BOM, an
unclosed block or list-shaped front matter; ``safe_load`` accepts aliases (billion
laughs, the merge-key bomb of PyYAML issue 897), duplicate keys (last one wins),
``!!binary``/``!!set``, and libyaml's recursive composer crashes on deep nesting.

So this module splits the file itself and builds Python values straight from
libyaml's *event* stream (iterative, no recursion), which lets it enforce every
rule in one pass: no aliases or merge keys, only the core scalar tags, a nesting
limit, duplicate-key detection, and a node budget.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

try:  # the C parser when PyYAML was built with libyaml
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_DEPTH = 32
MAX_NODES = 50_000

_STR = "tag:yaml.org,2002:str"
_ALLOWED_TAGS = {
    _STR,
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
}
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_FENCE = re.compile(r"^---[ \t]*$")
_OTHER_CLOSERS = re.compile(r"^(\.\.\.|\+\+\+)[ \t]*$")


class FrontMatterError(ValueError):
    """A problem with the front matter; ``field`` is set when one key is to blame."""

    def __init__(self, problem: str, field: str | None = None) -> None:
        self.problem = problem
        self.field = field
        super().__init__(problem)


@dataclass(frozen=True)
class Split:
    front_matter: str
    body: str
    body_line: int  # 1-based line number where the body starts


def split(text: str) -> Split:
    """Split normalised text (``\\n`` line ends, no BOM) into front matter and body."""
    lines = text.split("\n")
    if not lines or not _FENCE.match(lines[0]):
        raise FrontMatterError("no front matter: the file must start with a '---' line")
    for i in range(1, len(lines)):
        line = lines[i]
        if _FENCE.match(line):
            return Split("\n".join(lines[1:i]) + "\n", "\n".join(lines[i + 1 :]), i + 2)
        if _OTHER_CLOSERS.match(line):
            raise FrontMatterError(
                f"front matter must be a mapping closed by '---' (found {line.strip()!r} "
                f"at line {i + 1})"
            )
    raise FrontMatterError("front matter not closed: add a '---' line after the last key")


def load_mapping(source: str) -> dict[str, Any]:
    """Parse YAML front matter into a dict; raise :class:`FrontMatterError` on anything else."""
    loader = _Loader(source)
    try:
        return _build(loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" (line {mark.line + 2}, column {mark.column + 1})" if mark else ""
        problem = exc.problem or str(exc)
        raise FrontMatterError(f"invalid YAML{where}: {problem}") from None
    except yaml.YAMLError as exc:
        raise FrontMatterError(f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()


class _Frame:
    __slots__ = ("container", "key", "has_key", "line")

    def __init__(self, container: dict[Any, Any] | list[Any], line: int) -> None:
        self.container = container
        self.key: Any = None
        self.has_key = False
        self.line = line


def _key_name(key: Any) -> str:
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


def _build(loader: Any) -> dict[str, Any]:
    stack: list[_Frame] = []
    root: Any = _NOTHING
    nodes = 0
    while loader.check_event():
        event = loader.get_event()
        if isinstance(
            event, (yaml.StreamStartEvent, yaml.StreamEndEvent, yaml.DocumentEndEvent)
        ):
            continue
        if isinstance(event, yaml.DocumentStartEvent):
            if root is not _NOTHING:
                raise FrontMatterError("front matter holds more than one YAML document")
            continue
        line = event.start_mark.line + 2 if event.start_mark else 0
        if isinstance(event, yaml.AliasEvent):
            raise FrontMatterError(
                f"YAML aliases (*{event.anchor}) are not supported (line {line}); "
                "write the value out"
            )
        if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            frame = stack.pop()
            value: Any = frame.container
        else:
            nodes += 1
            if nodes > MAX_NODES:
                raise FrontMatterError(f"front matter has more than {MAX_NODES} values")
            tag = getattr(event, "tag", None)
            if isinstance(event, yaml.ScalarEvent):
                value = _scalar(loader, event, line)
            elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                is_map = isinstance(event, yaml.MappingStartEvent)
                if tag not in (None, "!", _MAP_TAG if is_map else _SEQ_TAG):
                    raise FrontMatterError(f"YAML tag {tag} is not allowed (line {line})")
                if len(stack) >= MAX_DEPTH:
                    raise FrontMatterError(
                        f"front matter is nested deeper than {MAX_DEPTH} levels (line {line})"
                    )
                stack.append(_Frame({} if is_map else [], line))
                continue
            else:  # pragma: no cover - libyaml emits no other event kinds
                raise FrontMatterError(f"unexpected YAML event {type(event).__name__}")
        if not stack:
            root = value
            continue
        parent = stack[-1]
        if isinstance(parent.container, list):
            parent.container.append(value)
        elif not parent.has_key:
            if isinstance(value, (dict, list)):
                raise FrontMatterError(f"mapping keys must be plain values (line {line})")
            parent.key = _key_name(value)
            parent.has_key = True
            if parent.key in parent.container:
                raise FrontMatterError(f"duplicate key: {parent.key}", field=parent.key)
        else:
            parent.container[parent.key] = value
            parent.has_key = False
    if root is _NOTHING or root is None:
        raise FrontMatterError("front matter must be a mapping (it is empty)")
    if not isinstance(root, dict):
        kind = "a list" if isinstance(root, list) else "a single value"
        raise FrontMatterError(f"front matter must be a mapping of keys to values, not {kind}")
    return root


def _scalar(loader: Any, event: Any, line: int) -> Any:
    tag = event.tag
    if tag is None or tag == "!":
        tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)
    if tag == "tag:yaml.org,2002:merge":
        raise FrontMatterError(f"YAML merge keys (<<) are not supported (line {line})")
    if tag not in _ALLOWED_TAGS:
        raise FrontMatterError(f"YAML tag {tag} is not allowed (line {line})")
    if tag == _STR:
        return event.value
    node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
    try:
        return loader.yaml_constructors[tag](loader, node)
    except (ValueError, OverflowError, yaml.YAMLError):
        # e.g. '2024-13-45' resolves as a timestamp but is not a date: keep the text;
        # the field validators say what is wrong with it.
        return event.value


class _Nothing:
    pass


_NOTHING: Any = _Nothing()
