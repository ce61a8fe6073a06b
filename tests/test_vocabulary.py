"""searchkit.vocabulary: one list of the words people type, that the engine understands."""

from __future__ import annotations

import dataclasses

import pytest

from searchkit import QueryError, vocabulary
from searchkit.cli.search import complete_facets, complete_query
from searchkit.indexer import schema
from searchkit.results import Filters


def test_every_field_and_facet_names_an_index_field() -> None:
    fields = schema.build_schema().names()
    assert {f.index_field for f in vocabulary.FIELDS.values()} <= set(fields)
    assert set(vocabulary.FACETS.values()) <= set(fields)
    assert set(vocabulary.SPECIAL_FIELDS) <= set(vocabulary.FIELDS)


def test_filters_name_an_option_for_each_filter() -> None:
    names = [f.name for f in dataclasses.fields(Filters)]
    assert list(vocabulary.FILTERS) == [n for n in names if n not in vocabulary.INTERNAL_FILTERS]
    assert set(vocabulary.INTERNAL_FILTERS) <= set(names)


def test_sort_keys_and_kinds() -> None:
    assert vocabulary.SORT_KEYS == ("relevance", "date", "-date", "quality")
    assert [k.value for k in vocabulary.Kind] == [vocabulary.KIND_CLIPPING,
                                                  vocabulary.KIND_RELATED]
    assert set(vocabulary.BOOLEAN_WORDS) < vocabulary.OPERATOR_WORDS


def test_the_cli_completes_from_the_vocabulary() -> None:
    assert [name for name, _ in complete_query("")] == [f"{n}:" for n in vocabulary.FIELDS]
    assert complete_facets("") == list(vocabulary.FACET_NAMES)


def test_length_is_checked_in_one_place() -> None:
    vocabulary.check_length("x" * vocabulary.MAX_QUERY_CHARS)
    with pytest.raises(QueryError, match="longer than 4096 characters"):
        vocabulary.check_length("x" * (vocabulary.MAX_QUERY_CHARS + 1))
