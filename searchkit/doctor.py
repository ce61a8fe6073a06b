"""Lint a folder of clippings without an index (``searchkit doctor``).

Every file is read as ``index`` reads it (:mod:`searchkit.scan` picks the files,
:mod:`searchkit.documents` loads them), so whatever ``index`` would refuse is an
*error* here, with the message ``index`` prints for it. On top of that come
*warnings*: what loads but a person wants to fix --

* no date, or a date in the future (``publishedDateTime``, also in related items);
* an empty title or excerpt;
* the same article (by canonical URL) in several files, naming the others;
* related items without a URL or a title;
* text the loader had to repair for mojibake (``CafÃ©`` -> ``Café``), naming the field;
* unknown top-level keys (kept in ``Clipping.extra``, never indexed), with the known
  keys and, for a likely typo, the key that was probably meant.

Engine-neutral (no Whoosh, no index at all), never prints: it returns a
:class:`Checkup` of :class:`Finding` dataclasses. Files are read in two worker
processes for large folders, the way ``index`` reads them (:mod:`searchkit.loading`).
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from . import documents
from .errors import ClippingError, FileVanishedError
from .loading import Progress, map_files, read_listed
from .output import iso
from .scan import scan


class Severity(str, Enum):
    error = "error"  # `index` refuses the file (or cannot list a folder)
    warning = "warning"  # it loads, but a person wants to fix it


@dataclass(frozen=True)
class Finding:
    """One problem: ``str()`` is ``path: field: problem (severity)``; without a field,
    ``path: problem (severity)``. For an error, ``path: field: problem`` is the message
    ``index`` prints for the file it refuses."""

    path: str
    field: str | None
    problem: str
    severity: Severity

    @property
    def message(self) -> str:
        return f"{self.path}: {self.field}: {self.problem}" if self.field \
            else f"{self.path}: {self.problem}"

    def counts(self, strict: bool) -> bool:
        """Whether this finding fails the check: errors always, warnings with ``strict``."""
        return strict or self.severity is Severity.error

    def __str__(self) -> str:
        return f"{self.message} ({self.severity.value})"


@dataclass(frozen=True)
class Checkup:
    """What :func:`check_folder` found: ``findings`` sorted by path (errors first within
    a file), ``files`` the number of clipping files read."""

    folder: str
    files: int
    findings: tuple[Finding, ...]
    seconds: float = 0.0

    @property
    def errors(self) -> int:
        return sum(f.severity is Severity.error for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.severity is Severity.warning for f in self.findings)

    @property
    def files_with_findings(self) -> int:
        return len({f.path for f in self.findings})

    def counting(self, strict: bool) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.counts(strict))

    def ok(self, strict: bool) -> bool:
        """No finding that counts: errors never pass, warnings only without ``strict``."""
        return not self.counting(strict)

    def summary(self) -> str:
        """``12 files: 2 errors, 5 warnings in 3 files``."""
        files = _plural(self.files, "file")
        if not self.findings:
            return f"{files}: no problems found"
        return (f"{files}: {_plural(self.errors, 'error')}, "
                f"{_plural(self.warnings, 'warning')} in "
                f"{_plural(self.files_with_findings, 'file')}")

    def record(self, strict: bool) -> dict[str, Any]:
        """The JSON form: the findings and a summary."""
        return {
            "folder": self.folder,
            "findings": [{"path": f.path, "field": f.field, "problem": f.problem,
                          "severity": f.severity.value} for f in self.findings],
            "summary": {"files": self.files, "errors": self.errors,
                        "warnings": self.warnings,
                        "files_with_findings": self.files_with_findings,
                        "strict": strict, "ok": self.ok(strict)},
            "seconds": round(self.seconds, 3),
        }


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# ---------------------------------------------------------------- the folder


def check_folder(folder: str | os.PathLike[str], *, now: dt.datetime | None = None,
                 workers: int | None = None, progress: Progress | None = None) -> Checkup:
    """Lint every clipping under ``folder`` (the files ``index`` would read).

    ``now`` (aware) decides what is "in the future"; ``workers``: processes that read
    files (default: two where there are two cores). Raises
    :class:`~searchkit.errors.ConfigError` when ``folder`` is missing or not a folder.
    """
    started = time.perf_counter()
    files = scan(folder)
    now = now or dt.datetime.now(dt.timezone.utc)
    folder_s = os.fspath(folder)
    if workers is None:
        workers = min(2, os.cpu_count() or 1)
    findings: list[Finding] = []
    for failure in files.failed:  # folders (and files) the scan could not list or stat
        prefix = f"{failure.path}: "
        problem = failure.message[len(prefix):] if failure.message.startswith(prefix) \
            else failure.message
        findings.append(Finding(failure.path, None, problem, Severity.error))
    articles: dict[str, list[tuple[str, str]]] = {}
    for result in _check_many(folder_s, sorted(files), now, workers, progress):
        findings += result.findings
        if result.canonical_url:
            articles.setdefault(result.canonical_url, []).append((result.path, result.url_key))
    findings += _duplicates(articles)
    order = {Severity.error: 0, Severity.warning: 1}
    findings.sort(key=lambda f: (f.path, order[f.severity]))  # stable: check order kept
    return Checkup(folder_s, len(files), tuple(findings), time.perf_counter() - started)


@dataclass(frozen=True)
class _FileResult:
    path: str
    findings: tuple[Finding, ...]
    canonical_url: str = ""
    url_key: str = ""  # the key the clipping's URL came from (webUrl, originalUrl, ...)


def _check_many(folder: str, rels: Sequence[str], now: dt.datetime, workers: int,
                progress: Progress | None) -> Iterator[_FileResult]:
    """Check ``rels`` in order, in worker processes for large folders (as ``index``
    loads them: see :func:`searchkit.loading.load_many`)."""
    root = os.path.realpath(folder)  # once: a file whose real path leaves it is refused
    return map_files(_check_task, [(folder, root, rel, now) for rel in rels], progress,
                     workers)


def _check_task(task: tuple[str, str, str, dt.datetime]) -> _FileResult:
    """One file, read as :func:`searchkit.loading.load_many` reads it. Runs in workers;
    never raises for one bad file."""
    folder, root, rel, now = task
    try:
        data, _ = read_listed(folder, root, rel)
        return _check_bytes(data, rel, now)
    except FileVanishedError:  # deleted since the scan: nothing to lint
        return _FileResult(rel, ())
    except ClippingError as exc:
        return _FileResult(rel, (_error(exc),))
    except Exception as exc:  # a loader bug must not cost the other files
        return _FileResult(rel, (Finding(
            rel, None, f"internal error while loading ({type(exc).__name__}: {exc}); "
                       "please report it", Severity.error),))


def _error(exc: ClippingError) -> Finding:
    return Finding(exc.path, exc.field, exc.problem, Severity.error)


def _duplicates(articles: Mapping[str, list[tuple[str, str]]]) -> Iterator[Finding]:
    for url, holders in articles.items():
        if len(holders) < 2:
            continue
        for path, key in holders:
            others = [p for p, _ in holders if p != path]
            shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more"
                                             if len(others) > 3 else "")
            yield Finding(path, key, f"the same article as {shown} (canonical URL {url})",
                          Severity.warning)


# ---------------------------------------------------------------- one file


def _check_bytes(data: bytes, rel: str, now: dt.datetime) -> _FileResult:
    """The findings for one file's bytes (``rel``: its path in the folder)."""
    try:
        meta = documents.read_mapping(data, rel)
    except ClippingError as exc:
        return _FileResult(rel, (_error(exc),))
    found = list(_unknown_keys(meta, rel)) + list(_mojibake(meta, rel))
    try:
        clip = documents.from_mapping(meta, rel)
    except ClippingError as exc:
        return _FileResult(rel, (_error(exc), *found))
    return _FileResult(rel, (*_clipping_warnings(clip, now), *found), clip.canonical_url,
                       next(iter(clip.urls), ""))


def _clipping_warnings(clip: documents.Clipping, now: dt.datetime) -> Iterator[Finding]:
    def warn(fld: str, problem: str) -> Finding:
        return Finding(clip.id, fld, problem, Severity.warning)

    if clip.published is None:
        yield warn("publishedDateTime", "no date (missing or empty): searches by date "
                                        "and the timeline cannot place it")
    elif clip.published > now:
        yield warn("publishedDateTime", f"{iso(clip.published)} is in the future")
    if not clip.title:
        yield warn("title", "no title (missing or empty)")
    if not clip.excerpt:
        yield warn("excerpt", "no excerpt (missing or empty)")
    for i, item in enumerate(clip.related):
        missing = [what for what, value in (("title", item.title), ("URL", item.url))
                   if not value]
        if missing:
            yield warn(f"related[{i}]", f"no {' or '.join(missing)}")
        if item.published is not None and item.published > now:
            yield warn(f"related[{i}].publishedDateTime",
                       f"{iso(item.published)} is in the future")


# Keys feeds and other tools use for what searchkit calls by another name.
_ALIASES = {
    "date": "publishedDateTime", "pubdate": "publishedDateTime",
    "publishdate": "publishedDateTime", "publishedat": "publishedDateTime",
    "publisheddate": "publishedDateTime", "datetime": "publishedDateTime",
    "link": "url", "href": "url", "tags": "topics", "keywords": "topics",
    "summary": "excerpt", "description": "excerpt", "headline": "title",
    "source": "provider", "publisher": "provider", "image": "images",
}
_BY_LOWER = {k.lower(): k for k in documents.KNOWN_KEYS}
_KNOWN_SHOWN = ", ".join(sorted(documents.KNOWN_KEYS - documents.SECRET_KEYS, key=str.lower))


def suggest_key(key: str) -> str | None:
    """The known key an unknown ``key`` was probably meant to be, if any."""
    low = key.lower()
    squashed = low.replace("_", "").replace("-", "")
    if low in _BY_LOWER or squashed in _BY_LOWER:
        return _BY_LOWER.get(low) or _BY_LOWER[squashed]
    if squashed in _ALIASES:
        return _ALIASES[squashed]
    close = difflib.get_close_matches(squashed, list(_BY_LOWER), n=1, cutoff=0.75)
    return _BY_LOWER[close[0]] if close else None


def _unknown_keys(meta: Mapping[str, Any], rel: str) -> Iterator[Finding]:
    for key in meta:
        if key in documents.KNOWN_KEYS:
            continue
        guess = suggest_key(key)
        hint = f"did you mean {guess}? " if guess else ""
        yield Finding(rel, key, f"unknown key, kept but not indexed; {hint}"
                                f"(known keys: {_KNOWN_SHOWN})", Severity.warning)


def _mojibake(meta: Mapping[str, Any], rel: str) -> Iterator[Finding]:
    """Text the loader repairs for mojibake (the encoding step of ftfy's ``fix_text``,
    which :func:`searchkit.documents.clean_text` applies), field by field."""
    for key, value in meta.items():
        if key not in documents.KNOWN_KEYS:
            continue  # unknown keys are kept as written, never repaired
        for where, text in _texts(value, key):
            import ftfy  # only files with non-ASCII text pay for it

            if ftfy.fix_encoding(text) != text:
                before, after = _difference(text, documents.clean_text(text))
                yield Finding(rel, where, f"text needed mojibake repair: {before} is indexed "
                                          f"as {after}; save the correct text in the file",
                              Severity.warning)


def _texts(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """(field path, text) for every non-ASCII string in ``value``."""
    if isinstance(value, str):
        if not value.isascii():
            yield where, value
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _texts(item, f"{where}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _texts(item, f"{where}.{key}")


def _difference(text: str, repaired: str, context: int = 15) -> tuple[str, str]:
    """Where ``text`` and ``repaired`` first differ, quoted, with a few words around."""
    text, repaired = " ".join(text.split()), " ".join(repaired.split())
    same = 0
    while same < min(len(text), len(repaired)) and text[same] == repaired[same]:
        same += 1
    start = text.rfind(" ", 0, max(0, same - context)) + 1  # whole words only

    def window(s: str) -> str:
        end = s.find(" ", same + context)
        end = len(s) if end < 0 else end
        return '"' + ("…" if start else "") + s[start:end] + ("…" if end < len(s) else "") + '"'

    return window(text), window(repaired)
