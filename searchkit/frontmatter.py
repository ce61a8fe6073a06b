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

YAML 1.1 reads some unquoted values as something other than text (``NO`` is
false, ``12:30`` is the number 750, ``1.10`` is 1.1, ``2024-05-05`` is a date).
The loader does not guess which meaning a key wants: such a *plain* scalar comes
back as :class:`Plain`, carrying both what YAML makes of it and the text exactly
as written, and the field validators pick (text fields keep the text as written,
number/date/boolean fields take the value). Mapping keys are always the text as
written (``1: x`` has the key ``"1"``, ``~: x`` the key ``"~"``).
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
MAX_NUMBER_CHARS = 100  # longer int/float-looking scalars stay text (no huge-number math)

_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_VALUE = "tag:yaml.org,2002:value"  # YAML 1.1's '=': plain text to us
_ALLOWED_TAGS = {
    _STR,
    _INT,
    _FLOAT,
    _NULL,
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:timestamp",
}
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_FENCE = re.compile(r"^---[ \t]*$")
_OTHER_CLOSERS = re.compile(r"^(\.\.\.|\+\+\+)[ \t]*$")
# Characters YAML forbids in a stream (C0/C1 controls other than tab and line ends,
# U+FFFE/U+FFFF): found here so the message can say where, on one line.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff]")
# NEL, LINE SEPARATOR, PARAGRAPH SEPARATOR are line breaks to YAML 1.1 but not to
# the splitter; inside front matter they become spaces (text cleaning would anyway).
_YAML_BREAKS = {0x85: " ", 0x2028: " ", 0x2029: " "}
# A top-level line that can start a mapping entry, a comment, or a list item.
_KEY_LINE = re.compile(
    r"""^(?:\#|%|-(?:[ \t]|$)|\?|:|[\[{'"!&*]|"""
    r"""[^\s#:][^\n]*?:(?:[ \t]|$))"""
)


class FrontMatterError(ValueError):
    """A problem with the front matter; ``field`` is set when one key is to blame."""

    def __init__(self, problem: str, field: str | None = None) -> None:
        self.problem = _one_line(problem)
        self.field = field
        super().__init__(self.problem)


@dataclass(frozen=True)
class Split:
    front_matter: str
    body: str
    body_line: int  # 1-based line number where the body starts


@dataclass(frozen=True, slots=True)
class Plain:
    """An unquoted, untagged scalar that YAML 1.1 reads as something other than text.

    ``value`` is what YAML makes of it (bool, int, float, date or datetime);
    ``text`` is the scalar exactly as written (``NO``, ``12:30``, ``1.10``).
    Plain scalars that are text or null are returned as ``str`` / ``None``.
    """

    value: Any
    text: str


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
    """Parse YAML front matter into a dict; raise :class:`FrontMatterError` on anything else.

    ``source`` is the text between the fences; line numbers in messages count the
    opening ``---`` as line 1, so they match the file.
    """
    bad = _FORBIDDEN.search(source)
    if bad:
        line = source.count("\n", 0, bad.start()) + 2
        column = bad.start() - (source.rfind("\n", 0, bad.start()) + 1) + 1
        raise FrontMatterError(
            f"control character U+{ord(bad.group()):04X} at line {line}, column {column} "
            "is not allowed in YAML; remove it (or write it as an escape in double quotes)"
        )
    source = source.translate(_YAML_BREAKS)
    loader = _Loader(source)
    try:
        return _build(loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" (line {mark.line + 2}, column {mark.column + 1})" if mark else ""
        problem = exc.problem or exc.context or "syntax error"
        unclosed = _unclosed_hint(source, mark.line + 2 if mark else None)
        if unclosed:
            raise FrontMatterError(unclosed) from None
        raise FrontMatterError(f"invalid YAML{where}: {problem}") from None
    except yaml.YAMLError as exc:
        raise FrontMatterError(f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()


def _unclosed_hint(source: str, error_line: int | None) -> str:
    """When YAML fails on body-like text, say the closing fence is probably missing."""
    for number, line in enumerate(source.split("\n"), start=2):
        if error_line is not None and number > error_line:
            break
        if not line.strip() or line[0] in " \t" or _KEY_LINE.match(line):
            continue
        shown = line.strip()
        if len(shown) > 40:
            shown = shown[:40] + "..."
        return (f"front matter not closed? line {number} ({shown!r}) is not a 'key: value' "
                "line; add a '---' line after the last key")
    return ""


def _one_line(text: str) -> str:
    return " ".join(text.split()) if ("\n" in text or "\r" in text) else text


class _Frame:
    __slots__ = ("container", "key", "has_key", "line")

    def __init__(self, container: dict[str, Any] | list[Any], line: int) -> None:
        self.container = container
        self.key: str = ""
        self.has_key = False
        self.line = line


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
                parent = stack[-1] if stack else None
                if parent is not None and isinstance(parent.container, dict) \
                        and not parent.has_key:
                    # a key: always the text as written ('1', '~', 'NO', '12:30')
                    parent.key = event.value
                    parent.has_key = True
                    if parent.key in parent.container:
                        raise FrontMatterError(f"duplicate key: {parent.key}",
                                               field=parent.key)
                    continue
            elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                is_map = isinstance(event, yaml.MappingStartEvent)
                if tag not in (None, "!", _MAP_TAG if is_map else _SEQ_TAG):
                    raise FrontMatterError(f"YAML tag {tag} is not allowed (line {line})")
                if len(stack) >= MAX_DEPTH:
                    raise FrontMatterError(
                        f"front matter is nested deeper than {MAX_DEPTH} levels (line {line})"
                    )
                if stack and isinstance(stack[-1].container, dict) and not stack[-1].has_key:
                    raise FrontMatterError(f"mapping keys must be plain values (line {line})")
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
    plain = tag is None and bool(event.implicit[0]) and not event.style
    if tag == "!":  # the non-specific tag: text, whatever it looks like
        tag = _STR
    elif tag is None:
        tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)
    if tag == "tag:yaml.org,2002:merge":
        raise FrontMatterError(f"YAML merge keys (<<) are not supported (line {line})")
    if tag == _VALUE and plain:
        tag = _STR
    if tag not in _ALLOWED_TAGS:
        raise FrontMatterError(f"YAML tag {tag} is not allowed (line {line})")
    if tag == _STR:
        return event.value
    if tag in (_INT, _FLOAT) and len(event.value) > MAX_NUMBER_CHARS:
        return event.value  # no number is that long; the field validators say so
    node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
    try:
        value = loader.yaml_constructors[tag](loader, node)
    except (ValueError, OverflowError, yaml.YAMLError):
        # e.g. '2024-13-45' resolves as a timestamp but is not a date: keep the text;
        # the field validators say what is wrong with it.
        return event.value
    if value is None or not plain:
        return value
    return Plain(value, event.value)


class _Nothing:
    pass


_NOTHING: Any = _Nothing()
