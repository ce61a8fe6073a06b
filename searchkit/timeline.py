"""Timelines: dates of matches -> counts per day, week, month or year (``--timeline``).

Engine-neutral: the engine counts matches per UTC day (:func:`searchkit.search`), this
module chooses the bucket size, names the periods and fills the empty ones between the
first and the last, so that a chart shows gaps as gaps.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from enum import Enum

from .results import Timeline


class Bucket(str, Enum):
    auto = "auto"  # the smallest of the others that gives BARS bars
    day = "day"
    week = "week"  # ISO weeks, Monday to Sunday: 2020-W48
    month = "month"
    year = "year"


BUCKETS = tuple(b.value for b in Bucket)
SIZES = (Bucket.day, Bucket.week, Bucket.month, Bucket.year)
BARS = (10, 60)  # bars an automatic bucket size aims for (fewest, most)

_EPOCH = dt.date(1970, 1, 1)


def _date(day: int) -> dt.date:
    return _EPOCH + dt.timedelta(days=day)


def _start(day: dt.date, bucket: Bucket) -> dt.date:
    """The first day of the period of ``bucket`` that holds ``day``."""
    if bucket is Bucket.week:
        return day - dt.timedelta(days=day.weekday())
    if bucket is Bucket.month:
        return day.replace(day=1)
    if bucket is Bucket.year:
        return day.replace(month=1, day=1)
    return day


def _next(start: dt.date, bucket: Bucket) -> dt.date:
    if bucket is Bucket.week:
        return start + dt.timedelta(days=7)
    if bucket is Bucket.month:
        return (start + dt.timedelta(days=32)).replace(day=1)
    if bucket is Bucket.year:
        return start.replace(year=start.year + 1)
    return start + dt.timedelta(days=1)


def label(start: dt.date, bucket: Bucket) -> str:
    """``2020-11-23``, ``2020-W48``, ``2020-11`` or ``2020``."""
    if bucket is Bucket.week:
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    if bucket is Bucket.month:
        return f"{start.year:04d}-{start.month:02d}"
    if bucket is Bucket.year:
        return f"{start.year:04d}"
    return start.isoformat()


def _periods(first: dt.date, last: dt.date, bucket: Bucket) -> Iterator[dt.date]:
    start = _start(first, bucket)
    while start <= last:
        yield start
        start = _next(start, bucket)


def bars(first: dt.date, last: dt.date, bucket: Bucket) -> int:
    """How many periods of ``bucket`` run from ``first`` to ``last``, both included."""
    a, b = _start(first, bucket), _start(last, bucket)
    if bucket is Bucket.day:
        return (b - a).days + 1
    if bucket is Bucket.week:
        return (b - a).days // 7 + 1
    if bucket is Bucket.month:
        return (b.year - a.year) * 12 + b.month - a.month + 1
    return b.year - a.year + 1


def choose(first: dt.date, last: dt.date) -> Bucket:
    """The smallest bucket size giving BARS[0]..BARS[1] bars; failing that, the smallest
    giving at most BARS[1] (a short span: days), else years."""
    fits = [b for b in SIZES if bars(first, last, b) <= BARS[1]]
    for bucket in fits:
        if bars(first, last, bucket) >= BARS[0]:
            return bucket
    return fits[0] if fits else Bucket.year


def build(per_day: Mapping[int, int], undated: int = 0, bucket: Bucket = Bucket.auto
          ) -> Timeline:
    """The timeline of ``per_day`` counts (UTC days since 1970-01-01 -> matches): every
    period from the first dated match to the last, empty ones included."""
    if not per_day:
        return Timeline(bucket=Bucket.day.value if bucket is Bucket.auto else bucket.value,
                        periods=(), undated=undated)
    first, last = _date(min(per_day)), _date(max(per_day))
    if bucket is Bucket.auto:
        bucket = choose(first, last)
    counts = dict.fromkeys(_periods(first, last, bucket), 0)
    for day, n in per_day.items():
        counts[_start(_date(day), bucket)] += n
    return Timeline(bucket=bucket.value,
                    periods=tuple((label(s, bucket), n) for s, n in counts.items()),
                    undated=undated)
