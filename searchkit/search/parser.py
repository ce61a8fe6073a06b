"""User query text -> a Whoosh query.

Whoosh's query syntax (words, ``"phrases"``, AND/OR/NOT, ``( )``, ``field:term``,
``term*``, ``term~``) with searchkit's rules on top:

* the field names people type (``provider:``, ``topic:``, ``url:``, ...; see
  :mod:`searchkit.vocabulary`) are mapped onto index fields; an unknown field is an
  error listing the valid ones;
* dates and numbers (``published:2021-05``, ``quality:>50``) are parsed by
  :mod:`.filters`, in UTC, with whole-period boundaries;
* all words must match by default (``mode="and"``); ``mode="or"`` ranks any match;
* caps on length, terms, nesting and wildcard prefixes keep hostile queries cheap;
* ``literal=True`` searches the words as typed, with no syntax at all.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from typing import Any

from whoosh import query as wq
from whoosh.qparser import (
    AndGroup,
    FieldAliasPlugin,
    FieldsPlugin,
    FuzzyTermPlugin,
    MultifieldPlugin,
    OrGroup,
    QueryParser,
    syntax,
)
from whoosh.qparser.plugins import TaggingPlugin

from .. import timeline as timelines
from ..errors import QueryError
from ..indexer import schema
from ..indexer.tokens import catenated
from ..results import Filters
from ..vocabulary import (
    BOOLEAN_WORDS,
    FACET_NAMES,
    FIELDS,
    FILTERS,
    MAX_FUZZY_EDITS,
    MAX_NESTING,
    MAX_TERMS,
    MAX_TOKEN_CHARS,
    MIN_WILDCARD_PREFIX,
    OPERATOR_WORDS,
    RANGE_FIELDS,
    SORT_KEYS,
    SPECIAL_FIELDS,
    URL_FIELDS,
    check_length,
)
from .filters import index_schema, range_query

_SPECIAL_EXPR = (
    rf"(?P<field>{'|'.join(RANGE_FIELDS)}):"
    r"(?P<value>\[[^\]]*\]|\{[^}]*\}|\"[^\"]*\"|[<>]=?[^\s()]*|[^\s()]+)"
    # a URL may hold balanced parentheses (wiki/Foo_(bar)); a group's ")" stays outside
    rf"|(?P<url_field>{'|'.join(URL_FIELDS)}):"
    r"(?P<url>\"[^\"]*\"|(?:[^\s()]|\([^\s()]*\))+)"
)
# ``url:VALUE`` / ``cites:VALUE`` in the raw text: exempt from the word-length cap.
_URL_VALUE = re.compile(rf"(?:^|(?<=[\s(+-]))(?:{'|'.join(URL_FIELDS)}):\S+")
# Typed names that search an index field of another name (``topic:`` -> ``topics``);
# the special fields are read by _SpecialFieldsPlugin instead.
_ALIASES = {f.index_field: [name] for name, f in FIELDS.items()
            if f.index_field != name and name not in SPECIAL_FIELDS}


# ---------------------------------------------------------------- whoosh plugins


def check_request(text: str, sort: str, timeline: str | None, facets: Iterable[str],
                  filters: Filters) -> None:
    """Raise QueryError for a search either engine must refuse before running it: an
    unknown sort, timeline bucket or facet, or neither words nor filters."""
    if sort not in SORT_KEYS:
        raise QueryError(text, f"unknown sort {sort!r}; use one of {', '.join(SORT_KEYS)}")
    if timeline is not None and timeline not in timelines.BUCKETS:
        raise QueryError(text, f"unknown timeline bucket {timeline!r}; use "
                         f"{', '.join(timelines.BUCKETS)}")
    unknown = [f for f in facets if f not in FACET_NAMES]
    if unknown:
        raise QueryError(text, f"unknown facet {unknown[0]!r}; use {', '.join(FACET_NAMES)}")
    if not text.strip() and not filters.active:
        such_as = ", ".join(FILTERS[name] for name in ("providers", "topics", "since"))
        raise QueryError(text, "empty query: give words to search for, or filters such as "
                         f"{such_as}")


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
        field = match.group("field") or match.group("url_field")
        value = match.group("value") or match.group("url")
        if value.startswith('"') and value.endswith('"'):
            value = value[1:-1]
        try:
            if field in URL_FIELDS:
                from ..documents import canonical_url

                return _ReadyNode(wq.Term(FIELDS[field].index_field,
                                          canonical_url(value)))
            return _ReadyNode(range_query(field, value))
        except ValueError as exc:
            raise QueryError(self.source, f"{field}: {exc}", match.start()) from None


class _FuzzyPlugin(FuzzyTermPlugin):  # type: ignore[misc]
    """``term~``: a bare tilde leaves the edit distance to :func:`auto_edits`."""

    def create(self, parser: Any, match: re.Match[str]) -> Any:
        node = super().create(parser, match)
        if match.group("maxdist") is None:
            node.maxdist = _AUTO_EDITS
        return node


class _Parser(QueryParser):  # type: ignore[misc]
    """Whoosh's parser; a word with hyphens is searched as :func:`_hyphenated` says."""

    def term_query(self, fieldname: str, text: str, termclass: Any, boost: float = 1.0,
                   tokenize: bool = True, removestops: bool = True) -> Any:
        if termclass is wq.Term and tokenize and fieldname in index_schema():
            q = _hyphenated(fieldname, text, boost)
            if q is not None:
                return q
        return super().term_query(fieldname, text, termclass, boost, tokenize, removestops)


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


def _parser(source: str, mode: str) -> QueryParser:
    group = AndGroup if mode == "and" else OrGroup.factory(0.9)
    parser = _Parser(None, index_schema(), group=group)
    parser.add_plugin(MultifieldPlugin(list(schema.TEXT_FIELDS)))
    parser.remove_plugin_class(FieldsPlugin)
    parser.add_plugin(_StrictFieldsPlugin(source))
    parser.add_plugin(_SpecialFieldsPlugin(source))
    parser.add_plugin(FieldAliasPlugin(_ALIASES))
    parser.add_plugin(_FuzzyPlugin())
    return parser


# ---------------------------------------------------------------- checks


def _precheck(text: str) -> None:
    check_length(text)
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
    for word in _URL_VALUE.sub(" ", text).split():  # a URL is as long as it is
        if len(word) > MAX_TOKEN_CHARS:
            raise QueryError(text[:80] + "...", f"a word is longer than {MAX_TOKEN_CHARS} "
                             "characters")


_RANGE_NAMES = ", ".join(f"{f}:" for f in RANGE_FIELDS[:-1]) + f" and {RANGE_FIELDS[-1]}:"


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
            raise QueryError(source, f"ranges work on {_RANGE_NAMES}, not "
                             f"{node.fieldname}:")


def walk(q: wq.Query) -> Iterable[wq.Query]:
    stack = [q]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(node.children())


_AUTO_EDITS = -1  # term~ without a number: the edit distance follows the length


def auto_edits(word: str) -> int:
    """The edit distance of ``term~`` without a number, as Lucene's ``fuzziness: AUTO``:
    none for words of 1-2 letters, 1 for 3-5, 2 from 6 letters on (of the word as
    analysed: ``Zelensky~`` is ``zelenski~2`` and reaches ``zelenskyy``)."""
    return 0 if len(word) <= 2 else 1 if len(word) <= 5 else 2


def _bounded_fuzzy(q: wq.Query, source: str) -> wq.Query:
    """term~N: at most MAX_FUZZY_EDITS edits, and the first letter must match (as
    Lucene advises; the cost without it is in benchmarks/README.md); term~ gets
    :func:`auto_edits`."""
    if isinstance(q, wq.FuzzyTerm):
        if q.maxdist > MAX_FUZZY_EDITS:
            raise QueryError(source, f"fuzzy {q.text}~{q.maxdist}: at most "
                             f"{MAX_FUZZY_EDITS} edits (term~{MAX_FUZZY_EDITS})")
        if q.prefixlength < 1 or q.maxdist < 0:
            q = copy.copy(q)
            q.prefixlength = max(q.prefixlength, 1)
            if q.maxdist < 0:
                q.maxdist = auto_edits(q.text)
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
        # Plain words: build what the parser would, without the parser's set-up.
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


_PLAIN_WORD = rf"#?(?=[^\W_]){schema.TOKEN_PATTERN}"
_PLAIN = re.compile(rf"^{_PLAIN_WORD}(?:\s+{_PLAIN_WORD})*$")


def is_plain(text: str) -> bool:
    """Only words separated by spaces: no fields, operators, quotes or wildcards."""
    return bool(_PLAIN.match(text)) and not OPERATOR_WORDS.intersection(text.split())


def literal_query(text: str, *, mode: str = "or") -> wq.Query:
    """Search the words as typed: no operators, fields or wildcards."""
    check_length(text)
    words = re.findall(schema.TOKEN_PATTERN, text)[:MAX_TERMS]
    clauses: list[wq.Query] = []
    for word in words:
        per_field = [
            q
            for field in schema.TEXT_FIELDS
            for q in _word_queries(field, word)
        ]
        if per_field:
            clauses.append(per_field[0] if len(per_field) == 1 else wq.Or(per_field))
    if not clauses:
        return wq.NullQuery
    if len(clauses) == 1:
        return clauses[0]
    return wq.And(clauses) if mode == "and" else wq.Or(clauses)


def _word_queries(field: str, word: str) -> list[wq.Query]:
    hyphenated = _hyphenated(field, word)
    if hyphenated is not None:
        return [] if hyphenated is wq.NullQuery else [hyphenated]
    return [wq.Term(field, token)
            for token in index_schema()[field].process_text(word, mode="query")]


def _hyphenated(field: str, word: str, boost: float = 1.0) -> wq.Query | None:
    """A word with hyphens: its parts run together, or the parts as a phrase
    (``e-mail``: ``email`` or ``"e mail"``; :mod:`searchkit.indexer.tokens`).
    None for a word without hyphens."""
    joined = catenated(word)
    if joined is None:
        return None
    analyse = index_schema()[field].process_text
    alternatives: list[wq.Query] = [wq.Term(field, t) for t in analyse(joined, mode="query")]
    parts = list(analyse(word, mode="query"))
    if len(parts) > 1 and index_schema()[field].format.supports("positions"):
        alternatives.append(wq.Phrase(field, parts))
    elif parts and parts[0] not in {t.text for t in alternatives}:
        alternatives.append(wq.Term(field, parts[0]))
    if not alternatives:
        return wq.NullQuery
    q = alternatives[0] if len(alternatives) == 1 else wq.Or(alternatives)
    if boost != 1.0:
        q.boost = boost
    return q


_OPERATORS = re.compile(rf'(^|\s)({"|".join(BOOLEAN_WORDS)})(\s|$)|(^|\s)[-+]|["()]')


def is_plain_words(text: str, q: wq.Query) -> bool:
    """Several words and nothing else: the query may fall back to partial matches.

    A query with operators, phrases, groups or negation means what it says."""
    if _OPERATORS.search(text):
        return False
    words = {t for f, t in q.iter_all_terms() if f in schema.TEXT_FIELDS}
    return len(words) > 1 and not any(isinstance(n, wq.Not) for n in walk(q))


def user_words(text: str) -> list[str]:
    """The words a person typed, without field names, operators or syntax, once each."""
    stripped = re.sub(r"\b\w+:|[~^][\d./]*", " ", text)  # fields, fuzziness, boosts
    seen: dict[str, None] = {}
    for word in re.findall(schema.TOKEN_PATTERN, stripped):
        if word not in OPERATOR_WORDS:
            seen.setdefault(word)
    return list(seen)
