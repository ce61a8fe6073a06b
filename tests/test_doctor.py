"""`searchkit doctor`: lint a clippings folder through the real CLI, on real files."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
from pathlib import Path

import pytest

from searchkit import doctor
from searchkit.loading import PARALLEL_THRESHOLD
from tests.conftest import REPO, SEEDS, Corpus, cli

GOOD = {"excerpt": "An excerpt.", "publishedDateTime": "2021-05-05T10:00:00Z"}
KNOWN = ("ampUrl, ampWebUrl, category, cdnAmpUrl, cdnAmpWebUrl, excerpt, heat, id, images, "
         "originalUrl, provider, published, publishedDateTime, quality, related, sourceUrl, "
         "title, topics, type, url, webUrl")


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*")}


def test_a_clean_folder_passes_and_says_so(corpus: Corpus) -> None:
    corpus.add("a.md", url="https://example.com/a", **GOOD)
    corpus.add("sub/b.md", url="https://example.com/b", **GOOD)
    assert cli("doctor", str(corpus.root)) == (0, "", "2 files: no problems found\n")


def test_every_warning_kind_one_line_each_sorted_by_path(corpus: Corpus) -> None:
    corpus.add("b-nodate.md", excerpt="x", url="https://example.com/nodate")
    corpus.add("c-future.md", excerpt="x", publishedDateTime="2199-01-01T00:00:00Z",
               url="https://example.com/future")
    corpus.add("d-empty.md", title="", publishedDateTime="2021-05-05",
               url="https://example.com/empty")
    corpus.add("e-dup.md", webUrl="https://www.example.com/story?utm_source=feed", **GOOD)
    corpus.add("a-dup.md", originalUrl="http://example.com/story/", **GOOD)
    corpus.add("f-related.md", url="https://example.com/rel", related=[
        {"title": "Has both", "url": "https://example.org/1"},
        {"title": "No link"},
        {"url": "https://example.org/3"},
        {"excerpt": "neither", "publishedDateTime": "2199-06-01T12:00:00Z"},
    ], **GOOD)
    corpus.add("g-mojibake.md", title="CafÃ© society", url="https://example.com/m",
               related=[{"title": "donâ€™t panic", "url": "https://example.org/m"}], **GOOD)
    corpus.add("h-keys.md", publishDate="2021-05-05", authors="Jane Doe",
               url="https://example.com/k", **GOOD)
    code, out, err = cli("doctor", str(corpus.root))
    assert (code, err) == (0, "8 files: 0 errors, 14 warnings in 8 files\n")
    assert out.splitlines() == [
        "a-dup.md: originalUrl: the same article as e-dup.md (canonical URL "
        "https://example.com/story) (warning)",
        "b-nodate.md: publishedDateTime: no date (missing or empty): searches by date "
        "and the timeline cannot place it (warning)",
        "c-future.md: publishedDateTime: 2199-01-01T00:00:00Z is in the future (warning)",
        "d-empty.md: title: no title (missing or empty) (warning)",
        "d-empty.md: excerpt: no excerpt (missing or empty) (warning)",
        "e-dup.md: webUrl: the same article as a-dup.md (canonical URL "
        "https://example.com/story) (warning)",
        "f-related.md: related[1]: no URL (warning)",
        "f-related.md: related[2]: no title (warning)",
        "f-related.md: related[3]: no title or URL (warning)",
        "f-related.md: related[3].publishedDateTime: 2199-06-01T12:00:00Z is in the "
        "future (warning)",
        'g-mojibake.md: title: text needed mojibake repair: "CafÃ© society" is indexed as '
        '"Café society"; save the correct text in the file (warning)',
        "g-mojibake.md: related[0].title: text needed mojibake repair: \"donâ€™t panic\" "
        "is indexed as \"don't panic\"; save the correct text in the file (warning)",
        "h-keys.md: publishDate: unknown key, kept but not indexed; did you mean "
        f"publishedDateTime? (known keys: {KNOWN}) (warning)",
        "h-keys.md: authors: unknown key, kept but not indexed; "
        f"(known keys: {KNOWN}) (warning)",
    ]


def test_errors_are_what_index_refuses_with_its_messages(corpus: Corpus,
                                                        tmp_path: Path) -> None:
    corpus.add("ok.md", url="https://example.com/ok", **GOOD)
    corpus.add("quality.md", quality=101, **GOOD)
    corpus.add("topics.md", topics=[True], **GOOD)
    corpus.add("date.md", publishedDateTime="yesterday", excerpt="x", kind="x")
    corpus.write_raw("nofm.md", "just text\n")
    corpus.write_raw("empty.md", b"")
    corpus.write_raw("latin1.md", b"---\ntitle: caf\xe9\n---\n")
    corpus.write_raw("yaml.md", "---\ntitle: [unclosed\n---\n")
    corpus.write_raw("dupkey.md", "---\ntitle: a\ntitle: b\nkind: x\n---\n")
    (corpus.root / os.fsdecode(b"bad\xffname.md")).write_text("---\ntitle: t\n---\n")
    code, out, _ = cli("index", str(corpus.root), "--index", str(tmp_path / "ix"))
    assert code == 4
    refused = sorted(line for line in _index_stderr(corpus, tmp_path))
    code, out, err = cli("doctor", str(corpus.root))
    assert code == 1
    errors = [line.removesuffix(" (error)") for line in out.splitlines()
              if line.endswith(" (error)")]
    assert sorted(errors) == refused and len(refused) == 9
    assert "quality.md: quality: must be a whole number from 0 to 100, not '101' (error)\n" \
        in out
    # The front matter of date.md can be read, so its unknown key is worth a warning
    # beside the error; dupkey.md's cannot.
    assert ("date.md: publishedDateTime: not a date: 'yesterday' (use ISO 8601, e.g. "
            "2021-05-05T14:30:00Z) (error)\n"
            f"date.md: kind: unknown key, kept but not indexed; (known keys: {KNOWN}) "
            "(warning)\n") in out
    assert err == "10 files: 9 errors, 1 warning in 9 files\n"


def _index_stderr(corpus: Corpus, tmp_path: Path) -> list[str]:
    code, _, err = cli("index", str(corpus.root), "--index", str(tmp_path / "ix2"), "-q")
    assert code == 4
    return [line for line in err.splitlines() if not line.startswith("Note:")]


@pytest.fixture
def mixed(corpus: Corpus) -> Corpus:
    """One file index refuses, one with a warning, one clean."""
    corpus.add("a.md", url="https://example.com/a", **GOOD)
    corpus.add("b.md", quality="high", **GOOD)
    corpus.add("c.md", url="https://example.com/c", excerpt="x")
    return corpus


def test_exit_codes_strict_and_quiet(mixed: Corpus) -> None:
    folder = str(mixed.root)
    error = ("b.md: quality: must be a whole number from 0 to 100, not text 'high' "
             "(error)\n")
    warning = ("c.md: publishedDateTime: no date (missing or empty): searches by date and "
               "the timeline cannot place it (warning)\n")
    summary = "3 files: 1 error, 1 warning in 2 files\n"
    assert cli("doctor", folder) == (1, error + warning, summary)
    assert cli("doctor", folder, "--quiet") == (1, error, "")
    assert cli("doctor", folder, "--strict", "-q") == (1, error + warning, "")
    mixed.add("b.md", quality=7, **GOOD)  # fixed: a warning alone passes, unless --strict
    assert cli("doctor", folder) == (0, warning, "3 files: 0 errors, 1 warning in 1 file\n")
    assert cli("doctor", folder, "-q") == (0, "", "")
    assert cli("doctor", folder, "--strict") == (1, warning,
                                                 "3 files: 0 errors, 1 warning in 1 file\n")


@pytest.mark.parametrize("case", ["missing", "a file", "bad option"])
def test_usage_errors_exit_2(case: str, tmp_path: Path) -> None:
    (tmp_path / "file.md").write_text("---\ntitle: t\n---\n")
    args = {"missing": [str(tmp_path / "nope")], "a file": [str(tmp_path / "file.md")],
            "bad option": [str(tmp_path), "--format", "xml"]}[case]
    code, out, err = cli("doctor", *args)
    assert (code, out) == (2, "")
    expected = {"missing": f"Error: clippings folder {tmp_path / 'nope'} does not exist\n",
                "a file": f"Error: {tmp_path / 'file.md'} is not a folder\n"}
    if case in expected:
        assert err == expected[case]
    else:
        assert "Invalid value for '--format' / '-f'" in err


def test_json_has_the_findings_and_a_summary(mixed: Corpus) -> None:
    code, out, err = cli("doctor", str(mixed.root), "-f", "json", "--strict")
    assert (code, err) == (1, "")
    record = json.loads(out)
    assert record["folder"] == str(mixed.root)
    assert record["findings"] == [
        {"path": "b.md", "field": "quality", "severity": "error",
         "problem": "must be a whole number from 0 to 100, not text 'high'"},
        {"path": "c.md", "field": "publishedDateTime", "severity": "warning",
         "problem": "no date (missing or empty): searches by date and the timeline cannot "
                    "place it"},
    ]
    assert record["summary"] == {"files": 3, "errors": 1, "warnings": 1,
                                 "files_with_findings": 2, "strict": True, "ok": False}
    assert isinstance(record["seconds"], float)


def test_no_index_is_created_or_touched(mixed: Corpus, tmp_path: Path) -> None:
    index = tmp_path / "ix"
    assert cli("doctor", str(mixed.root), "--index", str(index))[0] == 1
    assert cli("doctor", "--seeds", str(mixed.root), "--index", str(index))[0] == 1
    assert not index.exists()
    before_folder = snapshot(mixed.root)
    assert cli("index", str(mixed.root), "--index", str(index), "-q")[0] == 4
    before = snapshot(index)
    # No folder named: the one the index was built from, as other commands find it.
    code, out, _ = cli("doctor", "--index", str(index), "-q")
    assert (code, out.splitlines()[0]) == (1, "b.md: quality: must be a whole number "
                                               "from 0 to 100, not text 'high' (error)")
    assert snapshot(index) == before
    assert snapshot(mixed.root) == before_folder


def test_an_empty_folder_passes_with_a_note(tmp_path: Path) -> None:
    (tmp_path / ".hidden.md").write_text("not a clipping: hidden")
    assert cli("doctor", str(tmp_path)) == (
        0, "", f"Note: no clippings in {tmp_path} (files ending .md, .markdown or .txt; "
               "hidden ones are skipped)\n0 files: no problems found\n")


def test_a_large_folder_is_read_in_worker_processes_with_the_same_findings(
        corpus: Corpus) -> None:
    n = PARALLEL_THRESHOLD + 10
    for i in range(n):
        corpus.add(f"c{i:04}.md", url=f"https://example.com/{i % (n - 1)}", **GOOD)
    corpus.write_raw("c0100.md", "---\ntitle: [x\n---\n")
    parallel = doctor.check_folder(corpus.root, workers=2)
    serial = doctor.check_folder(corpus.root, workers=1)
    assert parallel.findings == serial.findings
    assert [str(f) for f in parallel.findings] == [
        "c0000.md: url: the same article as c0409.md (canonical URL "
        "https://example.com/0) (warning)",
        "c0100.md: invalid YAML (line 3, column 1): did not find expected ',' or ']' "
        "(error)",
        "c0409.md: url: the same article as c0000.md (canonical URL "
        "https://example.com/0) (warning)",
    ]
    code, out, err = cli("doctor", str(corpus.root))
    assert (code, err) == (1, f"{n} files: 1 error, 2 warnings in 3 files\n")
    assert out.splitlines() == [str(f) for f in serial.findings]


@pytest.mark.parametrize(("key", "meant"), [
    ("publishDate", "publishedDateTime"), ("published_date_time", "publishedDateTime"),
    ("Title", "title"), ("date", "publishedDateTime"), ("tags", "topics"),
    ("excerp", "excerpt"), ("web_url", "webUrl"), ("authors", None), ("isCached", None),
])
def test_a_likely_typo_gets_the_key_it_meant(key: str, meant: str | None) -> None:
    assert doctor.suggest_key(key) == meant


def test_readme_doctor_example_runs_on_the_seeds(tmp_path: Path) -> None:
    """The README's doctor example, as from the repository root (stdout, then stderr)."""
    section = (REPO / "README.md").read_text(encoding="utf-8").split("## Clipping doctor")[1]
    block = re.search(r"<!-- doctor example.*?-->\s*```console\n(.*?)```", section, re.S)
    assert block, "README.md lost its doctor example"
    shutil.copytree(SEEDS, tmp_path / "seeds")
    for chunk in re.split(r"^\$ ", block.group(1), flags=re.M)[1:]:
        command, _, expected = chunk.partition("\n")
        args = shlex.split(command)
        assert args[:2] == ["searchkit", "doctor"]
        with contextlib.chdir(tmp_path):
            code, out, err = cli(*args[1:])
        assert out + err == expected
        assert code == (1 if "--strict" in args else 0)


def test_a_relative_folder_is_read_from_the_current_directory(tmp_path: Path) -> None:
    """The same relative name in two places, one after the other in one process."""
    for where, quality in (("one", 7), ("two", 101)):
        Corpus(tmp_path / where / "clips").add("a.md", quality=quality, **GOOD)
    with contextlib.chdir(tmp_path / "one"):
        assert cli("doctor", "clips") == (0, "", "1 file: no problems found\n")
    with contextlib.chdir(tmp_path / "two"):
        assert cli("doctor", "clips") == (
            1, "a.md: quality: must be a whole number from 0 to 100, not '101' (error)\n",
            "1 file: 1 error, 0 warnings in 1 file\n")


def test_a_terminal_sees_a_checking_bar_then_the_summary(
        monkeypatch: pytest.MonkeyPatch, corpus: Corpus) -> None:
    from searchkit.cli import _common, _progress

    monkeypatch.setattr(_common, "stderr_is_terminal", lambda: True)
    monkeypatch.setattr(_progress, "MIN_FILES", 1)
    for n in range(3):
        corpus.add(f"c{n}.md", url=f"https://example.com/{n}", **GOOD)
    code, out, err = cli("doctor", str(corpus.root))
    bar, summary, end = err.rsplit("\n", 2)
    assert (code, out, summary, end) == (0, "", "3 files: no problems found", "")
    assert bar.startswith("\rchecking [")
    assert re.search(r"\rchecking \[#+\] 3/3 100%  done in \d+\.\ds$", bar), err
    assert cli("doctor", str(corpus.root), "-q") == (0, "", "")  # no bar with --quiet
