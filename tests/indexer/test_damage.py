"""A damaged index says so in one line, and `searchkit index --rebuild` repairs it
(issue #11, item 7); a read-only index folder is said plainly, and searches answer from
it anyway (item 8).

The damage is what a disk or a careless hand does to real segment files, found by
listing the index folder: Whoosh's W3 codec writes a term file (``.trm``), a postings
file (``.pst``) and one ``.col`` file per column (``._stored.col``: the stored fields).
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import Corpus, cli

Damage = Callable[[Path], str]  # damages one file of the index; returns its name


def segment_file(index_dir: Path, suffix: str) -> Path:
    (found,) = [p for p in index_dir.iterdir() if p.name.endswith(suffix)]
    return found


def truncate(suffix: str, keep: float) -> Damage:
    def damage(index_dir: Path) -> str:
        path = segment_file(index_dir, suffix)
        os.truncate(path, int(path.stat().st_size * keep))
        return path.name
    return damage


def delete(suffix: str) -> Damage:
    def damage(index_dir: Path) -> str:
        path = segment_file(index_dir, suffix)
        path.unlink()
        return path.name
    return damage


def overwrite(suffix: str, start: float, end: float, *, after: int = 0) -> Damage:
    """Zero a span of the file in place (a bad sector): the size stays the same. The
    span runs from ``start`` to ``end`` (fractions of the file) and leaves the first
    ``after`` bytes alone."""
    def damage(index_dir: Path) -> str:
        path = segment_file(index_dir, suffix)
        size = path.stat().st_size
        first, last = max(after, int(size * start)), int(size * end)
        with open(path, "r+b") as fh:
            fh.seek(first)
            fh.write(bytes(last - first))
        return path.name
    return damage


# What the adversarial run found, and its neighbours.
FOUND_BY_SIZE = {
    "trm-emptied": truncate(".trm", 0),
    "pst-deleted": delete(".pst"),
    "pst-halved": truncate(".pst", 0.5),
    "stored-halved": truncate("._stored.col", 0.5),
    "path-column-deleted": delete(".path.col"),
    "trm-header-zeroed": overwrite(".trm", 0, 0.01),  # same size, wrong header
}


def damaged_line(index_dir: Path, what: str) -> str:
    return (rf"Error: the index at {re.escape(str(index_dir))} is damaged: {what}; "
            r"run `searchkit index --rebuild`\n")


def clippings(corpus: Corpus) -> None:
    corpus.add("a.md", title="Alpha harbour", excerpt="The harbour at dawn")
    corpus.add("b.md", title="Beta harbour", excerpt="Boats in the harbour")
    corpus.add("c.md", title="Gamma mountain", excerpt="Snow on the mountain")


def build(corpus: Corpus, index_dir: Path) -> None:
    clippings(corpus)
    code, _, err = cli("index", str(corpus.root), "--index", str(index_dir))
    assert (code, err) == (0, "")


def hit_ids(index_dir: Path, query: str) -> list[str]:
    code, out, err = cli("search", query, "--no-refresh", "--index", str(index_dir),
                         "-f", "paths")
    assert (code, err) == (0, ""), err
    return sorted(Path(line).name for line in out.split())


@pytest.mark.parametrize("damage", FOUND_BY_SIZE.values(), ids=FOUND_BY_SIZE.keys())
def test_every_command_says_the_index_is_damaged(corpus: Corpus, index_dir: Path,
                                                 damage: Damage) -> None:
    build(corpus, index_dir)
    name = damage(index_dir)
    line = damaged_line(index_dir, rf"{re.escape(name)} (is missing|has [\d,]+ bytes, "
                                   r"[\d,]+ were written|is empty, .*|starts with .*)")
    ix = ("--index", str(index_dir))
    for args in (("index", str(corpus.root)),  # not "nothing to do"
                 ("search", "harbour", "--no-refresh"),
                 ("search", "harbour", "--seeds", str(corpus.root)),  # refreshing
                 ("show", "a.md"),
                 ("similar", "a.md")):
        code, out, err = cli(*args, *ix)
        assert code == 2, (args, err)
        assert re.fullmatch(line, err), (args, err)
        assert out == ""


@pytest.mark.parametrize("damage", FOUND_BY_SIZE.values(), ids=FOUND_BY_SIZE.keys())
def test_rebuild_repairs_from_the_clippings(corpus: Corpus, index_dir: Path,
                                            damage: Damage) -> None:
    build(corpus, index_dir)
    name = damage(index_dir)
    code, out, err = cli("index", "--rebuild", str(corpus.root), "--index", str(index_dir),
                         "-f", "json")
    assert code == 0, err
    assert re.fullmatch(rf"Note: the index was damaged \({re.escape(name)} [^()]+\); "
                        r"rebuilt it from the clippings alone\n", err), err
    report = json.loads(out)
    assert (report["rebuilt"], report["added"], report["failed"]) == (True, 3, [])
    assert not (index_dir / name).exists()  # the damaged segment went with its commit
    assert hit_ids(index_dir, "harbour") == ["a.md", "b.md"]
    code, out, err = cli("status", "--index", str(index_dir), "--seeds", str(corpus.root))
    assert (code, err) == (0, "")
    assert "stale files:  none, the index is up to date" in out
    code, out, err = cli("index", str(corpus.root), "--index", str(index_dir), "-f", "json")
    assert (code, err) == (0, "")
    assert (json.loads(out)["unchanged"], json.loads(out)["committed"]) == (3, False)


@pytest.mark.parametrize("damage", FOUND_BY_SIZE.values(), ids=FOUND_BY_SIZE.keys())
def test_status_reports_damage_in_text_and_json(corpus: Corpus, index_dir: Path,
                                                damage: Damage) -> None:
    build(corpus, index_dir)
    name = damage(index_dir)
    ix = ("--index", str(index_dir), "--seeds", str(corpus.root))
    code, out, err = cli("status", *ix)
    assert code == 2
    assert re.fullmatch(damaged_line(index_dir, f"{re.escape(name)} .*"), err)
    problem = err.split("is damaged: ", 1)[1].rsplit("; run", 1)[0]
    assert f"damaged:      {problem}; `searchkit index --rebuild` repairs it\n" in out
    assert "stale files:  unknown (the index cannot be read)\n" in out
    code, out, err = cli("status", "-f", "json", *ix)
    assert code == 2 and err.startswith(f"Error: the index at {index_dir} is damaged: ")
    record = json.loads(out)
    assert record["exists"] is True and record["damaged"] == problem
    assert "entries" not in record and "stale" not in record


def test_unreadable_table_of_contents_is_damage_too(corpus: Corpus, index_dir: Path) -> None:
    build(corpus, index_dir)
    toc = next(p for p in index_dir.iterdir() if p.name.endswith(".toc"))
    toc.write_bytes(b"")
    code, out, err = cli("status", "--index", str(index_dir), "--seeds", str(corpus.root))
    assert code == 2 and re.fullmatch(damaged_line(index_dir, ".+"), err)
    assert "damaged:" in out
    code, _, err = cli("index", "--rebuild", str(corpus.root), "--index", str(index_dir))
    assert code == 0, err
    assert hit_ids(index_dir, "mountain") == ["c.md"]


def test_damage_inside_postings_is_found_by_the_search(corpus: Corpus,
                                                       index_dir: Path) -> None:
    """Zeroed postings of the same size pass the cheap check; the search that reads
    them says the index is damaged, and --rebuild repairs it."""
    build(corpus, index_dir)
    name = overwrite(".pst", 0, 1, after=4)(index_dir)  # the header survives
    code, out, err = cli("search", "harbour", "--no-refresh", "--index", str(index_dir))
    assert code == 2 and out == ""
    assert re.fullmatch(damaged_line(index_dir, rf"Bad postings block tag .* in "
                                                rf"'{re.escape(name)}'.*"), err), err
    code, _, err = cli("index", "--rebuild", str(corpus.root), "--index", str(index_dir))
    assert (code, err) == (0, "")
    assert hit_ids(index_dir, "harbour") == ["a.md", "b.md"]


def test_damage_inside_stored_fields_is_found_by_the_search(corpus: Corpus,
                                                            index_dir: Path) -> None:
    build(corpus, index_dir)
    overwrite("._stored.col", 0.0, 0.9)(index_dir)  # same size: only reading finds it
    code, out, err = cli("search", "harbour", "--no-refresh", "--index", str(index_dir))
    assert code == 2 and out == ""
    assert re.fullmatch(damaged_line(index_dir, r"unreadable data \(.+\)"), err), err
    code, _, err = cli("index", "--rebuild", str(corpus.root), "--index", str(index_dir))
    assert (code, err) == (0, "")
    assert hit_ids(index_dir, "harbour") == ["a.md", "b.md"]


def test_rebuild_of_a_damaged_index_does_not_read_it(corpus: Corpus, index_dir: Path) -> None:
    """A file that fails during the rebuild keeps its last good version only when the
    old index can be read: of a damaged one, nothing is read, and the note says so."""
    build(corpus, index_dir)
    corpus.write_raw("b.md", "---\ntitle: [unclosed\n---\n")
    delete(".pst")(index_dir)
    code, out, err = cli("index", "--rebuild", str(corpus.root), "--index", str(index_dir),
                         "-f", "json")
    assert code == 4
    lines = err.splitlines()
    assert lines[0].startswith("Note: the index was damaged (") and \
        lines[0].endswith("rebuilt it from the clippings alone")
    assert any(line.startswith("b.md: ") for line in lines[1:])
    report = json.loads(out)
    assert report["added"] == 2 and [f["path"] for f in report["failed"]] == ["b.md"]
    assert hit_ids(index_dir, "harbour") == ["a.md"]


def test_rebuild_of_a_sound_index_keeps_failed_files_last_good(corpus: Corpus,
                                                               index_dir: Path) -> None:
    """The contrast: the old index is read only when it is sound."""
    build(corpus, index_dir)
    corpus.write_raw("b.md", "---\ntitle: [unclosed\n---\n")
    code, _, err = cli("index", "--rebuild", str(corpus.root), "--index", str(index_dir))
    assert code == 4 and "damaged" not in err
    assert hit_ids(index_dir, "harbour") == ["a.md", "b.md"]


# ------------------------------------------------------------ a read-only index folder

NOBODY = 65534


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A folder another user can reach (pytest's own tmp folders are private to root)."""
    root = Path(tempfile.mkdtemp(prefix="searchkit-ro-"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        for p in [root, *root.rglob("*")]:
            if p.is_dir() and not p.is_symlink():
                p.chmod(0o700)
        shutil.rmtree(root)


def as_reader_only(index_dir: Path) -> Callable[..., tuple[int, str, str]]:
    """Make ``index_dir`` a folder its owner can read but not write (mode 0500), and
    return a ``cli`` that runs as that owner.

    As root, mode bits do not stop a write, so the folder is given to uid 65534
    (nobody) and each command runs in a forked process that has become nobody: a real
    read-only folder for that process, with no monkeypatching. The command runs
    in-process in the fork (Python itself lives under /root, which nobody cannot
    reach, so the child cannot exec it); the modules it needs are already imported.
    """
    for p in [index_dir, *index_dir.iterdir()]:
        if os.geteuid() == 0:
            os.chown(p, NOBODY, NOBODY)
    index_dir.chmod(0o500)
    if os.geteuid() != 0:
        return cli

    def run(*args: str) -> tuple[int, str, str]:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: become nobody, run, report, exit without cleanup
            status = 1
            try:
                os.close(read_end)
                try:
                    os.setgroups([])
                    os.setgid(NOBODY)
                    os.setuid(NOBODY)
                except OSError as exc:
                    result: object = {"skip": f"cannot become uid {NOBODY}: {exc}"}
                else:
                    result = list(cli(*args))
                with os.fdopen(write_end, "w") as fh:
                    json.dump(result, fh)
                status = 0
            finally:
                os._exit(status)
        os.close(write_end)
        with os.fdopen(read_end) as fh:
            data = fh.read()
        _, status = os.waitpid(pid, 0)
        assert status == 0 and data, f"the child failed (status {status})"
        result = json.loads(data)
        if isinstance(result, dict):
            pytest.skip(result["skip"])
        code, out, err = result
        return int(code), str(out), str(err)

    return run


def test_read_only_index_folder(shared_tmp: Path) -> None:
    corpus = Corpus(shared_tmp / "clips")
    index_dir = shared_tmp / "index"
    build(corpus, index_dir)
    # Every code path below runs once as root first, so its modules are imported.
    assert hit_ids(index_dir, "harbour") == ["a.md", "b.md"]
    cli("search", "mountain", "--seeds", str(corpus.root), "--index", str(index_dir))
    cli("status", "--seeds", str(corpus.root), "--index", str(index_dir))
    corpus.add("d.md", title="Delta harbour")  # the index is now stale
    before = sorted(p.name for p in index_dir.iterdir())
    run = as_reader_only(index_dir)
    ix = ("--index", str(index_dir))

    for args in (("index", str(corpus.root)), ("index", "--rebuild", str(corpus.root))):
        code, out, err = run(*args, *ix)
        assert (code, out) == (2, ""), err
        assert re.fullmatch(
            rf"Error: cannot write the index at {re.escape(str(index_dir))}: Permission "
            rf"denied \({re.escape(str(index_dir))}/[^)]+\); searches still answer from "
            rf"its last commit — make the folder writable \(`chmod u\+w "
            rf"{re.escape(str(index_dir))}`\) or index into another folder \(--index\)\n",
            err), err

    code, out, err = run("search", "harbour", "--seeds", str(corpus.root), "-f", "paths", *ix)
    assert code == 0
    # the snapshot: d.md is not in it yet
    assert sorted(Path(p).name for p in out.split()) == ["a.md", "b.md"]
    assert err == (f"Note: cannot write the index at {index_dir} to bring it up to date "
                   "(permission denied or a read-only file system); answering from the "
                   "current snapshot.\n")

    code, out, err = run("status", "--seeds", str(corpus.root), *ix)
    assert (code, err) == (0, "")
    assert "added:        1: d.md" in out
    assert sorted(p.name for p in index_dir.iterdir()) == before  # nothing written


# -------------------------------------------- same-size damage only reading can find

def randomize(suffix: str) -> Damage:
    """Overwrite a whole file with random bytes of the same size."""
    def damage(index_dir: Path) -> str:
        path = segment_file(index_dir, suffix)
        path.write_bytes(random.Random(7).randbytes(path.stat().st_size))
        return path.name
    return damage


def last_byte_ff(index_dir: Path) -> str:
    path = segment_file(index_dir, ".trm")
    with open(path, "r+b") as fh:
        fh.seek(-1, os.SEEK_END)
        fh.write(b"\xff")
    return path.name


def swap_dates(index_dir: Path) -> str:
    published = segment_file(index_dir, ".published.col")
    arrived = segment_file(index_dir, ".arrived.col")
    a, b = published.read_bytes(), arrived.read_bytes()
    published.write_bytes(b)
    arrived.write_bytes(a)
    return published.name


# Each with the commands the adversarial run saw fail on it (`internal error`, exit 70):
# these must say the index is damaged; any other command either says so too or, when
# it never reads the damaged bytes, answers as usual.
FOUND_BY_READING = {
    "stored-random": (randomize("._stored.col"), {"search", "show", "similar"}),  # F6
    "path-column-random": (randomize(".path.col"), {"status", "index"}),  # F7
    "trm-last-byte-ff": (last_byte_ff, {"index", "story"}),  # F8
    "date-columns-swapped": (swap_dates, {"search --timeline"}),  # F9
}


@pytest.mark.parametrize(("damage", "must"), FOUND_BY_READING.values(),
                         ids=FOUND_BY_READING.keys())
def test_same_size_damage_is_damage_on_every_command(corpus: Corpus, index_dir: Path,
                                                     damage: Damage, must: set[str]) -> None:
    corpus.add("d.md", title="Delta covid", excerpt="Covid in the harbour",
               publishedDateTime="2021-03-04T10:00:00Z")
    build(corpus, index_dir)
    damage(index_dir)
    seeds = ("--index", str(index_dir), "--seeds", str(corpus.root))
    commands = {
        "index": ("index", str(corpus.root), "--index", str(index_dir)),
        "status": ("status", *seeds),
        "search": ("search", "harbour", "--no-refresh", *seeds),
        "search --timeline": ("search", "covid", "--all", "-f", "json", "--facets",
                              "provider,topic,year", "--timeline", "auto", *seeds),
        "show": ("show", "a.md", *seeds),
        "similar": ("similar", "a.md", *seeds),
        "story": ("story", "x", *seeds),
        "cited": ("cited", "harbour", *seeds),
        "has": ("has", "https://example.com/a", *seeds),
    }
    damaged = set()
    for name, args in commands.items():
        code, out, err = cli(*args)
        assert code != 70 and "internal error" not in err, (name, err)
        if "damaged" in err:
            damaged.add(name)
            assert code == 2 and out == "" or name == "status", (name, code, out)
            assert re.fullmatch(damaged_line(index_dir, r"unreadable data \(.+\)"), err), \
                (name, err)
        else:  # damage this command never reads: it answers as usual
            assert code in (0, 1) or name == "story" and "no story 'x'" in err, (name, err)
    assert must <= damaged, (must, damaged)
    code, _, err = cli("index", "--rebuild", str(corpus.root), "--index", str(index_dir))
    assert code == 0 and "internal error" not in err, err
    assert hit_ids(index_dir, "harbour") == ["a.md", "b.md", "d.md"]
