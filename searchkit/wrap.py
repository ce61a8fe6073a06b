"""Fitting text to a terminal's width: words wrapped whole, URLs broken only between parts.

Pure functions of text and a width (the CLI measures the terminal); no Whoosh. Text
arrives as styled runs, ``(text, style)``, so that colour codes and ``**`` markers wrap
with their word and are never counted as width.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence

Run = tuple[str, Callable[[str], str]]  # text, and how to render it (colour, markers)
Word = tuple[str, int]  # rendered text, and the terminal cells it takes

MIN_WIDTH = 20  # cells for text even on a very narrow terminal
ELLIPSIS: Word = ("…", 1)  # between snippet fragments
_SPACE = re.compile(r"(\s+)")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# A URL breaks after a slash (not inside "//") and before a query, parameter or anchor.
_URL_BREAK = re.compile(r"(?<=/)(?!/)|(?=[?&#])")
_SLUG_BREAK = re.compile(r"(?<=[-_.])")  # inside a part still too long for a line


def plain(text: str) -> Run:
    return (text, _same)


def _same(text: str) -> str:
    return text


def cells(text: str) -> int:
    """Terminal cells ``text`` takes: wide (CJK) characters two, combining marks none;
    colour codes none."""
    text = _ANSI.sub("", text)
    if text.isascii():
        return len(text)
    n = 0
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        n += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return n


def words(runs: Iterable[Run]) -> list[Word]:
    """The words of ``runs`` (split at whitespace, which is dropped), each rendered with
    the styles of the runs it spans: ``**facial**,`` stays one word."""
    out: list[Word] = []
    text, width = "", 0
    for run, style in runs:
        for part in _SPACE.split(run):
            if not part:
                continue
            if part.isspace():
                if text:
                    out.append((text, width))
                text, width = "", 0
                continue
            rendered = style(part)
            text, width = text + rendered, width + cells(rendered)
    if text:
        out.append((text, width))
    return out


def fill(items: Sequence[Word], width: int) -> list[str]:
    """``items`` as lines of at most ``width`` cells, one space between words. A word
    wider than a line is never broken: it gets a line of its own. ``width`` 0: one line."""
    lines: list[str] = []
    line: list[str] = []
    used = 0
    for text, n in items:
        if line and width and used + 1 + n > width:
            lines.append(" ".join(line))
            line, used = [], 0
        used += n + (1 if line else 0)
        line.append(text)
    if line:
        lines.append(" ".join(line))
    return lines


def url_lines(url: str, width: int) -> list[str]:
    """``url`` whole when it fits in ``width`` cells (0: always), else broken after a
    ``/`` or before ``?``, ``&``, ``#``; a part still too long breaks after ``-``, ``_``
    or ``.``, and only a run without any of these is cut at the width."""
    if not width or cells(url) <= width:
        return [url]
    parts: list[str] = []
    for part in _URL_BREAK.split(url):
        if cells(part) <= width:
            parts.append(part)
            continue
        for piece in _SLUG_BREAK.split(part):
            while cells(piece) > width:
                parts.append(piece[:width])
                piece = piece[width:]
            parts.append(piece)
    lines: list[str] = []
    line = ""
    for part in parts:
        if not part:
            continue
        if line and cells(line) + cells(part) > width:
            lines.append(line)
            line = ""
        line += part
    if line:
        lines.append(line)
    return lines
