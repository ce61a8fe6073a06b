"""User query text -> a Whoosh query.

Whoosh's query syntax (words, ``"phrases"``, AND/OR/NOT, ``( )``, ``field:term``,
``term*``, ``term~``) with searchkit's rules on top:

* the field names people type (``provider:``, ``topic:``, ``url:``, ...) are mapped
  onto index fields; an unknown field is an error listing the valid ones;
* dates (``published:2021-05``, ``published:[2020-01 TO 2020-06]``,
  ``published:>=2021-01-01``) and numbers (``quality:>50``) are parsed here, in
  UTC, with whole-period boundaries;
* all words must match by default (``mode="and"``); ``mode="or"`` ranks any match;
* caps on length, terms, nesting and wildcard prefixes keep hostile queries cheap;
* ``literal=True`` searches the words as typed, with no syntax at all.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from whoosh import query as wq
from whoosh.qparser import (
    AndGroup,
    FieldAliasPlugin,
    FieldsPlugin,
    FuzzyTermPlugin,
    MultifieldParser,
    OrGroup,
    syntax,
)
from whoosh.qparser.plugins import TaggingPlugin

from .errors import QueryError
from .indexer import schema
from .results import FIELDS, Filters

MAX_QUERY_CHARS = 4_096
MAX_TERMS = 256
MAX_TOKEN_CHARS = 128
MAX_NESTING = 32
MIN_WILDCARD_PREFIX = 2
MAX_EXPANSION = 1_000  # words one wildcard, prefix or fuzzy term may expand to

_RANGE_FIELDS = ("published", "year", "quality")
_SPECIAL = "|".join(_RANGE_FIELDS + ("url",))
_SPECIAL_EXPR = (
    rf"(?P<field>{_SPECIAL}):"
    r"(?P<value>\[[^\]]*\]|\{[^}]*\}|\"[^\"]*\"|[<>]=?[^\s()]*|[^\s()]+)"
)


@dataclass(frozen=True)
class Period:
    """A half-open UTC span [start, end) in epoch seconds; ``whole_days`` if on day bounds."""

    start: int
    end: int

    @property
    def whole_days(self) -> bool:
        return self.start % 86_400 == 0 and self.end % 86_400 == 0


# ---------------------------------------------------------------- dates and numbers

_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


def parse_period(text: str) -> Period:
    """``2021`` / ``2021-05`` / ``2021-05-05`` / an ISO instant -> the span it names."""
    value = text.strip()
    m = _DATE_RE.match(value)
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
            return Period(int(start.timestamp()), int(end.timestamp()))
        from .documents import normalise_datetime  # not on the start-up path

        instant = normalise_datetime(value)
    except (ValueError, OverflowError):
        raise ValueError(
            f"not a date: {text!r} (use YYYY, YYYY-MM, YYYY-MM-DD or an ISO 8601 time)"
        ) from None
    seconds = int(instant.timestamp())
    return Period(seconds, seconds + 1)


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


def _number(text: str) -> int:
    if not re.fullmatch(r"[+-]?\d{1,12}", text.strip()):
        raise ValueError(f"not a whole number: {text!r}")
    return int(text)


def _range_query(field: str, value: str) -> wq.Query:
    """Comparison, range or single value on a date or number field."""
    if field == "published":
        def span(t: str) -> tuple[int, int]:
            p = parse_period(t)
            return p.start, p.end
    else:
        def span(t: str) -> tuple[int, int]:
            n = _number(t)
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


# ---------------------------------------------------------------- whoosh plugins


class _ReadyNode(syntax.SyntaxNode):  # type: ignore[misc]
    """A syntax node holding a query already built by searchkit."""

    def __init__(self, q: wq.Query) -> None:
        self.q = q

    def r(self) -> str:
        return f"<ready {self.q!r}>"

    def query(self, parser: Any) -> wq.Query:
        return self.q


class _SpecialFieldsPlugin(TaggingPlugin):  # type: ignore[misc]
    """``published:``, ``year:``, ``quality:`` and ``url:``, parsed by searchkit."""

    priority = -10  # before Whoosh's field-name tagger
    expr = _SPECIAL_EXPR

    def __init__(self, source: str) -> None:
        super().__init__()
        self.source = source

    def create(self, parser: Any, match: re.Match[str]) -> _ReadyNode:
        field, value = match.group("field"), match.group("value")
        if value.startswith('"') and value.endswith('"'):
            value = value[1:-1]
        try:
            if field == "url":
                from .documents import canonical_url

                return _ReadyNode(wq.Term("canonical", canonical_url(value)))
            return _ReadyNode(_range_query(field, value))
        except ValueError as exc:
            raise QueryError(self.source, f"{field}: {exc}", match.start()) from None


class _StrictFieldsPlugin(FieldsPlugin):  # type: ignore[misc]
    """Field names must be ones searchkit documents; Whoosh would search them as words."""

    def __init__(self, source: str) -> None:
        super().__init__(remove_unknown=False)
        self.source = source

    def filters(self, parser: Any) -> list[tuple[Any, int]]:
        return [(self.check_names, 80), *super().filters(parser)]

    def check_names(self, parser: Any, group: Any) -> Any:
        for node in group:
            if isinstance(node, syntax.GroupNode):
                self.check_names(parser, node)
            elif isinstance(node, syntax.FieldnameNode) and node.fieldname not in FIELDS:
                raise QueryError(
                    self.source,
                    f"unknown field {node.fieldname + ':'!r}; valid fields: "
                    + ", ".join(f"{name}:" for name in FIELDS)
                    + " (or use --literal to search the words as typed)",
                    node.startchar,
                )
        return group


def _parser(source: str, mode: str) -> MultifieldParser:
    group = AndGroup if mode == "and" else OrGroup.factory(0.9)
    parser = MultifieldParser(list(schema.TEXT_FIELDS), _schema(), group=group)
    parser.remove_plugin_class(FieldsPlugin)
    parser.add_plugin(_StrictFieldsPlugin(source))
    parser.add_plugin(_SpecialFieldsPlugin(source))
    parser.add_plugin(FieldAliasPlugin({"topics": ["topic"]}))
    parser.add_plugin(FuzzyTermPlugin())
    return parser


@functools.lru_cache(maxsize=1)
def _schema() -> Any:
    return schema.build_schema()


# ---------------------------------------------------------------- checks


def _precheck(text: str) -> None:
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(text[:80] + "...", f"query is longer than {MAX_QUERY_CHARS} characters")
    depth, in_quote = 0, False
    for pos, ch in enumerate(text):
        if ch == '"':
            in_quote = not in_quote
        elif in_quote:
            continue
        elif ch == "(":
            depth += 1
            if depth > MAX_NESTING:
                raise QueryError(text, f"more than {MAX_NESTING} nested parentheses", pos)
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise QueryError(text, "')' without a matching '('", pos)
    if in_quote:
        raise QueryError(text, 'unclosed quote: add the closing "', text.rfind('"'))
    if depth:
        raise QueryError(text, "unclosed '(': add the closing ')'", text.rfind("("))
    words = text.split()
    if len(words) > MAX_TERMS:
        raise QueryError(text[:80] + "...", f"query has more than {MAX_TERMS} terms")
    for word in words:
        if len(word) > MAX_TOKEN_CHARS:
            raise QueryError(text[:80] + "...", f"a word is longer than {MAX_TOKEN_CHARS} "
                             "characters")


def _postcheck(source: str, q: wq.Query) -> None:
    for node in walk(q):
        if isinstance(node, (wq.Wildcard, wq.Prefix)):
            literal = re.split(r"[*?]", node.text, maxsplit=1)[0]
            if isinstance(node, wq.Wildcard) and len(literal) < MIN_WILDCARD_PREFIX:
                raise QueryError(source, f"wildcard {node.text!r} needs at least "
                                 f"{MIN_WILDCARD_PREFIX} letters before * or ?")
            if isinstance(node, wq.Prefix) and len(node.text) < MIN_WILDCARD_PREFIX:
                raise QueryError(source, f"prefix {node.text + '*'!r} needs at least "
                                 f"{MIN_WILDCARD_PREFIX} letters before *")
        if isinstance(node, wq.Every):
            raise QueryError(source, "a lone * matches everything: give words, or leave the "
                             "query empty and use filters")
        if isinstance(node, wq.TermRange):
            raise QueryError(source, f"ranges work on published:, year: and quality:, not "
                             f"{node.fieldname}:")


def walk(q: wq.Query) -> Iterable[wq.Query]:
    stack = [q]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(node.children())


def check_breadth(reader: Any, q: wq.Query, source: str) -> None:
    """Refuse wildcard and prefix terms that expand to too many index words (fuzzy
    terms are bounded by their edit distance and first letter instead).

    Counting stops at the cap, so the check costs at most MAX_EXPANSION term reads
    per pattern, however large the vocabulary."""
    for node in walk(q):
        if isinstance(node, (wq.Prefix, wq.Wildcard)):
            expanded = sum(1 for _ in itertools.islice(node._btexts(reader),
                                                       MAX_EXPANSION + 1))
            if expanded > MAX_EXPANSION:
                shown = node.text + ("*" if isinstance(node, wq.Prefix) else "")
                raise QueryError(source, f"{shown!r} is too broad: it matches more than "
                                 f"{MAX_EXPANSION} words in {node.fieldname}; add letters")


def _bounded_fuzzy(q: wq.Query, source: str) -> wq.Query:
    """term~N: at most 2 edits, and the first letter must match (as Lucene advises):
    matching 20,000 words at distance 2 takes ~0.4 s per field without it, ~0.1 s with."""
    if isinstance(q, wq.FuzzyTerm):
        if q.maxdist > 2:
            raise QueryError(source, f"fuzzy {q.text}~{q.maxdist}: at most 2 edits (term~2)")
        if q.prefixlength < 1:
            q = copy.copy(q)
            q.prefixlength = 1
        return q
    return q.apply(lambda child: _bounded_fuzzy(child, source))


def _provider_or_domain(q: wq.Query) -> wq.Query:
    if isinstance(q, (wq.Term, wq.Prefix, wq.Wildcard, wq.FuzzyTerm)) and \
            q.fieldname == "provider":
        alt = copy.copy(q)
        alt.fieldname = "domain"
        return wq.Or([q, alt])
    return q.apply(_provider_or_domain)


# ---------------------------------------------------------------- public


def parse(text: str, *, mode: str = "and", literal: bool = False) -> wq.Query:
    """Parse user query text; raise :class:`QueryError` with a fix on bad input."""
    if mode not in ("and", "or"):
        raise ValueError(f"mode must be 'and' or 'or', not {mode!r}")
    stripped = text.strip()
    if not stripped:
        return wq.Every()
    if literal:
        return literal_query(stripped, mode=mode)
    _precheck(stripped)
    if mode == "and" and is_plain(stripped):
        # Plain words: build what the parser would, without its ~10 ms of set-up.
        q = literal_query(stripped, mode="and")
        if q is wq.NullQuery:
            raise QueryError(stripped, "nothing to search for (only stop words?)")
        return _provider_or_domain(q)
    try:
        q = _parser(stripped, mode).parse(stripped)
    except QueryError:
        raise
    except RecursionError:
        raise QueryError(stripped, "query is nested too deeply") from None
    except Exception as exc:  # Whoosh raises assorted errors on odd input
        raise QueryError(stripped, f"{type(exc).__name__}: {exc}") from None
    if q is wq.NullQuery:
        raise QueryError(stripped, "nothing to search for (only stop words or operators?)")
    q = _bounded_fuzzy(_provider_or_domain(q), stripped)
    _postcheck(stripped, q)
    return q


_PLAIN = re.compile(r"^[^\W_]+(?:['.’][^\W_]+)*(?:\s+[^\W_]+(?:['.’][^\W_]+)*)*$")
_OPERATOR_WORDS = frozenset({"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "TO"})


def is_plain(text: str) -> bool:
    """Only words separated by spaces: no fields, operators, quotes or wildcards."""
    return bool(_PLAIN.match(text)) and not _OPERATOR_WORDS.intersection(text.split())


def literal_query(text: str, *, mode: str = "or") -> wq.Query:
    """Search the words as typed: no operators, fields or wildcards."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(text[:80] + "...", f"query is longer than {MAX_QUERY_CHARS} characters")
    words = re.findall(schema.TOKEN_PATTERN, text)[:MAX_TERMS]
    clauses: list[wq.Query] = []
    for word in words:
        per_field = [
            wq.Term(field, token)
            for field in schema.TEXT_FIELDS
            for token in _schema()[field].process_text(word, mode="query")
        ]
        if per_field:
            clauses.append(per_field[0] if len(per_field) == 1 else wq.Or(per_field))
    if not clauses:
        return wq.NullQuery
    if len(clauses) == 1:
        return clauses[0]
    return wq.And(clauses) if mode == "and" else wq.Or(clauses)


_OPERATORS = re.compile(r'(^|\s)(AND|OR|NOT|ANDNOT|ANDMAYBE)(\s|$)|(^|\s)[-+]|["()]')


def is_plain_words(text: str, q: wq.Query) -> bool:
    """Several words and nothing else: the query may fall back to partial matches.

    A query with operators, phrases, groups or negation means what it says."""
    if _OPERATORS.search(text):
        return False
    words = {t for f, t in q.iter_all_terms() if f in schema.TEXT_FIELDS}
    return len(words) > 1 and not any(isinstance(n, wq.Not) for n in walk(q))


def user_words(text: str) -> list[str]:
    """The words a person typed, without field names, operators or syntax, once each."""
    stripped = re.sub(r"\b\w+:", " ", text)
    seen: dict[str, None] = {}
    for word in re.findall(schema.TOKEN_PATTERN, stripped):
        if word not in ("AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "TO"):
            seen.setdefault(word)
    return list(seen)


def words_of(q: wq.Query) -> list[str]:
    """The analysed words a query looks for in the text fields, in order, once each."""
    seen: dict[str, None] = {}
    for field, text in q.iter_all_terms():
        if field in schema.TEXT_FIELDS:
            seen.setdefault(text if isinstance(text, str) else text.decode("utf-8"))
    return list(seen)


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


def filter_query(filters: Filters, *, now: dt.datetime | None = None) -> wq.Query | None:
    """The Whoosh query for ``filters``, or None when there are none."""
    clauses: list[wq.Query] = []
    if filters.providers:
        alternatives: list[wq.Query] = []
        for name in filters.providers:
            words = list(_schema()["provider"].process_text(name, mode="query"))
            if words:
                alternatives.append(wq.Phrase("provider", words) if len(words) > 1
                                    else wq.Term("provider", words[0]))
            alternatives.append(wq.Term("domain", name.strip().lower()))
        clauses.append(wq.Or(alternatives))
    if filters.topics:
        clauses.append(wq.Or([wq.Term("topic", t.strip().lower()) for t in filters.topics]))
    if filters.kinds:
        clauses.append(wq.Or([wq.Term("kind", k) for k in filters.kinds]))
    try:
        start = since_until(filters.since, end=False, now=now) if filters.since else None
        end = since_until(filters.until, end=True, now=now) if filters.until else None
    except ValueError as exc:
        which = "--since" if filters.since and not _valid(filters.since) else "--until"
        raise QueryError(filters.since or filters.until or "", f"{which}: {exc}") from None
    if start is not None or end is not None:
        if start is not None and end is not None and start >= end:
            raise QueryError(f"{filters.since} .. {filters.until}",
                             "--since is after --until: nothing can match")
        clauses.append(period_query(start, end))
    if filters.min_quality is not None:
        clauses.append(NumberRange("quality", filters.min_quality, None))
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else wq.And(clauses)


def _valid(value: str) -> bool:
    try:
        since_until(value, end=False)
        return True
    except ValueError:
        return False
