"""The index entries of a clipping: one entry for the clipping, one per related article.

The layout of an entry is built here and nowhere else. :func:`entries_for` lays out
the stored fields of a parsed clipping; :func:`entry_from_stored` adds the fields
derived from them (combined text, topics, provider name, day, spelling words,
article group) -- to a new entry, and to one read back from the index's stored
fields when a rebuild keeps the last good version of a file that fails. The engine's
schema (``searchkit.indexer.schema``) says how each field is indexed. Whoosh is
never imported here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .vocabulary import KIND_CLIPPING, KIND_RELATED

if TYPE_CHECKING:
    from . import documents

TITLE_WEIGHT = 2  # times the title is repeated in the combined ``text`` (see ``schema``)


def text_of(title: str, excerpt: str, provider: str, topics: Sequence[str]) -> str:
    """The combined default-search text of an entry (see ``schema``)."""
    return "\n".join([title] * TITLE_WEIGHT + [excerpt, provider, *topics])


def group_of(canonical: str) -> int:
    """A signed 64-bit hash of a canonical URL, never 0: one value per article."""
    digest = hashlib.blake2b(canonical.encode("utf-8", "surrogatepass"), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True) or 1


def cites_of(clip: documents.Clipping) -> str:
    """The canonical URLs a clipping's related articles have, once each, one a line
    (the ``cites`` field: what ``cites:URL`` and ``searchkit cited`` count)."""
    urls = dict.fromkeys(r.canonical_url for r in clip.related if r.canonical_url)
    return "\n".join(u for u in urls if "\n" not in u)


def entry_from_stored(stored: dict[str, Any]) -> dict[str, Any]:
    """The whole entry whose stored fields (and manifest ``stamp``) are ``stored``.

    ``None`` values are left out. Adds the fields that are indexed but not stored:
    ``text``, ``topics``/``topic``/``topic_label``, ``provider_name``, ``day``,
    ``spell`` and ``group``.
    """
    doc = {k: v for k, v in stored.items() if v is not None}
    topics: Sequence[str] = doc.get("topic_list") or ()
    if topics:
        doc["topics"] = "\n".join(topics)
        labels = [t.replace(",", " ") for t in topics]
        doc["topic"] = ",".join(t.lower() for t in labels)
        doc["topic_label"] = ",".join(labels)
    name = doc.get("provider") or doc.get("domain")
    if name:
        doc["provider_name"] = name
    if "published" in doc:
        doc["day"] = doc["published"] // 86_400
    title, excerpt = doc.get("title") or "", doc.get("excerpt") or ""
    doc["text"] = text_of(title, excerpt, doc.get("provider") or "", topics)
    doc["spell"] = f"{title}\n{excerpt}"
    doc["group"] = group_of(doc["canonical"])
    return doc


def entries_for(clip: documents.Clipping, stamp: str) -> list[dict[str, Any]]:
    """The index entries of one clipping: itself first, then its related articles."""
    key = clip.id
    out = [entry_from_stored({
        "key": key,
        "kind": KIND_CLIPPING,
        "path": clip.id,
        "parent": "",
        "title": clip.title,
        "excerpt": clip.excerpt,
        "type": clip.type,
        "url": clip.url,
        "canonical": clip.canonical_url or f"entry:{key}",
        "cites": cites_of(clip) or None,
        "topic_list": list(clip.topics),
        "stamp": stamp,
        "source_id": clip.source_id or None,
        **_provider(clip.provider),
        "quality": clip.quality,
        **_dated(clip.published),
    })]
    for i, rel in enumerate(clip.related, start=1):
        rkey = f"{key}#{i}"
        out.append(entry_from_stored({
            "key": rkey,
            "kind": KIND_RELATED,
            "path": clip.id,
            "parent": key,
            "title": rel.title,
            "excerpt": rel.excerpt,
            "type": rel.type,
            "url": rel.url,
            "canonical": rel.canonical_url or f"entry:{rkey}",
            "topic_list": [],
            "stamp": "",
            **_provider(rel.provider),
            "quality": rel.quality,
            **_dated(rel.published),
        }))
    return out


def _provider(provider: documents.Provider | None) -> dict[str, str]:
    return {"provider": provider.name, "domain": provider.domain} if provider else {}


def _dated(published: Any) -> dict[str, int]:
    """Epoch seconds and year of a datetime (``published``, ``year``); none for None."""
    if published is None:
        return {}
    return {"published": int(published.timestamp()), "year": published.year}
