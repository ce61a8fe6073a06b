"""Issue #4, loader cases 1-20: hostile or sloppy clipping files.

The contract for a bad file: one stderr line ``path: field: problem``, the file
skipped, every other file indexed, its previously indexed version kept, exit code 4
from ``searchkit index``, never a traceback. Unit cases go through
``documents.parse_bytes`` / ``load_file``; the end-to-end contract through the real
CLI (``CliRunner`` and the installed script in a subprocess).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from searchkit.documents import (
    MAX_FILE_BYTES,
    MAX_FRONT_MATTER_BYTES,
    Provider,
    load_file,
    parse_bytes,
)
from searchkit.errors import ClippingError
from tests.conftest import LOAD_PROOF, SEEDS, Corpus, cli, invoke

UTC = dt.timezone.utc
SEED = SEEDS / "000_d147ebc2d70e439b.txt"


def fm(body: str) -> bytes:
    """A clipping whose front matter is ``body``."""
    return f"---\n{body}\n---\nThe body.\n".encode()


def error(data: bytes | str, name: str = "x.md") -> ClippingError:
    if isinstance(data, str):
        data = data.encode()
    with pytest.raises(ClippingError) as info:
        parse_bytes(data, name)
    message = str(info.value)
    assert "\n" not in message and "\r" not in message  # one stderr line
    assert message.startswith(f"{name}: ")
    return info.value


def script(name: str) -> str:
    found = shutil.which(name, path=os.path.dirname(sys.executable)) or shutil.which(name)
    assert found, f"{name} is not installed"
    return found


# ---------------------------------------------------------------- 1-3 encodings, line ends


def test_01_latin1_byte_is_not_valid_utf8_with_the_file_name() -> None:
    err = error(b"---\ntitle: caf\xe9\n---\n", "news/cafe.md")
    assert str(err) == ("news/cafe.md: not valid UTF-8 (byte 0xe9 at offset 14); "
                        "re-save the file as UTF-8")


def test_02_utf8_bom_loads_with_full_metadata() -> None:
    data = SEED.read_bytes()
    plain = parse_bytes(data, "x.md")
    with_bom = parse_bytes(b"\xef\xbb\xbf" + data, "x.md")
    assert with_bom == plain
    assert with_bom.title == "CBP plans broader use of facial recognition"
    assert with_bom.quality == 39 and with_bom.topics == ("Computer Vision", "AI")
    assert with_bom.provider is not None and with_bom.provider.domain == "gcn.com"
    assert len(with_bom.related) == 2 and len(with_bom.images) == 1


@pytest.mark.parametrize("newline", [b"\r\n", b"\r"], ids=["crlf", "lone-cr"])
def test_03_crlf_and_lone_cr_give_the_same_entries_as_lf(newline: bytes,
                                                         tmp_path: Path) -> None:
    from searchkit.entries import entries_for

    lf = parse_bytes(SEED.read_bytes(), "x.md")
    other = parse_bytes(SEED.read_bytes().replace(b"\n", newline), "x.md")
    assert other == lf
    assert entries_for(other, "s") == entries_for(lf, "s")
    block = b"---\ntitle: t\nexcerpt: |\n  one\n  two\n---\n"
    assert parse_bytes(block.replace(b"\n", newline), "x.md").excerpt == "one two"


# ---------------------------------------------------------------- 4-6 fences and shape


def test_04_no_closing_fence() -> None:
    err = error("---\ntitle: Open ended\nexcerpt: never closed\n")
    assert err.problem == "front matter not closed: add a '---' line after the last key"


@pytest.mark.parametrize("body", [
    "Body paragraph one.\n\n---\n\nMore text after a rule.\n",
    "# A heading\n\nSome text, with commas.\n---\n",
    "Hello world\n---\n",
])
def test_05_no_closer_but_a_rule_later_is_rejected_not_merged(body: str) -> None:
    err = error(f"---\ntitle: Foo\nexcerpt: Bar\n\n{body}")
    assert err.problem.startswith("front matter not closed? line ")
    assert err.problem.endswith("is not a 'key: value' line; add a '---' line after the "
                                "last key")


@pytest.mark.parametrize(("data", "problem"), [
    (fm("- a\n- b"), "front matter must be a mapping of keys to values, not a list"),
    (fm("just a sentence"), "front matter must be a mapping of keys to values, "
                            "not a single value"),
    (fm("42"), "front matter must be a mapping of keys to values, not a single value"),
    (b"---\n---\nbody\n", "front matter must be a mapping (it is empty)"),
    (fm("# only a comment"), "front matter must be a mapping (it is empty)"),
    (b"---\ntitle: x\n...\nbody\n",
     "front matter must be a mapping closed by '---' (found '...' at line 3)"),
    (b"---\ntitle: x\n+++\nbody\n",
     "front matter must be a mapping closed by '---' (found '+++' at line 3)"),
], ids=["list", "scalar", "number", "empty", "comment-only", "dots", "plus"])
def test_06_front_matter_must_be_a_mapping(data: bytes, problem: str) -> None:
    err = error(data)
    assert err.problem == problem and err.field is None


# ---------------------------------------------------------------- 7-10 field values


@pytest.mark.parametrize(("raw", "shown"), [
    ('"high"', "text 'high'"),
    ("3.7", "a number '3.7'"),
    ("yes", "true/false 'yes'"),
    (".inf", "a number '.inf'"),
    ("1e30", "text '1e30'"),
    ("0x10", "a number '0x10'"),
    ("1_000", "a number '1_000'"),
    ("1:30", "a number '1:30'"),
    ("[50]", "a list [50]"),
    ("0x" + "f" * 5000, "text '0x" + "f" * 54 + "..."),
])
def test_07_quality_must_be_a_whole_number(raw: str, shown: str) -> None:
    err = error(fm(f"title: t\nquality: {raw}"))
    assert err.field == "quality"
    assert err.problem == f"must be a whole number from 0 to 100, not {shown}"


def test_07_quality_out_of_range_and_accepted_spellings() -> None:
    assert error(fm("quality: 101")).problem == "must be a whole number from 0 to 100, not '101'"
    for raw, value in [("50", 50), ('"50"', 50), ("'7'", 7), ("010", 10), ("+5", 5)]:
        assert parse_bytes(fm(f"quality: {raw}"), "x.md").quality == value


@pytest.mark.parametrize(("raw", "problem"), [
    ("yesterday", "not a date: 'yesterday' (use ISO 8601, e.g. 2021-05-05T14:30:00Z)"),
    ("2024-13-45", "not a date: '2024-13-45' (use ISO 8601, e.g. 2021-05-05T14:30:00Z)"),
    ('"2024-13-45T10:00:00Z"', "not a date: '2024-13-45T10:00:00Z' (use ISO 8601, e.g. "
                               "2021-05-05T14:30:00Z)"),
    ("12:30", "not a date: '12:30' (use ISO 8601, e.g. 2021-05-05T14:30:00Z)"),
    ("1714921200", "not a date: '1714921200' (use ISO 8601, e.g. 2021-05-05T14:30:00Z)"),
    ("0001-01-01T00:00:00+05:00", "date 0001-01-01 is outside 1800..2200"),
    ("9999-12-31T23:59:59-05:00", "date 9999-12-31 is outside 1800..2200"),
    ("[2024-05-05]", "must be a date, not a list [datetime.date(2024, 5, 5)]"),
])
def test_08_bad_dates_name_the_field(raw: str, problem: str) -> None:
    err = error(fm(f"publishedDateTime: {raw}"))
    assert (err.field, err.problem) == ("publishedDateTime", problem)


@pytest.mark.parametrize(("raw", "expected"), [
    ("2024-05-05", dt.datetime(2024, 5, 5, tzinfo=UTC)),  # date only: midnight UTC
    ('"2024-05-05"', dt.datetime(2024, 5, 5, tzinfo=UTC)),
    ("2024-05-05T10:30:00", dt.datetime(2024, 5, 5, 10, 30, tzinfo=UTC)),  # naive: UTC
    ('"2024-05-05 10:30:00"', dt.datetime(2024, 5, 5, 10, 30, tzinfo=UTC)),
    ("2024-05-05T10:30:00.987654Z", dt.datetime(2024, 5, 5, 10, 30, tzinfo=UTC)),
])
def test_08_documented_date_normalisations(raw: str, expected: dt.datetime) -> None:
    published = parse_bytes(fm(f"publishedDateTime: {raw}"), "x.md").published
    assert published == expected and published.tzinfo == UTC


def test_09_same_instant_in_two_offsets_is_one_indexed_value(corpus: Corpus,
                                                             tmp_path: Path) -> None:
    spellings = ["2021-05-05T10:00:00-05:00", "2021-05-05T15:00:00Z",
                 '"2021-05-05T15:00:00+00:00"', "2021-05-05 17:00:00 +2"]
    values = {parse_bytes(fm(f"publishedDateTime: {s}"), "x.md").published for s in spellings}
    assert values == {dt.datetime(2021, 5, 5, 15, tzinfo=UTC)}
    for i, s in enumerate(spellings):
        corpus.write_raw(f"c{i}.md", fm(f"title: Instant okapi {i}\npublishedDateTime: {s}"))
    ix = str(tmp_path / "ix")
    assert cli("index", str(corpus.root), "--index", ix)[0] == 0
    code, out, err = cli("search", "okapi", "--index", ix, "--no-refresh", "-f", "json")
    hits = json.loads(out)["hits"]
    assert (code, err, len(hits)) == (0, "", 4)
    assert {h["published"] for h in hits} == {"2021-05-05T15:00:00Z"}


def test_10_topics_single_text_becomes_a_list_and_non_text_items_fail() -> None:
    assert parse_bytes(fm('topics: "economy"'), "x.md").topics == ("economy",)
    assert parse_bytes(fm("topics: economy"), "x.md").topics == ("economy",)
    err = error(fm("topics: [yes, 1]"))
    assert (err.field, err.problem) == (
        "topics[0]", "must be text, not true/false 'yes' (quote it to keep it as text)")
    err = error(fm('topics: ["yes", 1]'))
    assert (err.field, err.problem) == (
        "topics[1]", "must be text, not a number '1' (quote it to keep it as text)")
    assert parse_bytes(fm('topics: ["yes", "1"]'), "x.md").topics == ("yes", "1")
    assert error(fm("topics: {a: b}")).field == "topics"


# ---------------------------------------------------------------- 11 YAML 1.1 surprises


@pytest.mark.parametrize(("raw", "title"), [
    ("NO", "NO"), ("yes", "yes"), ("Off", "Off"), ("true", "true"),
    ("12:30", "12:30"),          # YAML 1.1 sexagesimal 750
    ("1.10", "1.10"),            # float 1.1
    ("0x1F", "0x1F"), ("010", "010"), ("1_000", "1_000"), ("1e3", "1e3"),
    ("2024-05-05", "2024-05-05"), (".nan", ".nan"), ("-.inf", "-.inf"), ("=", "="),
    ("'NO'", "NO"), ('"1.10"', "1.10"), ("!!str 12:30", "12:30"),
    ("null", ""), ("~", ""), ("", ""),  # null means "no title"
    ("!!int 0x10", "16"),       # an explicit tag is taken at its word
])
def test_11_text_fields_keep_plain_scalars_as_written(raw: str, title: str) -> None:
    clip = parse_bytes(fm(f"title: {raw}\ntype: {raw}\ncategory: {raw}"), "x.md")
    assert (clip.title, clip.type, clip.category) == (title, title.lower(), title)


def test_11_other_fields_and_keys_under_yaml_1_1() -> None:
    clip = parse_bytes(fm("title: t\nid: 0x1F\nrelated:\n  - title: NO\n    excerpt: 1.10\n"
                          "images: [{url: u, width: 010}]\npublished: yes\nprovider: {name: 1.10}\n"
                          "1: one\n~: null-key\nNO: norway\n12:30: time\nheat: -007"),
                       "x.md")
    assert clip.source_id == "0x1F"
    assert parse_bytes(fm("provider: NO"), "x.md").provider == Provider("NO", "")
    assert clip.provider is not None and clip.provider.name == "1.10"
    assert (clip.related[0].title, clip.related[0].excerpt) == ("NO", "1.10")
    assert clip.images[0].width == 10  # decimal digits, not YAML 1.1 octal 8
    assert clip.published_flag is True and clip.heat == -7
    assert dict(clip.extra) == {"1": "one", "~": "null-key", "NO": "norway", "12:30": "time"}
    assert error(fm("published: 'yes'")).problem == "must be true or false, not 'yes'"
    assert error(fm("title: !!bool yes")).problem == "must be text, not true/false"


# ---------------------------------------------------------------- 12-14 keys and tags


def test_12_duplicate_keys() -> None:
    err = error(fm("title: first\nexcerpt: e\ntitle: second"))
    assert (err.field, str(err)) == ("title", "x.md: title: duplicate key: title")
    assert error(fm('title: a\n"title": b')).problem == "duplicate key: title"
    assert error(fm("provider:\n  name: a\n  name: b")).problem == "duplicate key: name"
    # keys are compared as written: YAML 1.1 would make these two the same key (true)
    assert set(parse_bytes(fm("yes: 1\ntrue: 2"), "x.md").extra) == {"yes", "true"}


def test_13_integer_null_and_odd_keys_are_handled() -> None:
    clip = parse_bytes(fm("title: t\n1: a\n2.5: b\n~: c\nnull: d\ncontent: e\nhandler: f\n"
                          "metadata: g\n__class__: h\n'': i"), "x.md")
    assert clip.title == "t"
    assert dict(clip.extra) == {"1": "a", "2.5": "b", "~": "c", "null": "d", "content": "e",
                                "handler": "f", "metadata": "g", "__class__": "h", "": "i"}
    assert error(fm("? [a, b]\n: c")).problem == "mapping keys must be plain values (line 2)"
    assert error(fm("? {a: b}\n: c")).problem == "mapping keys must be plain values (line 2)"


@pytest.mark.parametrize(("value", "tag"), [
    ("!!python/object/apply:os.system ['touch {marker}']",
     "tag:yaml.org,2002:python/object/apply:os.system"),
    ("!!python/object/apply:pathlib.Path.touch ['{marker}']",
     "tag:yaml.org,2002:python/object/apply:pathlib.Path.touch"),
    ("!!python/name:os.system", "tag:yaml.org,2002:python/name:os.system"),
    ("!foo bar", "!foo"),
    ("!foo {a: 1}", "!foo"),
    ("!!binary aGVsbG8=", "tag:yaml.org,2002:binary"),
    ("!!set {a, b}", "tag:yaml.org,2002:set"),
    ("!!omap [a: 1]", "tag:yaml.org,2002:omap"),
    ("!<tag:yaml.org,2002:python/none> ''", "tag:yaml.org,2002:python/none"),
])
def test_14_unsafe_and_unknown_tags_are_rejected_and_nothing_runs(value: str, tag: str,
                                                                  tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    err = error(fm("title: " + value.replace("{marker}", str(marker))))
    assert err.problem == f"YAML tag {tag} is not allowed (line 2)"
    assert not marker.exists()


# ---------------------------------------------------------------- 15-19 resource limits


def _bounded(data: bytes) -> tuple[ClippingError, float, int]:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(ClippingError) as info:
            parse_bytes(data, "bomb.md")
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return info.value, seconds, peak


def billion_laughs() -> bytes:
    lines = ['lol0: &l0 "lol"']
    lines += [f"lol{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 10)]
    return fm("\n".join(lines))


@pytest.mark.parametrize(("data", "problem"), [
    (billion_laughs(), "YAML aliases (*l0) are not supported (line 3); write the value out"),
    (fm("a: &a [*a]"), "YAML aliases (*a) are not supported (line 2); write the value out"),
    (fm("a: &a {b: *a}"), "YAML aliases (*a) are not supported (line 2); write the value out"),
], ids=["billion-laughs", "recursive-list", "recursive-map"])
def test_15_alias_bombs_are_rejected_fast_and_small(data: bytes, problem: str) -> None:
    err, seconds, peak = _bounded(data)
    assert err.problem == problem
    assert seconds < 0.1 and peak < 50 * 2**20


@pytest.mark.parametrize(("raw", "expected"), [
    (":".join(["59"] * 80_000), ":".join(["59"] * 80_000)),  # YAML 1.1 base 60: 60**80000
    ("0x" + "f" * 20_000, "0x" + "f" * 20_000),  # fine for int(), too long for str()
    ("!!int 0x" + "f" * 20_000, "0x" + "f" * 20_000),
    ("9" * 5_000, "9" * 5_000),
])
def test_15_number_bombs_stay_text_and_are_cheap(raw: str, expected: str) -> None:
    started = time.perf_counter()
    clip = parse_bytes(fm(f"title: {raw}"), "x.md")
    assert clip.title == expected and time.perf_counter() - started < 0.1
    err = error(fm(f"heat: {raw}"))
    assert err.field == "heat" and err.problem.endswith("...") and len(err.problem) < 150


def test_urls_with_impossible_ports_do_not_crash() -> None:
    clip = parse_bytes(fm("url: 'http://example.com:99999/x'\nwebUrl: http://[::1/x"), "x.md")
    assert clip.url == clip.canonical_url == "http://[::1/x"  # webUrl comes first
    assert dict(clip.urls) == {"webUrl": "http://[::1/x", "url": "http://example.com:99999/x"}
    only = parse_bytes(fm("url: 'http://example.com:99999/x'"), "x.md")
    assert only.canonical_url == "http://example.com:99999/x"


def merge_bomb(levels: int, new_keys: bool) -> bytes:
    """The payload of PyYAML issue 897 (exponential merge-key expansion)."""
    lines = ["base0: &L0 {k0_0: v0}"]
    for level in range(1, levels + 1):
        keys = ", " + ", ".join(f"k{level}_{i}: v{level}" for i in range(1 << level)) \
            if new_keys else ""
        lines.append(f"L{level}: &L{level} {{<<: [*L{level - 1}, *L{level - 1}]{keys}}}")
    lines.append(f"target: {{<<: [*L{levels}, *L{levels}]}}")
    return fm("\n".join(lines))


@pytest.mark.parametrize(("data", "problem"), [
    (merge_bomb(22, new_keys=False), "YAML merge keys (<<) are not supported (line 3)"),
    (merge_bomb(10, new_keys=True), "YAML merge keys (<<) are not supported (line 3)"),
    (fm("<<: {title: merged}"), "YAML merge keys (<<) are not supported (line 2)"),
], ids=["issue-897-deep", "issue-897-wide", "plain-merge"])
def test_16_merge_key_bomb_is_rejected_fast(data: bytes, problem: str) -> None:
    err, seconds, peak = _bounded(data)
    assert err.problem == problem
    assert seconds < 0.1 and peak < 50 * 2**20


def deep(kind: str, depth: int) -> bytes:
    if kind == "flow-list":
        return fm("a: " + "[" * depth + "]" * depth)
    if kind == "flow-map":
        return fm("a: " + "{a: " * depth + "1" + "}" * depth)
    return fm("a:\n" + "- " * depth + "x")  # block sequences on one line


@pytest.mark.parametrize("depth", [1_000, 30_000])
@pytest.mark.parametrize("kind", ["flow-list", "flow-map", "block-list"])
def test_17_deep_nesting_is_rejected(kind: str, depth: int) -> None:
    err, seconds, _ = _bounded(deep(kind, depth))
    assert re.fullmatch(r"front matter is nested deeper than 32 levels \(line \d+\)|"
                        r"invalid YAML \(line 2, column \d+\): exceeded maximum nesting depth",
                        err.problem), err.problem
    assert seconds < 0.5


@pytest.mark.slow
def test_17_indexer_subprocess_survives_deep_nesting(tmp_path: Path) -> None:
    folder = tmp_path / "clips"
    folder.mkdir()
    (folder / "good.md").write_bytes(fm("title: Surviving heron"))
    for kind in ("flow-list", "flow-map", "block-list"):
        for depth in (1_000, 30_000):
            (folder / f"{kind}-{depth}.md").write_bytes(deep(kind, depth))
    proc = subprocess.run([script("searchkit"), "index", str(folder), "--index",
                           str(tmp_path / "ix")], capture_output=True, timeout=60)
    assert proc.returncode == 4  # never negative: no signal (SIGSEGV, SIGKILL) killed it
    lines = proc.stderr.decode().splitlines()
    assert len(lines) == 6 and all(re.match(r"[a-z-]+-\d+\.md: ", ln) for ln in lines)
    assert b"Traceback" not in proc.stderr
    assert b"1 added" in proc.stdout and b"6 failed" in proc.stdout


def test_18_size_caps_are_checked_before_parsing(tmp_path: Path) -> None:
    # an alias inside would be an error if it were parsed: the size error comes first
    big_fm = fm("a: *nope\nexcerpt: " + "x" * MAX_FRONT_MATTER_BYTES)
    assert len(big_fm) < MAX_FILE_BYTES
    assert error(big_fm).problem == f"front matter exceeds {MAX_FRONT_MATTER_BYTES} bytes; " \
                                    "not parsed"
    ten_mb = fm("a: *nope\nexcerpt: " + "x" * 10_000_000)
    assert error(ten_mb).problem == f"file exceeds {MAX_FILE_BYTES} bytes; not parsed"
    path = tmp_path / "ten.md"
    path.write_bytes(ten_mb)
    with pytest.raises(ClippingError) as info:
        load_file(path, tmp_path)
    assert str(info.value) == f"ten.md: file exceeds {MAX_FILE_BYTES} bytes; not read"
    sparse = tmp_path / "huge.md"
    with open(sparse, "wb") as f:
        f.truncate(100 * 2**20)  # 100 MB of holes: nothing is read
    started = time.perf_counter()
    with pytest.raises(ClippingError) as info:
        load_file(sparse, tmp_path)
    assert str(info.value) == f"huge.md: file exceeds {MAX_FILE_BYTES} bytes; not read"
    assert time.perf_counter() - started < 0.1


@pytest.mark.parametrize(("data", "problem"), [
    (b"", "empty file"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10", "contains NUL bytes (binary "
                                                            "file?); skipped"),
    (b"---\ntitle: a\x00b\n---\n", "contains NUL bytes (binary file?); skipped"),
    (b"\x89PNG\r\n\x1a\n", "not valid UTF-8 (byte 0x89 at offset 0); re-save the file as UTF-8"),
    (b"   \n\n", "no front matter: the file must start with a '---' line"),
])
def test_19_empty_binary_and_nul_files_are_skipped_with_a_message(data: bytes,
                                                                   problem: str) -> None:
    assert error(data, "img.md").problem == problem


def test_19_control_characters_in_raw_front_matter_get_a_one_line_message() -> None:
    err = error(b"---\ntitle: a\x1b[31mred\n---\n")
    assert err.problem == ("control character U+001B at line 2, column 9 is not allowed in "
                           "YAML; remove it (or write it as an escape in double quotes)")


# ---------------------------------------------------------------- the CLI contract


BAD_FILES = {
    "01-latin1": (b"---\ntitle: Caf\xe9 walrus\n---\n",
                  "bad.md: not valid UTF-8 (byte 0xe9 at offset 14); re-save the file as UTF-8"),
    "04-unclosed": (b"---\ntitle: Open walrus\n",
                    "bad.md: front matter not closed: add a '---' line after the last key"),
    "05-rule-later": (b"---\ntitle: Walrus\n\nBody text.\n\n---\nMore.\n",
                      "bad.md: front matter not closed? line 4 ('Body text.') is not a "
                      "'key: value' line; add a '---' line after the last key"),
    "06-list": (fm("- walrus"), "bad.md: front matter must be a mapping of keys to values, "
                                "not a list"),
    "07-quality": (fm("title: Walrus\nquality: .inf"),
                   "bad.md: quality: must be a whole number from 0 to 100, not a number '.inf'"),
    "08-date": (fm("title: Walrus\npublishedDateTime: 2024-13-45"),
                "bad.md: publishedDateTime: not a date: '2024-13-45' (use ISO 8601, e.g. "
                "2021-05-05T14:30:00Z)"),
    "10-topics": (fm("title: Walrus\ntopics: [yes, 1]"),
                  "bad.md: topics[0]: must be text, not true/false 'yes' (quote it to keep it "
                  "as text)"),
    "12-duplicate": (fm("title: Walrus\ntitle: Walrus"), "bad.md: title: duplicate key: title"),
    "14-python-tag": (fm("title: !!python/object/apply:os.system ['true']"),
                      "bad.md: YAML tag tag:yaml.org,2002:python/object/apply:os.system is not "
                      "allowed (line 2)"),
    "15-billion-laughs": (billion_laughs(),
                          "bad.md: YAML aliases (*l0) are not supported (line 3); write the "
                          "value out"),
    "16-merge-bomb": (merge_bomb(22, new_keys=False),
                      "bad.md: YAML merge keys (<<) are not supported (line 3)"),
    "17-deep": (deep("flow-list", 30_000),
                "bad.md: invalid YAML (line 2, column 1003): exceeded maximum nesting depth"),
    "18-big-front-matter": (fm("excerpt: " + "w" * MAX_FRONT_MATTER_BYTES),
                            f"bad.md: front matter exceeds {MAX_FRONT_MATTER_BYTES} bytes; "
                            "not parsed"),
    "18-big-file": (fm("excerpt: " + "w" * MAX_FILE_BYTES),
                    f"bad.md: file exceeds {MAX_FILE_BYTES} bytes; not read"),
    "19-empty": (b"", "bad.md: empty file"),
    "19-nul": (b"\x89PNG\r\n\x1a\n\x00\x00", "bad.md: contains NUL bytes (binary file?); "
                                             "skipped"),
    "20-raw-escape": (b"---\ntitle: \x1b[2Jwalrus\n---\n",
                      "bad.md: control character U+001B at line 2, column 8 is not allowed in "
                      "YAML; remove it (or write it as an escape in double quotes)"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_is_reported_skipped_and_its_old_version_kept(
        case: str, corpus: Corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data, line = BAD_FILES[case]
    monkeypatch.chdir(corpus.root)  # paths print as they open from here
    ix = str(tmp_path / "ix")
    corpus.write_raw("good.md", fm("title: Steady zebra"))
    corpus.write_raw("bad.md", fm("title: Original walrus"))
    assert cli("index", str(corpus.root), "--index", ix)[0] == 0
    corpus.write_raw("bad.md", data)
    corpus.write_raw("new.md", fm("title: Fresh gazelle"))
    code, out, err = cli("index", str(corpus.root), "--index", ix)
    assert (code, err) == (4, line + "\n")
    assert re.fullmatch(r"Indexed .* 1 added, 0 updated, 0 deleted, 1 unchanged, 1 failed "
                        r"in \d+\.\d\ds\n", out), out
    for word, path in [("walrus", "bad.md"), ("zebra", "good.md"), ("gazelle", "new.md")]:
        assert cli("search", word, "--index", ix, "--no-refresh", "-f", "paths") == \
            (0, f"{path}\n", "")


# ---------------------------------------------------------------- 20 terminal escapes


ESCAPED_TITLE = r'"\e[31mRed\e[0m \e]0;pwned\a walrus\x9b2J \x07bell\u202e"'
ESC_BYTES = (b"\x1b", b"\x9b", b"\xc2\x9b", b"\x07")
FORMATS = ["pretty", "lines", "json", "jsonl", "csv", "tsv", "paths"]


def _escape_corpus(root: Path) -> None:
    root.mkdir()
    (root / "esc.md").write_bytes(fm(
        f"title: {ESCAPED_TITLE}\nexcerpt: {ESCAPED_TITLE}\nprovider: {ESCAPED_TITLE}\n"
        f"topics: [{ESCAPED_TITLE}]\nurl: {ESCAPED_TITLE}\ntype: {ESCAPED_TITLE}"))


def test_20_escapes_in_a_title_are_removed_at_load() -> None:
    clip = parse_bytes(fm(f"title: {ESCAPED_TITLE}"), "x.md")
    assert not re.search("[\x00-\x1f\x7f-\x9f]", clip.title)
    assert "walrus" in clip.title and "Red" in clip.title


@pytest.mark.parametrize("fmt", FORMATS)
def test_20_no_escape_byte_reaches_stdout_cli_runner(fmt: str, tmp_path: Path) -> None:
    _escape_corpus(tmp_path / "clips")
    ix = str(tmp_path / "ix")
    assert cli("index", str(tmp_path / "clips"), "--index", ix)[0] == 0
    result = invoke("search", "walrus", "--index", ix, "-f", fmt, color=True)
    assert result.exit_code == 0
    assert (b"esc.md" if fmt == "paths" else b"walrus") in result.stdout_bytes
    assert not any(b in result.stdout_bytes for b in ESC_BYTES), result.stdout_bytes


@pytest.mark.slow
def test_20_no_escape_byte_reaches_stdout_subprocess(tmp_path: Path) -> None:
    _escape_corpus(tmp_path / "clips")
    ix = str(tmp_path / "ix")
    env = {**os.environ, "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    proc = subprocess.run([script("searchkit"), "index", str(tmp_path / "clips"), "--index",
                           ix], capture_output=True, timeout=60, env=env)
    assert proc.returncode == 0
    for fmt in FORMATS:
        proc = subprocess.run([script("searchkit"), "search", "walrus", "--index", ix,
                               "-f", fmt], capture_output=True, timeout=60, env=env)
        assert proc.returncode == 0, fmt
        assert (b"esc.md" if fmt == "paths" else b"walrus") in proc.stdout, fmt
        assert not any(b in proc.stdout + proc.stderr for b in ESC_BYTES), (fmt, proc.stdout)


# ---------------------------------------------------------------- fuzzing


YAML_TOKENS = st.sampled_from(
    list("abcxyz019 :-[]{},&*!|>'\"%@#?\n\t.~=<+_\\/") +
    ["title", "quality", "topics", "publishedDateTime", "related", "provider", "images",
     "url", "published", "heat", "<<", "!!", "---", "...", "\r\n", "\r", "\x00", "\x1b",
     "\ufeff", "\u2028", "\x85", "é", "\U0001f600", "2024-05-05", "12:30", "0x1F", "yes",
     "NO", ".inf", "1e30", "&a ", "*a", "!!python/name:os.system ", "!!binary ", "\n  - ",
     "\n  ", "9" * 30])


@settings(LOAD_PROOF, max_examples=400, database=None)
@given(front=st.lists(YAML_TOKENS, max_size=60).map("".join), body=st.binary(max_size=40),
       bom=st.booleans(), close=st.sampled_from(["---", "...", "", "--- "]))
def test_fuzz_random_front_matter_raises_only_clipping_error(front: str, body: bytes,
                                                             bom: bool, close: str) -> None:
    data = ("\ufeff" if bom else "") + f"---\n{front}\n{close}\n"
    try:
        clip = parse_bytes(data.encode("utf-8", "surrogatepass") + body, "fuzz.md")
    except ClippingError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("fuzz.md: ")
    else:
        assert isinstance(clip.title, str) and "\x1b" not in clip.title


@settings(LOAD_PROOF, max_examples=300, database=None)
@given(data=st.binary(max_size=300))
def test_fuzz_random_bytes_raise_only_clipping_error(data: bytes) -> None:
    for candidate in (data, b"---\n" + data, b"---\n" + data + b"\n---\n"):
        try:
            parse_bytes(candidate, "fuzz.md")
        except ClippingError as exc:
            assert "\n" not in str(exc)


@settings(LOAD_PROOF, max_examples=200, database=None)
@given(st.dictionaries(
    st.sampled_from(["title", "excerpt", "quality", "heat", "topics", "publishedDateTime",
                     "provider", "related", "images", "published", "url", "id", "type"]),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
        | st.dates().map(str) | st.datetimes().map(lambda d: d.isoformat()),
        lambda inner: st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["title", "url", "name", "domain", "quality",
                                           "width", "publishedDateTime"]), inner, max_size=3),
        max_leaves=8)))
def test_fuzz_structured_front_matter_raises_only_clipping_error(meta: dict[str, object]
                                                                  ) -> None:
    text = "---\n" + json.dumps(meta, ensure_ascii=False, allow_nan=True) \
        .replace("NaN", ".nan").replace("Infinity", ".inf") + "\n---\n"
    try:
        clip = parse_bytes(text.encode("utf-8", "surrogatepass"), "fuzz.md")
    except ClippingError as exc:
        assert "\n" not in str(exc)
    else:
        assert dataclasses.is_dataclass(clip)
