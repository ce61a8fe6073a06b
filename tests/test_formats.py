"""Feeds, digests and citations (``--format atom|markdown|csl-json``), each read back by
its real consumer: ``feedparser`` for Atom, ``markdown-it-py`` for the digest,
``citeproc-py`` for CSL-JSON."""

from __future__ import annotations

import datetime as dt
import json
import re
import shlex
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import feedparser
import pytest
from citeproc import (
    Citation,
    CitationItem,
    CitationStylesBibliography,
    CitationStylesStyle,
    formatter,
)
from citeproc.source.json import CiteProcJSON
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from searchkit import formats
from searchkit.output import Format, safe
from searchkit.results import Filters, Hit, SearchResults, StoryMember
from tests.conftest import REPO, Corpus, cli

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
README_TEXT = (REPO / "README.md").read_text(encoding="utf-8")
HOSTILE = "Q&A: [Leak] *exclusive* _inside_ the | pipe <b>tag</b> \\ `code` ~x~"


def make_hit(rank: int = 1, **kw: Any) -> Hit:
    hit = Hit(rank=rank, score=1.0, id=f"c{rank}.md", kind="clipping", path=f"c{rank}.md",
              parent="", title=f"Title {rank}", excerpt=f"Excerpt {rank}.",
              provider="The Post", domain="post.com",
              published=dt.datetime(2021, 5, rank, 12, tzinfo=UTC),
              url=f"https://www.post.com/a/{rank}",
              canonical_url=f"https://post.com/a/{rank}", topics=(), quality=None,
              type="article")
    return replace(hit, **kw)


def make_results(*hits: Hit, total: int | None = None, query: str = "q") -> SearchResults:
    return SearchResults(query=query, parsed=query, total=len(hits) if total is None
                         else total, offset=0, limit=10, hits=tuple(hits))


@pytest.fixture
def news(corpus: Corpus, tmp_path: Path) -> list[str]:
    """Five clippings about the harbour (one undated, one with a hostile title), and the
    options that search them."""
    for n, (day, outlet) in enumerate([("2021-05-03T08:00:00Z", "Harbour Gazette"),
                                       ("2021-05-03T17:30:00Z", "Coast Times"),
                                       ("2021-05-01T09:00:00Z", "Harbour Gazette"),
                                       (None, "Quay Weekly"),
                                       ("2020-12-31T23:00:00Z", "Coast Times")]):
        corpus.add(f"h{n}.md", title=HOSTILE if n == 2 else f"Harbour story {n}",
                   excerpt=f"The harbour master said {n} ships waited.",
                   webUrl=f"https://www.{outlet.split()[0].lower()}.example/news/{n}?x=(1)",
                   provider={"name": outlet, "domain": f"{outlet.split()[0].lower()}.example"},
                   topics=["Shipping"], **({"publishedDateTime": day} if day else {}))
    corpus.add("other.md", title="Unrelated", excerpt="Nothing about boats.",
               webUrl="https://else.example/1", publishedDateTime="2021-01-01T00:00:00Z")
    options = ["--index", str(tmp_path / "index"), "--seeds", str(corpus.root)]
    assert cli("index", str(corpus.root), *options[:2])[0] == 0
    return options


def _json_hits(args: list[str]) -> list[dict[str, Any]]:
    code, out, _ = cli("search", *args, "-f", "json")
    assert code == 0
    hits: list[dict[str, Any]] = json.loads(out)["hits"]
    return hits


# ---------------------------------------------------------------- Atom


def test_atom_feed_parses_and_matches_the_hits(news: list[str]) -> None:
    hits = _json_hits(["harbour", "--all", *news])
    code, out, err = cli("search", "harbour", "--all", "-f", "atom", *news)
    assert (code, err) == (0, "")
    feed = feedparser.parse(out)
    assert feed.bozo == 0, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.title == "searchkit: harbour"
    assert feed.feed.id.startswith("tag:searchkit,2026:search:")
    assert [e.title for e in feed.entries] == [h["title"] for h in hits]
    assert feed.entries[[h["title"] for h in hits].index(HOSTILE)].title == HOSTILE
    assert [e.link for e in feed.entries] == [h["url"] for h in hits]
    assert [e.author for e in feed.entries] == [h["provider"]["name"] for h in hits]
    assert [e.summary for e in feed.entries] == [h["snippets"][0].replace("**", "")
                                                 for h in hits]
    assert [e.tags[0].term for e in feed.entries] == ["Shipping"] * len(hits)
    for entry, hit in zip(feed.entries, hits, strict=True):
        if hit["published"]:
            assert entry.published == entry.updated == hit["published"].replace("Z",
                                                                                "+00:00")
        else:  # undated: no published, updated when it arrived in the index
            assert "published" not in entry
            assert dt.datetime.fromisoformat(entry.updated) <= dt.datetime.now(UTC)
            again = feedparser.parse(cli("search", "harbour", "--all", "-f", "atom",
                                         *news)[1])
            assert [e.updated for e in again.entries] == [e.updated for e in feed.entries]
    dated = [h["published"] for h in hits if h["published"]]
    assert len(dated) == 4 and len(hits) == 5
    # the feed is updated at its newest entry: the undated one, indexed just now
    assert feed.feed.updated == max(e.updated for e in feed.entries)


def test_atom_ids_are_stable_across_runs_renames_and_rebuilds(news: list[str],
                                                              corpus: Corpus) -> None:
    def ids() -> tuple[str, list[str]]:
        feed = feedparser.parse(cli("search", "harbour", "--all", "-f", "atom", *news)[1])
        return feed.feed.id, sorted(e.id for e in feed.entries)

    first = ids()
    assert len(set(first[1])) == 5 and all(
        re.fullmatch(r"tag:searchkit,2026:article:[0-9a-f]{24}", i) for i in first[1])
    assert ids() == first
    (corpus.root / "h1.md").rename(corpus.root / "renamed.md")
    assert cli("index", str(corpus.root), "--index", news[1], "--rebuild")[0] == 0
    assert ids() == first


def test_feed_id_per_query_filters_and_saved_search() -> None:
    base = formats.context_for("harbour  ships", Filters(providers=("a", "b")), now=NOW)
    same = formats.context_for(" harbour ships", Filters(providers=("b", "a")), now=NOW)
    other = formats.context_for("harbour ships", Filters(providers=("a",)), now=NOW)
    assert base.feed_id == same.feed_id != other.feed_id
    assert base.title == "searchkit: harbour ships --provider a --provider b"
    assert formats.context_for("", Filters(since="7d")).title == "searchkit: --since 7d"
    saved = formats.context_for("harbour", name="harbour watch", now=NOW)
    assert (saved.feed_id, saved.title) == ("tag:searchkit,2026:saved:harbour%20watch",
                                            "searchkit: harbour watch")
    assert formats.context_for("x", name="other").feed_id != saved.feed_id
    # pinned: a feed reader knows the feed by this id, release after release
    assert formats.context_for("harbour").feed_id == \
        "tag:searchkit,2026:search:de9dd48f046384c86c80"


def test_atom_undated_entry_and_entry_without_a_link() -> None:
    undated = make_hit(1, published=None, url="", canonical_url="", provider="", domain="",
                       excerpt="Only the text.")
    hostile = make_hit(2, title="bad \x1b[31m\ud800 title\u202e", url="javascript:alert(1)",
                       canonical_url="")
    arrived = make_hit(3, published=None, arrived=dt.datetime(2025, 1, 2, tzinfo=UTC))
    feed = feedparser.parse(formats.render_atom(make_results(undated, hostile, arrived),
                                                formats.context_for("q", now=NOW)))
    assert feed.bozo == 0
    first, second, third = feed.entries
    assert third.updated == "2025-01-02T00:00:00+00:00" and "published" not in third
    assert first.updated == NOW.isoformat() and "published" not in first
    assert "author" not in first and feed.feed.author == "searchkit"  # the feed's
    assert first.content[0].value == "Only the text."
    for entry in (first, second):  # no link: an entry without a URL, or not http(s)
        assert [link for link in entry.get("links", []) if link.get("href", "")
                .startswith(("http", "javascript"))] == []
    assert second.title == "bad [31m title"
    assert first.id != second.id
    assert feed.feed.updated == NOW.isoformat()  # the newest entry


@given(st.text(min_size=1, max_size=40), st.text(max_size=40))
def test_atom_any_text_is_well_formed_and_kept(title: str, excerpt: str) -> None:
    """Any title, outlet and excerpt give a well-formed feed holding them (control
    characters, lone surrogates and U+FFFE/U+FFFF dropped: XML cannot carry them). The
    text is read with lxml: feedparser "repairs" text that looks double-encoded."""
    from lxml import etree

    xml = formats.render_atom(make_results(make_hit(1, title=title, excerpt=excerpt,
                                                    provider=title)),
                              formats.context_for(title, now=NOW))
    assert feedparser.parse(xml).bozo == 0
    atom = "{http://www.w3.org/2005/Atom}"
    entry = etree.fromstring(xml.encode("utf-8")).find(f"{atom}entry")

    def kept(text: str) -> str:
        return " ".join(re.sub("[\ud800-\udfff\ufffe\uffff]", "", safe(text)).split())

    assert entry.findtext(f"{atom}title") == (kept(title) or "https://www.post.com/a/1")
    assert (entry.findtext(f"{atom}summary") or "") == kept(excerpt)
    assert entry.findtext(f"{atom}author/{atom}name") == (kept(title) or "post.com")


def test_atom_empty_feed_when_nothing_matches(news: list[str]) -> None:
    code, out, err = cli("search", "zeppelin", "-f", "atom", *news)
    assert code == 1 and err.startswith('No matches for "zeppelin".')
    feed = feedparser.parse(out)
    assert feed.bozo == 0 and feed.entries == [] and feed.feed.title == "searchkit: zeppelin"
    assert feed.feed.subtitle == "No matches"


# ---------------------------------------------------------------- Markdown


class _Html(HTMLParser):
    """The links, headings and text of rendered Markdown."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self.headings: list[str] = []
        self.strong: list[str] = []
        self.tags: set[str] = set()
        self.text = ""
        self._open: list[str] = []
        self._buf: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self._open.append(tag)
        self._buf[tag] = ""
        if tag == "a":
            self._href = dict(attrs).get("href") or ""

    def handle_endtag(self, tag: str) -> None:
        self._open.pop()
        if tag == "a":
            self.links.append((self._buf["a"], self._href))
        elif tag in ("h1", "h2", "h3"):
            self.headings.append(self._buf[tag])
        elif tag == "strong":
            self.strong.append(self._buf[tag])

    def handle_data(self, data: str) -> None:
        self.text += data
        for tag in set(self._open):
            self._buf[tag] += data


def _html(markdown: str, gfm: bool = False) -> _Html:
    """The HTML of CommonMark, or (``gfm``) with GitHub's tables and strikethrough."""
    parser = _Html()
    md = MarkdownIt("commonmark")
    parser.feed((md.enable(["table", "strikethrough"]) if gfm else md).render(markdown))
    return parser


def test_markdown_digest_groups_by_day_newest_first(news: list[str]) -> None:
    hits = _json_hits(["harbour", "--all", *news])
    code, out, err = cli("search", "harbour", "--all", "-f", "markdown", *news)
    assert (code, err) == (0, "")
    for gfm in (False, True):
        page = _html(out, gfm)
        assert page.headings == ["searchkit: harbour", "2021-05-03", "2021-05-01",
                                 "2020-12-31", "Undated"]
        assert sorted((t, unquote(u)) for t, u in page.links) == \
            sorted((h["title"], h["url"]) for h in hits)
        assert {"ul", "li", "blockquote", "strong"} <= page.tags
        assert not page.tags & {"table", "em", "code", "b", "s", "del", "ol", "h4"}
        assert page.strong and set(page.strong) == {"harbour"}
    assert "5 matches." in out
    day = out[out.index("## 2021-05-03"):out.index("## 2021-05-01")]
    assert "— Coast Times, 2021-05-03" in day and "— Harbour Gazette, 2021-05-03" in day


def test_markdown_escapes_titles_so_links_hold(news: list[str]) -> None:
    out = cli("search", "harbour", "--all", "-f", "markdown", *news)[1]
    page = _html(out)
    titles = [t for t, _ in page.links]
    assert HOSTILE in titles
    href = dict(page.links)[HOSTILE]
    assert unquote(href) == "https://www.harbour.example/news/2?x=(1)"


@pytest.mark.parametrize("start", ["# ", "1. ", "2021) ", "> ", "- ", "+ ", "=== ", "* "])
def test_markdown_text_never_starts_a_block(start: str) -> None:
    hit = make_hit(1, title=f"{start}Title", url="ftp-less", snippets=(
        ((f"{start}snippet ", False), ("word", True), (" [x](y)", False)),))
    page = _html(formats.render_markdown(make_results(hit),
                                         formats.context_for("q", now=NOW)))
    assert f"{start}Title" in page.text and f"{start}snippet word [x](y)" in page.text
    assert page.links == [] and page.strong == ["word"]
    assert page.tags == {"h1", "h2", "p", "ul", "li", "blockquote", "strong"}


@given(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40))
def test_markdown_any_text_reads_back_as_itself(text: str) -> None:
    """Whatever a title or snippet holds, the rendered link text and quote say it (with
    control characters dropped and white space collapsed): no markup escapes."""
    hit = make_hit(1, title=text, snippets=(((text, False), ("match", True)),))
    page = _html(formats.render_markdown(make_results(hit),
                                         formats.context_for("q", now=NOW)), gfm=True)
    shown = " ".join(safe(text).split())
    assert page.links == [(shown or "https://www.post.com/a/1", "https://www.post.com/a/1")]
    assert page.strong == ["match"]
    assert f"{shown}match" in page.text.replace("\n", " ") or \
        f"{shown} match" in page.text.replace("\n", " ")


def test_markdown_grouping_is_a_parameter() -> None:
    hits = [make_hit(1, topics=("Port",)), make_hit(2, topics=("Sea",)),
            make_hit(3, topics=("Port",), published=None), make_hit(4, topics=("Port",))]
    hits[3] = replace(hits[3], published=hits[0].published)

    def by_topic(hit: Hit) -> tuple[str, str]:
        return hit.topics[0], f"Topic {hit.topics[0]}"

    text = formats.render_markdown(make_results(*hits), formats.context_for("q"),
                                   groupings=(by_topic, formats.by_day))
    # below the first level a lone hit has no heading: it follows the groups
    assert _html(text).headings == ["searchkit: q", "Topic Sea", "Topic Port", "2021-05-01"]
    assert [t for t, _ in _html(text).links] == ["Title 2", "Title 1", "Title 4", "Title 3"]
    flat = formats.render_markdown(make_results(*hits), formats.context_for("q"),
                                   groupings=())
    assert [t for t, _ in _html(flat).links] == ["Title 1", "Title 2", "Title 3", "Title 4"]


def test_markdown_groups_a_days_stories() -> None:
    first = StoryMember(id="a.md", published=None, provider="Wire", title="Port *strike*")
    story = {"story": "s1", "story_size": 3, "story_first": first}
    hits = [make_hit(1, **story), make_hit(2), make_hit(3, published=None),
            replace(make_hit(4, **story), published=make_hit(1).published),
            make_hit(5, **story)]  # the story's third member, on another day
    page = _html(formats.render_markdown(make_results(*hits), formats.context_for("q")))
    assert page.headings == ["searchkit: q", "2021-05-05", "2021-05-02", "2021-05-01",
                             "Port *strike* (3 reports)", "Undated"]
    assert [t for t, _ in page.links] == ["Title 5", "Title 2", "Title 1", "Title 4",
                                          "Title 3"]
    one_each = replace(make_results(replace(hits[0], story_outlets=("Wire", "Gazette"))),
                       by_story=True)
    text = formats.render_markdown(one_each, formats.context_for("q"))
    assert "— The Post, 2021-05-01 (+2 more: Wire, Gazette)\n" in text


def test_markdown_digest_of_a_real_story(corpus: Corpus, tmp_path: Path) -> None:
    """Three outlets carry the same wire story on one day: under that day, one story
    heading holds them; with --by-story one item names the other outlets."""
    for n, outlet in enumerate(["Wire", "Gazette", "Times"]):
        corpus.add(f"w{n}.md", title="Dockers strike over harbour automation plan",
                   excerpt="Dockers walked out at the harbour over the automation plan, "
                           "halting cranes and ships for the day.",
                   webUrl=f"https://{outlet.lower()}.example/strike",
                   provider={"name": outlet, "domain": f"{outlet.lower()}.example"},
                   publishedDateTime=f"2021-05-03T0{n + 1}:00:00Z")
    corpus.add("lone.md", title="Harbour museum reopens", excerpt="Visitors return.",
               webUrl="https://museum.example/1", publishedDateTime="2021-05-03T12:00:00Z")
    options = ["--index", str(tmp_path / "index"), "--seeds", str(corpus.root)]
    assert cli("index", str(corpus.root), *options[:2])[0] == 0
    out = cli("search", "harbour", "-f", "markdown", *options)[1]
    page = _html(out)
    assert page.headings == ["searchkit: harbour", "2021-05-03",
                             "Dockers strike over harbour automation plan (3 reports)"]
    assert [t for t, _ in page.links][-1] == "Harbour museum reopens"  # after the story
    out = cli("search", "harbour", "--by-story", "-f", "markdown", *options)[1]
    assert re.search(r"— \w+, 2021-05-03 \(\+2 more: \w+, \w+\)\n", out), out


def test_markdown_empty_digest(news: list[str]) -> None:
    code, out, _ = cli("search", "zeppelin", "-f", "markdown", *news)
    assert (code, out) == (1, "# searchkit: zeppelin\n\nNo matches.\n")


# ---------------------------------------------------------------- CSL-JSON


def _bibliography(items: list[dict[str, Any]]) -> list[str]:
    style = CitationStylesStyle("harvard-cite-them-right", validate=False)
    bib = CitationStylesBibliography(style, CiteProcJSON(items), formatter.plain)
    for item in items:
        bib.register(Citation([CitationItem(item["id"])]))
    return [str(entry) for entry in bib.bibliography()]


def test_csl_json_renders_as_a_bibliography(news: list[str]) -> None:
    hits = _json_hits(["harbour", "--all", *news])
    before = dt.datetime.now(UTC).date()
    code, out, err = cli("search", "harbour", "--all", "-f", "csl-json", *news)
    after = dt.datetime.now(UTC).date()
    assert (code, err) == (0, "")
    items = json.loads(out)
    assert [i["title"] for i in items] == [h["title"] for h in hits]
    for item, hit in zip(items, hits, strict=True):
        assert item["type"] == "article-newspaper"
        assert item["container-title"] == hit["provider"]["name"]
        assert item["URL"] == hit["url"] and item["abstract"] == hit["excerpt"]
        assert item["keyword"] == "Shipping"
        accessed = dt.date(*item["accessed"]["date-parts"][0])
        assert before <= accessed <= after
        if hit["published"]:
            y, m, d = (int(p) for p in hit["published"][:10].split("-"))
            assert item["issued"] == {"date-parts": [[y, m, d]]}
        else:
            assert "issued" not in item
    assert len({i["id"] for i in items}) == len(items)
    rendered = _bibliography(items)
    assert len(rendered) == len(items)
    for item in items:
        entry = next(e for e in rendered if item["title"] in e)
        year = str(item["issued"]["date-parts"][0][0]) if "issued" in item else "no date"
        assert item["container-title"] in entry and year in entry and item["URL"] in entry


def test_csl_json_keys_are_stable_and_pandoc_friendly(news: list[str]) -> None:
    first = [i["id"] for i in json.loads(cli("search", "harbour", "--all",
                                             "-f", "csl-json", *news)[1])]
    again = [i["id"] for i in json.loads(cli("search", "harbour", "--all", "--sort", "date",
                                             "-f", "csl-json", *news)[1])]
    assert sorted(first) == sorted(again)
    assert "quay2021nd" not in first and any(k.startswith("quaynd") for k in first)
    for key in first:  # pandoc: a letter first, then alphanumerics and - inside
        assert re.fullmatch(r"[a-z][a-z0-9]*-[0-9a-f]{6}", key), key
    assert formats.citation_key(make_hit(1, title="The new Ürban port")) == \
        f"post2021urban-{formats.citation_key(make_hit(1))[-6:]}"


def test_csl_json_with_filters_limits_and_no_matches(news: list[str]) -> None:
    code, out, _ = cli("search", "harbour", "--provider", "Coast Times", "-f", "csl-json",
                       *news)
    assert code == 0 and {i["container-title"] for i in json.loads(out)} == {"Coast Times"}
    assert len(json.loads(cli("search", "harbour", "-n", "2", "-f", "csl-json", *news)[1])) \
        == 2
    assert len(json.loads(cli("search", "harbour", "--since", "2021", "--all",
                              "-f", "csl-json", *news)[1])) == 3
    code, out, _ = cli("search", "zeppelin", "-f", "csl-json", *news)
    assert (code, out) == (1, "[]\n")


@pytest.mark.parametrize("fmt", ["atom", "markdown", "csl-json"])
def test_documents_refuse_facets_and_timeline(fmt: str, news: list[str]) -> None:
    code, out, err = cli("search", "harbour", "--facets", "kind", "-f", fmt, *news)
    assert (code, out) == (2, "") and "--facets needs --format pretty, lines or json" in err
    code, out, err = cli("search", "harbour", "--timeline", "month", "-f", fmt, *news)
    assert (code, out) == (2, "") and "--timeline needs" in err


def test_render_results_builds_a_default_context() -> None:
    from searchkit import output

    text = output.render_results(make_results(make_hit(1)), Format.atom, output.Style())
    assert feedparser.parse(text).feed.title == "searchkit: q"
    assert Format("csl-json") is Format.csl_json


# ---------------------------------------------------------------- README


def _readme_blocks(lang: str) -> list[tuple[str, str]]:
    lines = README_TEXT[README_TEXT.index("### Feeds, digests and citations"):].split("\n")
    fenced, end = False, len(lines)
    for n, line in enumerate(lines):  # up to the next heading outside a code block
        fenced ^= line.startswith("```")
        if not fenced and n and line.startswith("#"):
            end = n
            break
    section = "\n".join(lines[:end])
    pairs = []
    for block in re.finditer(rf"^```{lang}\n(.*?)^```", section, re.S | re.M):
        prose = section[:block.start()].rsplit("```", 1)[-1]
        pairs.append((re.findall(r"`(search [^`]+)`", prose)[-1], block.group(1)))
    return pairs


@pytest.mark.parametrize("lang", ["markdown", "xml", "jsonc"])
def test_readme_examples_of_feeds_digests_citations(lang: str, seeds_index: Path) -> None:
    from searchkit import __version__
    from searchkit.cli import search_app

    (command, documented), = _readme_blocks(lang)
    seeds = seeds_index.parent / "seeds"
    code, out, _ = cli(*shlex.split(command)[1:], "--index", str(seeds_index), "--seeds",
                       str(seeds), script=search_app)
    assert code == 0
    if lang == "jsonc":  # accessed: the day it runs
        out = re.sub(r'"accessed": \{[^}]*\}', '"accessed": "(today)"', out)
        documented = re.sub(r'"accessed": \{[^}]*\}', '"accessed": "(today)"', documented)
    if lang == "xml":
        out = out.replace(f'version="{__version__}"', 'version="0.1.0"')
    assert out == documented
