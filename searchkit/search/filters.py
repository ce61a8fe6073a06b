"""Dates, numbers and filters -> Whoosh range queries.

``published:2021-05``, ``year:>=2021``, ``quality:[10 TO 20]`` in the query text and
``--since``/``--until``/``--provider``/... as :class:`Filters`: all in UTC, dates naming
whole periods ([start, end) in epoch seconds).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from typing import Any

from whoosh import query as wq

from ..errors import QueryError
from ..indexer import schema
from ..results import Filters
from ..vocabulary import DATE_YEARS, FILTERS, NUMBER_RANGES


@dataclass(frozen=True)
class Period:
    """A half-open UTC span [start, end) in epoch seconds."""

    start: int
    end: int


_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


def parse_period(text: str) -> Period:
    """``2021`` / ``2021-05`` / ``2021-05-05`` / an ISO instant -> the span it names,
    within the years DATE_YEARS in UTC (ValueError outside them, or if not a date)."""
    value = text.strip()
    m = _DATE_RE.match(value)
    if value[:4].isdigit() and not DATE_YEARS[0] <= int(value[:4]) <= DATE_YEARS[1]:
        raise _outside(text)
    try:
        if m:
            year, month, day = int(m.group(1)), m.group(2), m.group(3)
            if month is None:
                start = dt.datetime(year, 1, 1, tzinfo=dt.timezone.utc)
                end = dt.datetime(year + 1, 1, 1, tzinfo=dt.timezone.utc)
            elif day is None:
                start = dt.datetime(year, int(month), 1, tzinfo=dt.timezone.utc)
                end = (start + dt.timedelta(days=32)).replace(day=1)
            else:
                start = dt.datetime(year, int(month), int(day), tzinfo=dt.timezone.utc)
                end = start + dt.timedelta(days=1)
            period = Period(int(start.timestamp()), int(end.timestamp()))
        else:
            from ..documents import normalise_datetime  # not on the start-up path

            seconds = int(normalise_datetime(value).timestamp())
            period = Period(seconds, seconds + 1)
    except (ValueError, OverflowError):
        raise ValueError(
            f"not a date: {text!r} (use YYYY, YYYY-MM, YYYY-MM-DD or an ISO 8601 time)"
        ) from None
    if period.start < _FIRST or period.end > _END:
        raise _outside(text)  # an offset carried it over: 1800-01-01T00:30+01:00
    return period


def _outside(text: str) -> ValueError:
    return ValueError(f"{text.strip()[:40]!r} is outside the years {DATE_YEARS[0]}-"
                      f"{DATE_YEARS[1]} (UTC) that dates may have")


_FIRST = int(dt.datetime(DATE_YEARS[0], 1, 1, tzinfo=dt.timezone.utc).timestamp())
_END = int(dt.datetime(DATE_YEARS[1] + 1, 1, 1, tzinfo=dt.timezone.utc).timestamp())


class NumberRange(wq.NumericRange):  # type: ignore[misc]
    """Whoosh's NumericRange, its terms unioned through one array of documents.

    A range is many terms (a term per value at the edges of each precision level,
    ~180 for half a year of days). Whoosh joins them into a binary tree of union
    matchers on indexes over 5,000 documents, which costs a walk down the tree for
    every match; an array union reads each posting list once and costs nothing more.
    """

    def _compile_query(self, ixreader: Any) -> wq.Query:
        q = super()._compile_query(ixreader)
        inner = q.child if isinstance(q, wq.ConstantScoreQuery) else q
        parts = inner.subqueries if isinstance(inner, wq.Or) else [inner]
        terms: list[wq.Query] = []
        for part in parts:
            if isinstance(part, wq.TermRange):
                terms.extend(wq.Term(self.fieldname, t) for t in part._btexts(ixreader))
            else:
                terms.append(part)
        if len(terms) < 2:
            return q
        union = wq.Or(terms)
        union.matcher_type = wq.Or.ARRAY_MATCHER
        return wq.ConstantScoreQuery(union, self.boost) if self.constantscore else union


def period_query(start: int | None, end: int | None) -> wq.Query:
    """Entries published in [start, end) (epoch seconds; None = open)."""
    if start is None and end is None:
        return wq.Every("published")
    if (start is None or start % 86_400 == 0) and (end is None or end % 86_400 == 0):
        lo = None if start is None else start // 86_400
        hi = None if end is None else end // 86_400 - 1
        return NumberRange("day", lo, hi)
    return NumberRange("published", start, None if end is None else end - 1)


def _number(field: str, text: str) -> int:
    """A whole number within the values ``field`` holds (NUMBER_RANGES)."""
    low, high = NUMBER_RANGES[field]
    if not re.fullmatch(r"[+-]?\d+", text.strip()):
        raise ValueError(f"not a whole number: {text!r}")
    if len(text.strip().lstrip("+-")) > 12 or not low <= int(text) <= high:
        raise ValueError(f"{text.strip()[:20]} is out of range: {field} runs from {low} "
                         f"to {high}")
    return int(text)


def range_query(field: str, value: str) -> wq.Query:
    """Comparison, range or single value on a date or number field (ValueError if bad)."""
    if field == "published":
        def span(t: str) -> tuple[int, int]:
            p = parse_period(t)
            return p.start, p.end
    else:
        def span(t: str) -> tuple[int, int]:
            n = _number(field, t)
            return n, n + 1

    def make(lo: int | None, hi: int | None) -> wq.Query:  # [lo, hi)
        if field == "published":
            return period_query(lo, hi)
        return NumberRange(field, lo, None if hi is None else hi - 1)

    m = re.fullmatch(r"([<>]=?)(.+)", value)
    if m:
        op, operand = m.groups()
        start, end = span(operand)
        return {">": make(end, None), ">=": make(start, None),
                "<": make(None, start), "<=": make(None, end)}[op]
    m = re.fullmatch(r"([\[{])\s*(.*?)\s+TO\s+(.*?)\s*([\]}])", value)
    if m:
        left, a, b, right = m.groups()
        lo = hi = None
        if a not in ("", "*"):
            s, e = span(a)
            lo = s if left == "[" else e
        if b not in ("", "*"):
            s, e = span(b)
            hi = e if right == "]" else s
        if lo is not None and hi is not None and lo >= hi:
            raise ValueError(f"empty range {value!r}: the start is after the end")
        return make(lo, hi)
    if value.startswith(("[", "{")):
        raise ValueError(f"ranges are written [FROM TO UNTIL], not {value!r}")
    start, end = span(value)
    return make(start, end)


# ---------------------------------------------------------------- filters

_SPAN = re.compile(r"^(\d{1,5})([dwmy])$")


def since_until(text: str, *, end: bool, now: dt.datetime | None = None) -> int:
    """A ``--since``/``--until`` value -> epoch seconds.

    Dates name whole periods: ``--since 2021-05`` starts on May 1st, ``--until 2021-05``
    ends with May 31st. Spans count back from now: ``7d``, ``2w``, ``6m`` (calendar
    months), ``1y``.
    """
    value = text.strip()
    m = _SPAN.match(value)
    if m:
        count, unit = int(m.group(1)), m.group(2)
        now = now or dt.datetime.now(dt.timezone.utc)
        if unit in "dw":
            moment = now - dt.timedelta(days=count * (7 if unit == "w" else 1))
        else:
            months = count * (12 if unit == "y" else 1)
            y, mo = divmod(now.year * 12 + now.month - 1 - months, 12)
            day = min(now.day, _month_days(y, mo + 1))
            moment = now.replace(year=y, month=mo + 1, day=day)
        return int(moment.timestamp())
    period = parse_period(value)
    return period.end if end else period.start


def _month_days(year: int, month: int) -> int:
    nxt = dt.date(year + month // 12, month % 12 + 1, 1)
    return (nxt - dt.timedelta(days=1)).day


@functools.lru_cache(maxsize=1)
def index_schema() -> Any:
    """The index's schema, for analysing query words as the index analysed them."""
    return schema.build_schema()


def filter_query(filters: Filters, *, now: dt.datetime | None = None) -> wq.Query | None:
    """The Whoosh query for ``filters``, or None when there are none."""
    clauses: list[wq.Query] = []
    if filters.providers:
        alternatives: list[wq.Query] = []
        for name in filters.providers:
            words = list(index_schema()["provider"].process_text(name, mode="query"))
            if words:
                alternatives.append(wq.Phrase("provider", words) if len(words) > 1
                                    else wq.Term("provider", words[0]))
            alternatives.append(wq.Term("domain", name.strip().lower()))
        clauses.append(wq.Or(alternatives))
    if filters.topics:
        clauses.append(wq.Or([wq.Term("topic", t.strip().lower()) for t in filters.topics]))
    if filters.kinds:
        clauses.append(wq.Or([wq.Term("kind", k) for k in filters.kinds]))
    since, until = FILTERS["since"], FILTERS["until"]
    try:
        start = since_until(filters.since, end=False, now=now) if filters.since else None
        end = since_until(filters.until, end=True, now=now) if filters.until else None
    except ValueError as exc:
        which = since if filters.since and not _valid(filters.since) else until
        raise QueryError(filters.since or filters.until or "", f"{which}: {exc}") from None
    if start is not None or end is not None:
        if start is not None and end is not None and start >= end:
            raise QueryError(f"{filters.since} .. {filters.until}",
                             f"{since} is after {until}: nothing can match")
        clauses.append(period_query(start, end))
    if filters.min_quality is not None:
        clauses.append(NumberRange("quality", filters.min_quality, None))
    if filters.arrived_after is not None:  # epoch milliseconds (indexer.arrivals)
        after = round(filters.arrived_after.timestamp() * 1000)
        clauses.append(NumberRange("arrived", after + 1, None))
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else wq.And(clauses)


def _valid(value: str) -> bool:
    try:
        since_until(value, end=False)
        return True
    except ValueError:
        return False
