"""Stories on the reading side: each hit's story from the table of the commit searched
(:mod:`searchkit.indexer.storytable`), and a story's members (``searchkit story ID``)."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from .. import stories
from ..errors import NotFoundError
from ..indexer import open_index
from ..indexer.check import reports_damage
from ..indexer.storytable import open_table
from ..results import Hit, SearchResults, Story, StoryMember


def _when(published: int | None) -> dt.datetime | None:
    return None if published is None else dt.datetime.fromtimestamp(published, dt.timezone.utc)


def member(m: stories.Member, first: stories.Member) -> StoryMember:
    lag = (None if m.published is None or first.published is None
           else m.published - first.published)
    return StoryMember(m.key, _when(m.published), m.provider, m.title, lag)


def outlets(members: Sequence[stories.Member], besides: str) -> tuple[str, ...]:
    """The outlets of a story's other members, earliest first, each once."""
    out: dict[str, None] = {}
    own = next((m.provider for m in members if m.key == besides), None)
    for m in members:
        if m.key != besides and m.provider and m.provider != own:
            out.setdefault(m.provider, None)
    return tuple(out)


def with_stories(table: stories.Table | None, hits: Sequence[Hit]) -> tuple[Hit, ...]:
    """``hits`` with their story id, size, other outlets and first reporter."""
    if table is None or not hits:
        return tuple(hits)
    ids = table.stories_of([h.id for h in hits])
    members = table.members(ids.values())
    out = []
    for h in hits:
        sid = ids.get(h.id)
        group = members.get(sid, []) if sid else []
        if not sid or not group:
            out.append(h)
            continue
        out.append(replace(h, story=sid, story_size=len(group),
                           story_outlets=outlets(group, h.id),
                           story_first=member(group[0], group[0])))
    return tuple(out)


@contextlib.contextmanager
def pinned(index_dir: str | os.PathLike[str], reader: Any
           ) -> Iterator[stories.Table | None]:
    """The story table of ``reader``'s commit, opened now (right after the reader, so
    that a commit meanwhile cannot remove it first) and closed after the block."""
    table = open_table(index_dir, reader.generation())
    try:
        yield table
    finally:
        if table is not None:
            table.close()


def attach_to(table: stories.Table | None, results: SearchResults) -> SearchResults:
    """``results`` with each hit's story from ``table``."""
    return replace(results, hits=with_stories(table, results.hits))


def attach(index_dir: str | os.PathLike[str], reader: Any, results: SearchResults
           ) -> SearchResults:
    """``results`` (read through ``reader``) with each hit's story."""
    with pinned(index_dir, reader) as table:
        return attach_to(table, results)


def attach_hit(index_dir: str | os.PathLike[str], reader: Any, hit: Hit) -> Hit:
    with pinned(index_dir, reader) as table:
        return with_stories(table, [hit])[0]


@reports_damage
def story(index_dir: str | os.PathLike[str], story_id: str) -> Story:
    """The members of story ``story_id``, oldest first; NotFoundError if none."""
    for attempt in range(3):
        ix = open_index(index_dir)
        try:
            with ix.reader() as reader:
                table = open_table(index_dir, reader.generation())
                if table is None:
                    break
                with table:
                    group = table.members([story_id]).get(story_id, [])
            if not group:
                break
            return Story(story_id, tuple(member(m, group[0]) for m in group))
        except FileNotFoundError:
            if attempt == 2:
                raise
    raise NotFoundError(f"no story {story_id!r} in the index; story ids are "
                        "in the \"story\" field of `searchkit search -f json`")
