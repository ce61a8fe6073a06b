"""Keep an OpenSearch index in step with a clippings folder: the same scan and diff
as the Whoosh side (:mod:`searchkit.scan`), only changed clippings sent, in bulk.

The manifest (path -> stamp) is the ``stamp`` of each clipping's own entry, so it
lives in the index with the entries it describes: two machines syncing the same
folder read the same manifest. A file's entries have deterministic ids (``PATH``,
``PATH#N``); a changed file is re-indexed and its leftover ids deleted. When any item
of a file fails (after the client's retries), the file is reported and its stamp is
cleared, so that the next sync sends it again: never half-applied silently.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from opensearchpy import OpenSearch, helpers
from opensearchpy.exceptions import NotFoundError

from ..config import OpenSearchSettings as Settings
from ..errors import ClusterMappingError
from ..loading import load_many
from ..results import FileFailure, FolderDiff, IndexReport
from ..scan import Scan, diff_folder, scan, sha_of
from ..vocabulary import KIND_CLIPPING
from . import mapping
from .client import cluster_errors

Progress = Callable[[int, int], None]
BATCH_ACTIONS = 1_000
BATCH_BYTES = 8 * 1024 * 1024
RETRIES = 3  # per batch, for items the cluster rejected as busy (429)


@dataclass
class State:
    """What the index holds: each path's stamp (clipping entry) and all its ids."""

    manifest: dict[str, str] = field(default_factory=dict)
    ids: dict[str, set[str]] = field(default_factory=dict)


def index_meta(client: OpenSearch, settings: Settings) -> dict[str, Any] | None:
    """The mapping's ``_meta`` of the index, or None when there is no index."""
    if not client.indices.exists(index=settings.index):
        return None
    answer = client.indices.get_mapping(index=settings.index)
    for body in answer.values():  # one index (an alias may name one other)
        meta = body.get("mappings", {}).get("_meta")
        return meta if isinstance(meta, dict) else {}
    return {}


def check_meta(settings: Settings, meta: dict[str, Any]) -> str | None:
    """None for a current searchkit index; the reason to rebuild an older one. An
    index that is not searchkit's is refused, never deleted."""
    version = meta.get(mapping.META_KEY)
    if version is None:
        raise ClusterMappingError(
            settings.url, f"index {settings.index!r} is not searchkit's (no "
            f"{mapping.META_KEY} in its mapping's _meta)",
            "give searchkit an index of its own with --opensearch-index NAME")
    if version != mapping.MAPPING_VERSION:
        return (f"the index {settings.index!r} has mapping version {version}, this "
                f"searchkit writes {mapping.MAPPING_VERSION}; rebuilt it")
    return None


def read_state(client: OpenSearch, settings: Settings) -> State:
    """Every entry's path and id, and the clipping entries' stamps. A path with
    entries but no clipping entry (a sync that stopped half-way) has the empty stamp,
    so the diff sends or deletes it again."""
    state = State()
    for hit in helpers.scan(client, index=settings.index, size=5_000,
                            query={"query": {"match_all": {}},
                                   "_source": ["path", "kind", "stamp"]}):
        src = hit.get("_source", {})
        path = src.get("path", "")
        state.ids.setdefault(path, set()).add(hit["_id"])
        if src.get("kind") == KIND_CLIPPING:
            state.manifest[path] = src.get("stamp") or ""
    for path in state.ids:
        state.manifest.setdefault(path, "")
    return state


def diff(client: OpenSearch, settings: Settings, folder: str) -> FolderDiff:
    files = scan(folder)
    with cluster_errors(settings):
        meta = index_meta(client, settings)
        manifest = read_state(client, settings).manifest if meta is not None else {}
    return diff_folder(files, manifest)


def update(client: OpenSearch, settings: Settings, folder: str, *, rebuild: bool = False,
           progress: Progress | None = None, workers: int | None = None) -> IndexReport:
    started = time.monotonic()
    folder_abs = os.path.abspath(folder)
    files = scan(folder)
    with cluster_errors(settings):
        meta = index_meta(client, settings)
        reason = check_meta(settings, meta) if meta is not None else None
        full = rebuild or bool(reason) or meta is None
        if full:
            if meta is not None:
                client.indices.delete(index=settings.index)
            client.indices.create(index=settings.index,
                                  body=mapping.index_body(folder_abs, settings.shards))
            state = State()
        else:
            state = read_state(client, settings)
        found = diff_folder(files, state.manifest)
        if found.is_empty and not full and (meta or {}).get("folder") == folder_abs:
            return IndexReport(folder=folder, index_dir=location(settings),
                               unchanged=found.unchanged, failed=found.failed,
                               seconds=time.monotonic() - started)
        sent = _send(client, settings, folder, files, found, state, progress,
                     workers or min(2, os.cpu_count() or 1))
        client.indices.put_mapping(index=settings.index,
                                   body={"_meta": mapping.meta(folder_abs,
                                                               updated=int(time.time()))})
        client.indices.refresh(index=settings.index)
    return IndexReport(
        folder=folder, index_dir=location(settings),
        failed=tuple(found.failed) + tuple(sent.failures),
        seconds=time.monotonic() - started, rebuilt=full and meta is not None,
        rebuild_reason=reason or "", committed=True, notes=found.notes,
        added=sent.added, updated=sent.updated, deleted=sent.deleted,
        renamed=sent.renamed, unchanged=found.unchanged + sent.unchanged)


def location(settings: Settings) -> str:
    return f"{settings.url}/{settings.index}"


@dataclass
class _Sent:
    added: int = 0
    updated: int = 0
    deleted: int = 0
    renamed: int = 0
    unchanged: int = 0
    failures: list[FileFailure] = field(default_factory=list)


def _send(client: OpenSearch, settings: Settings, folder: str, files: Scan,
          found: FolderDiff, state: State, progress: Progress | None,
          workers: int) -> _Sent:
    """Load the added and modified files, send their entries and the deletions in bulk
    batches, and count what changed."""
    out = _Sent()
    owner: dict[str, str] = {}  # bulk item id -> the file it belongs to
    failed: dict[str, str] = {}  # file -> the first failure's message
    unsent: set[str] = set()  # files with an item the cluster did not take
    new_shas: dict[str, str] = {}
    outcome: dict[str, str] = {}  # file sent -> "added" or "updated"
    gone = list(found.deleted)
    now = int(time.time() * 1000)

    def actions() -> Iterator[dict[str, Any]]:
        todo = [*found.added, *found.modified]
        for rel, result, sha in load_many(folder, todo, progress, workers):
            old = state.manifest.get(rel)
            if isinstance(result, str):
                failed.setdefault(rel, result)
                continue
            if not result:  # vanished since the scan: deleted
                if old is not None:
                    gone.append(rel)
                continue
            if old and sha_of(old) == sha:  # touched, same content: the stamp only
                owner[rel] = rel
                out.unchanged += 1
                yield {"_op_type": "update", "_index": settings.index, "_id": rel,
                       "doc": {"stamp": result[0]["stamp"]}}
                continue
            outcome[rel] = "added" if old is None else "updated"
            if old is None:
                new_shas[sha] = rel
            new_ids = {e["key"] for e in result}
            for leftover in sorted(state.ids.get(rel, set()) - new_ids):
                owner[leftover] = rel
                yield {"_op_type": "delete", "_index": settings.index, "_id": leftover}
            # related entries first, the clipping (holding the stamp) last
            for entry in [*result[1:], result[0]]:
                owner[entry["key"]] = rel
                yield {"_op_type": "index", "_index": settings.index, "_id": entry["key"],
                       "_source": mapping.document(entry, now)}
        for rel in gone:
            for entry_id in sorted(state.ids.get(rel, set()), key=lambda i: (i == rel, i)):
                owner[entry_id] = rel
                yield {"_op_type": "delete", "_index": settings.index, "_id": entry_id}

    for ok, item in helpers.streaming_bulk(
            client, actions(), chunk_size=BATCH_ACTIONS, max_chunk_bytes=BATCH_BYTES,
            raise_on_error=False, raise_on_exception=False, max_retries=RETRIES,
            initial_backoff=1, max_backoff=10):
        if ok:
            continue
        op, result = next(iter(item.items()))
        if op == "delete" and result.get("status") == 404:
            continue  # already gone
        rel = owner.get(str(result.get("_id")), str(result.get("_id")))
        error = result.get("error")
        why = str(error.get("reason") if isinstance(error, dict) else error)
        why = why if len(why) <= 200 else why[:200] + "..."
        unsent.add(rel)
        failed.setdefault(rel, f"{rel}: not sent to OpenSearch ({result.get('status')}: "
                               f"{why}); the next sync sends it again")
    for rel in unsent:  # the next sync must see it as changed: clear its stamp
        try:
            client.update(index=settings.index, id=rel, body={"doc": {"stamp": ""}})
        except NotFoundError:
            pass  # no clipping entry: the next diff sends the file (or deletes it)
    for rel, what in outcome.items():
        if rel not in unsent:
            setattr(out, what, getattr(out, what) + 1)
    for rel in sorted(gone):
        old = state.manifest.get(rel, "")
        if old and new_shas.get(sha_of(old), "") not in ("", *unsent):  # renamed
            out.renamed += 1
            out.added -= 1
        else:
            out.deleted += 1
    out.failures = [FileFailure(rel, msg) for rel, msg in sorted(failed.items())]
    return out
