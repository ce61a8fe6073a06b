"""The clipping loader on the real seeds and on crafted files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from searchkit import ClippingError, documents, load_file, parse_bytes
from tests.conftest import SEEDS, Corpus, clipping_text

UTC = dt.timezone.utc


def test_seed_with_original_and_web_url() -> None:
    clip = load_file(SEEDS / "000_d147ebc2d70e439b.txt", SEEDS)
    assert clip.id == "000_d147ebc2d70e439b.txt"
    assert clip.title == "CBP plans broader use of facial recognition"
    assert clip.url == "https://gcn.com/articles/2020/11/23/cbp-facial-recognition-rule-change.aspx"
    assert clip.published == dt.datetime(2020, 11, 23, 21, 25, tzinfo=UTC)
    assert clip.provider == documents.Provider("GCN", "gcn.com")
    assert clip.topics == ("Computer Vision", "AI")
    assert (clip.type, clip.category, clip.quality, clip.heat) == ("article", "news", 39, -1)
    assert clip.published_flag is False
    assert clip.images[0].width == 760
    assert [r.provider.domain for r in clip.related if r.provider] == [
        "biometricupdate.com", "nzherald.co.nz"]
    assert clip.related[0].canonical_url == (
        "https://biometricupdate.com/202011/"
        "facial-recognition-critics-consider-the-options-in-obvia-webinar")


def test_seed_with_source_and_amp_urls_has_one_canonical_url() -> None:
    clip = load_file(SEEDS / "003_06c42d1ff0946df3.txt", SEEDS)
    assert clip.url.startswith("https://abcnews.go.com/Politics/")
    assert set(clip.urls) == {"sourceUrl", "ampUrl", "cdnAmpUrl"}
    canon = {documents.canonical_url(u) for u in clip.urls.values()}
    assert canon == {clip.canonical_url}


def test_mojibake_is_repaired() -> None:
    clip = load_file(SEEDS / "004_97f99700f6cf9e75.txt", SEEDS)
    healey = next(r for r in clip.related if r.title.startswith("Healey"))
    assert "last year's policing" in healey.excerpt
    assert "â€" not in healey.excerpt


def test_secured_is_neither_kept_nor_indexed() -> None:
    clip = load_file(SEEDS / "000_d147ebc2d70e439b.txt", SEEDS)
    assert "secured" not in clip.extra
    assert "qFa7Vn" not in repr(clip)


def test_unknown_keys_are_kept_as_extra(corpus: Corpus) -> None:
    path = corpus.add("a.md", title="T", mood="sunny")
    assert load_file(path, corpus.root).extra == {"mood": "sunny"}


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTP://WWW.Example.COM/a/b/?utm_source=x&id=3#frag", "https://example.com/a/b?id=3"),
        ("https://example.com:443/a/", "https://example.com/a"),
        ("https://example.com/amp/story/1", "https://example.com/story/1"),
        ("https://example.com/story/1/amp/", "https://example.com/story/1"),
        ("https://amp.example.com/x.amp.html", "https://example.com/x.html"),
        ("https://example-com.cdn.ampproject.org/c/s/www.example.com/story?fbclid=1",
         "https://example.com/story"),
        ("https://example.com/?b=2&a=1", "https://example.com/?a=1&b=2"),
    ],
)
def test_canonical_url(url: str, canonical: str) -> None:
    assert documents.canonical_url(url) == canonical


def test_text_is_cleaned() -> None:
    clip = parse_bytes(clipping_text(title="A &amp; B\x07 \u200b  caf\u00c3\u00a9"
                                     ).encode(), "x.md")
    assert clip.title == "A & B café"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2021-05-05T10:00:00-05:00", dt.datetime(2021, 5, 5, 15, tzinfo=UTC)),
        ("2021-05-05T15:00:00Z", dt.datetime(2021, 5, 5, 15, tzinfo=UTC)),
        ("2021-05-05T15:00:00", dt.datetime(2021, 5, 5, 15, tzinfo=UTC)),  # naive = UTC
        ("2021-05-05", dt.datetime(2021, 5, 5, tzinfo=UTC)),  # date only = midnight UTC
    ],
)
def test_dates_normalise_to_utc(raw: str, expected: dt.datetime) -> None:
    unquoted = f"---\ntitle: t\npublishedDateTime: {raw}\n---\n".encode()
    quoted = clipping_text(title="t", publishedDateTime=raw).encode()
    assert parse_bytes(unquoted, "x.md").published == expected
    assert parse_bytes(quoted, "x.md").published == expected


def test_single_topic_becomes_a_list() -> None:
    clip = parse_bytes(clipping_text(title="t", topics="economy").encode(), "x.md")
    assert clip.topics == ("economy",)


@pytest.mark.parametrize(
    ("fields", "field", "problem"),
    [
        ({"quality": "high"}, "quality", "whole number"),
        ({"quality": 3.7}, "quality", "whole number"),
        ({"quality": 130}, "quality", "from 0 to 100"),
        ({"publishedDateTime": "yesterday"}, "publishedDateTime", "not a date"),
        ({"topics": [True, 1]}, "topics[0]", "must be text"),
        ({"provider": ["a"]}, "provider", "mapping"),
        ({"related": "x"}, "related", "list"),
        ({"related": [{"title": "r", "quality": "bad"}]}, "related[0].quality", "whole number"),
    ],
)
def test_bad_field_names_file_and_field(fields: dict[str, object], field: str,
                                        problem: str) -> None:
    with pytest.raises(ClippingError) as info:
        parse_bytes(clipping_text(title="t", **fields).encode(), "dir/bad.md")
    err = info.value
    assert (err.path, err.field) == ("dir/bad.md", field)
    assert problem in err.problem
    assert str(err).startswith(f"dir/bad.md: {field}: ")


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "empty file"),
        (b"title: no fences\n", "must start with a '---' line"),
        (b"---\ntitle: x\n", "front matter not closed"),
        (b"---\n- a\n- b\n---\n", "must be a mapping"),
        (b"---\ntitle: a\ntitle: b\n---\n", "duplicate key: title"),
        (b"---\ntitle: \xe9\n---\n", "not valid UTF-8"),
        (b"---\na: &x [1]\nb: *x\n---\n", "aliases"),
        (b"---\ntitle: !!python/object/apply:os.system ['true']\n---\n", "not allowed"),
    ],
)
def test_bad_files_raise_one_clear_error(data: bytes, problem: str) -> None:
    with pytest.raises(ClippingError) as info:
        parse_bytes(data, "bad.md")
    assert problem in str(info.value)
    assert str(info.value).startswith("bad.md: ")


def test_bom_and_crlf_load_like_lf(tmp_path: Path) -> None:
    text = clipping_text(title="Same", topics=["a", "b"], quality=5)
    plain = parse_bytes(text.encode(), "x.md")
    assert parse_bytes(b"\xef\xbb\xbf" + text.encode(), "x.md") == plain
    assert parse_bytes(text.replace("\n", "\r\n").encode(), "x.md") == plain
