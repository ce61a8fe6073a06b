"""Render the records of ``index``, ``status``, ``show`` and ``fields``: a dict for JSON
and a text rendering of it. Pure functions; no Whoosh. Search results are in
:mod:`searchkit.output`, whose :func:`~searchkit.output.safe` every string passes through.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .config import IndexSource
from .output import Style, also_in, entry_fields, iso, safe, story_member
from .results import CitedResults, EntryRef, FolderDiff, Hit, IndexReport, UrlLookup
from .vocabulary import FIELDS, KIND_CLIPPING, KIND_RELATED, QueryField

if TYPE_CHECKING:
    from .documents import Clipping


# ---------------------------------------------------------------- index and status


def report_record(report: IndexReport) -> dict[str, Any]:
    return {
        "folder": report.folder,
        "index": report.index_dir,
        "added": report.added,
        "updated": report.updated,
        "deleted": report.deleted,
        "renamed": report.renamed,
        "unchanged": report.unchanged,
        "failed": [{"path": f.path, "error": f.message} for f in report.failed],
        "seconds": round(report.seconds, 3),
        "rebuilt": report.rebuilt,
        "committed": report.committed,
        "notes": list(report.notes),
    }


def render_report(report: IndexReport) -> str:
    """The one-line summary: what changed; for a rebuild, how many files it re-read and
    wrote (of which any new, changed or renamed since the last index)."""
    if report.rebuilt:
        news = [f"{n} {label}" for n, label in ((report.added, "added"),
                                                (report.updated, "updated"),
                                                (report.renamed, "renamed")) if n]
        written = report.added + report.updated + report.renamed + report.unchanged
        parts = [f"{written} rebuilt" + (f" ({', '.join(news)})" if news else ""),
                 f"{report.deleted} deleted", f"{len(report.failed)} failed"]
    else:
        parts = [f"{report.added} added", f"{report.updated} updated",
                 f"{report.deleted} deleted"]
        if report.renamed:
            parts.append(f"{report.renamed} renamed")
        parts += [f"{report.unchanged} unchanged", f"{len(report.failed)} failed"]
    verb = "Rebuilt" if report.rebuilt else "Indexed"
    return (f"{verb} {safe(report.folder)} into {safe(report.index_dir)}: "
            f"{', '.join(parts)} in {report.seconds:.2f}s\n")


def failure_lines(report: IndexReport) -> Iterable[str]:
    for failure in report.failed:
        yield safe(failure.message)


def note_lines(report: IndexReport) -> Iterable[str]:
    """Why entries left the index (``Note: a.md: left the index: the link now ...``)."""
    for note in report.notes:
        yield f"Note: {safe(note)}"


def status_record(index_dir: str, folder: str, stats: dict[str, Any] | None,
                  diff: FolderDiff | None, damaged: str | None = None,
                  index_source: IndexSource | None = None) -> dict[str, Any]:
    """``damaged``: what is wrong with an index that cannot be read (no stats, no diff);
    ``index_source``: why this index was used (:func:`searchkit.config.locate_index`)."""
    record: dict[str, Any] = {"index": index_dir}
    if index_source is not None:
        record["index_source"] = index_source.value
    record.update({"folder": folder, "exists": stats is not None or damaged is not None})
    if damaged is not None:
        record["damaged"] = damaged
    if stats:
        record.update({
            "entries": stats["entries"],
            "clippings": stats["clippings"],
            "related": stats["related"],
            "segments": stats["segments"],
            "schema_version": stats["schema_version"],
            "last_update": iso(stats["last_modified"]),
        })
    if diff is not None:
        record["stale"] = {
            "added": list(diff.added),
            "modified": list(diff.modified),
            "deleted": list(diff.deleted),
        }
        record["up_to_date"] = diff.is_empty and not diff.failed
        record["unreadable"] = [f.message for f in diff.failed]  # their entries are kept
        # Failed to load in the last run, unchanged since: not stale, failed.
        record["failed"] = [{"path": f.path, "error": f.message} for f in diff.failing]
    return record


def render_status(record: dict[str, Any], max_names: int = 10) -> str:
    source = record.get("index_source")
    why = f" ({IndexSource(source).reason})" if source else ""
    lines = [f"folder:       {safe(record['folder'])}",
             f"index:        {safe(record['index'])}{why}"]
    if not record["exists"]:
        lines.append("entries:      none (no index yet; `searchkit index` builds it)")
    elif "damaged" in record:
        lines.append(f"damaged:      {safe(record['damaged'])}; "
                     "`searchkit index --rebuild` repairs it")
    else:
        lines += [
            f"entries:      {record['entries']} ({record['clippings']} clippings, "
            f"{record['related']} related articles)",
            f"segments:     {record['segments']}",
            f"last update:  {record['last_update']}",
            f"schema:       version {record['schema_version']}",
        ]
    stale = record.get("stale")
    if stale is None and "damaged" in record:
        lines.append("stale files:  unknown (the index cannot be read)")
    elif stale is None:
        lines.append("stale files:  unknown (clippings folder not found)")
    elif record.get("up_to_date"):
        lines.append("stale files:  none, the index is up to date")
    elif not any(stale.values()):
        lines.append("stale files:  none found, but some folders could not be read")
    else:
        for label in ("added", "modified", "deleted"):
            names: Sequence[str] = stale[label]
            if names:
                shown = ", ".join(safe(n) for n in names[:max_names])
                more = f" (+{len(names) - max_names} more)" if len(names) > max_names else ""
                lines.append(f"{label + ':':<14}{len(names)}: {shown}{more}")
    for message in record.get("unreadable", ()):
        lines.append(f"unreadable:   {safe(message)}")
    failed = record.get("failed", ())
    lines += [f"failed:       {safe(f['error'])}" for f in failed[:max_names]]
    if len(failed) > max_names:
        lines.append(f"failed:       (+{len(failed) - max_names} more; `searchkit status "
                     "-f json` lists them)")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- show, fields


def _json_value(value: Any) -> Any:
    """Front-matter values (dates, nested lists) made JSON-safe, text sanitised."""
    if isinstance(value, str):
        return safe(value)
    if isinstance(value, dict):
        return {safe(str(k)): _json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def entry_record(hit: Hit, clip: Clipping | None, cited_by: Sequence[EntryRef] = ()
                 ) -> dict[str, Any]:
    """Everything known about one entry (``show``): the entry's fields from the index,
    the file's details when it is readable, its clipping, where else it appears, the
    clippings that cite it and its story (None until stories are grouped)."""
    record = entry_fields(hit)
    if clip is not None and hit.kind == KIND_CLIPPING:
        record.update({
            "urls": _json_value(dict(clip.urls)),
            "category": safe(clip.category),
            "heat": clip.heat,
            "published_flag": clip.published_flag,
            "source_id": safe(clip.source_id) or None,
            "images": [{"url": safe(i.url), "width": i.width, "height": i.height}
                       for i in clip.images],
            "related": [
                {"id": f"{safe(hit.id)}#{n}", "title": safe(r.title),
                 "provider": safe(r.provider.name) if r.provider else "",
                 "published": iso(r.published), "url": safe(r.url)}
                for n, r in enumerate(clip.related, start=1)
            ],
            "extra": _json_value(dict(clip.extra)),
        })
    if hit.kind == KIND_RELATED:
        record["parent"] = {"id": safe(hit.parent),
                            "title": safe(clip.title) if clip is not None else None}
    record["also_in"] = also_in(hit)
    record["cited_by"] = [ref_record(r) for r in cited_by]
    # the story the entry belongs to (None: an index without a story table)
    record["story"] = {
        "id": hit.story, "size": hit.story_size,
        "first_reporter": story_member(hit.story_first),
        "other_outlets": [safe(o) for o in hit.story_outlets],
    } if hit.story else None
    return record


def render_entry(record: dict[str, Any], style: Style) -> str:
    lines = [style.title(record["title"] or "(untitled)")]

    def row(label: str, value: Any) -> None:
        if isinstance(value, bool):
            value = "true" if value else "false"
        if value not in (None, "", [], {}):
            lines.append(f"{label + ':':<14}{value}")

    row("id", record["id"])
    row("kind", record["kind"])
    if record["kind"] == KIND_RELATED:
        parent = record["parent"]
        row("in clipping", f"{parent['id']}" + (f" ({parent['title']})" if parent["title"]
                                                else ""))
    prov = record["provider"]
    row("provider", " · ".join(p for p in (prov["name"], prov["domain"]) if p))
    row("published", record["published"])
    row("url", record["url"])
    if record["canonical_url"] != record["url"]:
        row("canonical", record["canonical_url"])
    for key, url in (record.get("urls") or {}).items():
        if url != record["url"]:
            row(key, url)
    row("topics", ", ".join(record["topics"]))
    story = record.get("story")
    if story:
        others = f": {', '.join(story['other_outlets'])}" if story["other_outlets"] else ""
        row("story", f"{story['id']} ({story['size']} entries{others})")
    row("type", record["type"])
    row("category", record.get("category"))
    row("quality", record["quality"])
    row("heat", record.get("heat"))
    row("published?", record.get("published_flag"))
    row("source id", record.get("source_id"))
    for image in record.get("images") or []:
        size = f" ({image['width']}x{image['height']})" if image["width"] else ""
        row("image", image["url"] + size)
    for key, value in (record.get("extra") or {}).items():
        row(safe(str(key)), json.dumps(value, ensure_ascii=False))
    if record["excerpt"]:
        lines += ["", record["excerpt"]]
    related = record.get("related") or []
    if related:
        lines += ["", style.title(f"Related articles ({len(related)})")]
        for r in related:
            meta = " · ".join(m for m in (r["provider"], (r["published"] or "")[:10]) if m)
            lines.append(f"  {r['id']}  {r['title']}" + (f"  [{meta}]" if meta else ""))
    if record["also_in"]:
        lines += ["", style.title("Also appears in")]
        lines += [f"  {loc['id']} ({loc['kind']})" for loc in record["also_in"]]
    citing = record.get("cited_by") or []
    if citing:
        lines += ["", style.title(f"Cited by ({len(citing)})")]
        lines += [_ref_line(r) for r in citing]
    return "\n".join(lines) + "\n"


def render_fields(fields: Mapping[str, QueryField] = FIELDS) -> str:
    """The query fields people can type (``searchkit fields``)."""
    width = max(len(name) for name in fields) + 1
    lines = [f"{'field':<{width}}  {'matches':<28}  example"]
    lines += [f"{name + ':':<{width}}  {f.matches:<28}  {f.example}"
              for name, f in fields.items()]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- cited, has


def ref_record(ref: EntryRef) -> dict[str, Any]:
    return {"id": safe(ref.id), "kind": ref.kind, "title": safe(ref.title),
            "provider": safe(ref.provider), "published": iso(ref.published),
            "url": safe(ref.url)}


def _ref_line(ref: dict[str, Any]) -> str:
    meta = " · ".join(m for m in (ref["provider"], (ref["published"] or "")[:10]) if m)
    return f"  {ref['id']}  {ref['title']}" + (f"  [{meta}]" if meta else "")


def cited_record(results: CitedResults) -> dict[str, Any]:
    return {
        "query": safe(results.query),
        "clippings": results.clippings,
        "distinct": results.distinct,
        "seconds": round(results.seconds, 4),
        "articles": [{"count": a.count, "published": iso(a.published),
                      "provider": {"name": safe(a.provider), "domain": safe(a.domain)},
                      "title": safe(a.title), "url": safe(a.url),
                      "canonical_url": safe(a.canonical_url),
                      "ids": [safe(i) for i in a.ids]}
                     for a in results.articles],
    }


def render_cited(results: CitedResults, style: Style, *, header: bool = True) -> str:
    """One row per article, most cited first: count, date, outlet, title, URL
    (tab-separated without ``header``, for ``--format lines``)."""
    rows = [(str(a.count), (iso(a.published) or "")[:10], safe(a.provider or a.domain),
             safe(a.title), safe(a.url)) for a in results.articles]
    if not header:
        return "".join("\t".join(c.replace("\t", " ") for c in row) + "\n"
                       for row in rows)
    cw = max([len("cited")] + [len(r[0]) for r in rows])
    ow = min(max([len("outlet")] + [len(r[2]) for r in rows]), 30)
    lines = [style.title(f"{'cited':>{cw}}  {'date':<10}  {'outlet':<{ow}}  title")]
    for count, date, outlet, title, url in rows:
        lines.append(f"{count:>{cw}}  {date:<10}  {outlet[:ow]:<{ow}}  {title}")
        lines.append(" " * (cw + 2) + style.url(url))
    lines.append(style.dim(f"{results.distinct} articles cited by {results.clippings} "
                           "clippings"))
    return "\n".join(lines) + "\n"


def lookup_record(given: Sequence[str], found: Mapping[str, UrlLookup],
                  problems: Mapping[str, str]) -> dict[str, Any]:
    """``has`` in JSON: one object per URL ``given``, in order: its entries, or why it
    is malformed (``problems``)."""
    out: list[dict[str, Any]] = []
    for url in given:
        if url in problems:
            out.append({"url": safe(url), "found": False, "error": safe(problems[url])})
            continue
        f = found[url]
        out.append({"url": safe(f.url), "canonical_url": safe(f.canonical_url),
                    "found": bool(f.entries), "ids": [safe(e.id) for e in f.entries],
                    "entries": [ref_record(e) for e in f.entries]})
    return {"urls": out}


def render_lookup(found: Sequence[UrlLookup]) -> str:
    """One line per URL: the URL, then the ids that hold it, tab-separated, or
    ``not found``."""
    return "".join("\t".join([safe(f.url), *(safe(e.id) for e in f.entries)]
                             if f.entries else [safe(f.url), "not found"]) + "\n"
                   for f in found)
