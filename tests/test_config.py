"""Which index a command uses, and why (issue #13, "Where is my index?"), and the refusal
to index another folder into an index that holds one.

Through the real CLI, run from other directories (``monkeypatch.chdir``). The autouse
fixture in conftest points ``SEARCHKIT_CONFIG_DIR`` at an empty folder of each test's.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from searchkit import config
from tests.conftest import Corpus, cli


def _clips(root: Path, *words: str) -> Path:
    corpus = Corpus(root)
    for n, word in enumerate(words):
        corpus.add(f"{n}.md", title=f"{word} story")
    return root


def _status(*args: str) -> dict[str, object]:
    code, out, err = cli("status", "-f", "json", *args)
    assert (code, err) == (0, "")
    record: dict[str, object] = json.loads(out)
    return record


def _index_line(*args: str) -> str:
    code, out, _ = cli("status", *args)
    assert code == 0
    return next(line for line in out.splitlines() if line.startswith("index:"))


def _forget_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A config folder with nothing recorded, so only the walk up can find an index."""
    monkeypatch.setenv(config.ENV_CONFIG_DIR, str(tmp_path / "fresh-config"))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """proj/clips (two clippings) indexed into proj/index, as `searchkit index` does."""
    proj = tmp_path / "proj"
    clips = _clips(proj / "clips", "walrus", "penguin")
    code, _, err = cli("index", str(clips), "--index", str(proj / "index"))
    assert (code, err) == (0, "")
    return proj


# ---------------------------------------------------------------- the walk up


def test_search_from_a_subfolder_finds_the_index_above(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _forget_default(monkeypatch, tmp_path)
    deep = project / "notes" / "2024"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert cli("search", "walrus", "--count")[:2] == (0, "1\n")
    record = _status()
    assert record["index"] == str(project / "index")
    assert record["index_source"] == "above"
    assert record["folder"] == str(project / "clips")
    assert _index_line() == \
        f"index:        {project / 'index'} (found above the current directory)"
    assert not (deep / "index").exists()  # nothing built where the user stands


def test_the_nearest_index_wins_and_its_own_folder_is_used(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inner = project / "inner"
    _clips(inner / "clips", "narwhal")
    assert cli("index", str(inner / "clips"), "--index", str(inner / "index"))[0] == 0
    _forget_default(monkeypatch, tmp_path)
    (inner / "sub").mkdir()
    monkeypatch.chdir(inner / "sub")
    assert cli("search", "narwhal", "--count")[:2] == (0, "1\n")
    assert cli("search", "walrus", "--count")[:2] == (1, "0\n")
    assert _status()["index"] == str(inner / "index")


def test_index_in_the_current_directory_is_dot_index(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _forget_default(monkeypatch, tmp_path)
    monkeypatch.chdir(project)
    assert cli("search", "penguin", "--count")[:2] == (0, "1\n")
    record = _status()
    assert (record["index"], record["index_source"]) == (str(project / "index"), "cwd")
    assert _index_line() == f"index:        {project / 'index'} (./index)"


def test_a_folder_named_index_that_is_not_searchkits_is_passed_over(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _forget_default(monkeypatch, tmp_path)
    mine = project / "work"
    (mine / "index").mkdir(parents=True)
    (mine / "index" / "chapter1.txt").write_text("the user's own index of a book\n")
    monkeypatch.chdir(mine)
    record = _status()
    assert (record["index"], record["index_source"]) == (str(project / "index"), "above")
    assert cli("search", "walrus", "--count")[:2] == (0, "1\n")
    assert sorted(os.listdir(mine / "index")) == ["chapter1.txt"]


def test_a_marker_alone_makes_a_folder_searchkits_and_other_users_folders_are_skipped(
        tmp_path: Path) -> None:
    here = tmp_path / "a" / "b"
    here.mkdir(parents=True)
    marked = tmp_path / "a" / "index"
    marked.mkdir()
    (marked / config.INDEX_MARKER).write_text("{}")
    assert config.locate_index(environ={}, cwd=here) == (marked, config.IndexSource.ABOVE)
    # A folder of another user's is never picked up: an index holds pickled data.
    os.chown(marked, 54321, 54321)
    assert os.stat(marked).st_uid == 54321
    assert config.locate_index(environ={config.ENV_CONFIG_DIR: str(tmp_path / "c")},
                               cwd=here) == (here / "index", config.IndexSource.CWD)


def test_the_marker_is_the_one_the_indexer_writes() -> None:
    guard = pytest.importorskip("searchkit.indexer.guard", reason="the marker's writer")
    assert config.INDEX_MARKER == guard.MARKER


# ---------------------------------------------------------------- explicit choices


def test_option_and_environment_beat_the_walk_up_and_status_says_which(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    other = tmp_path / "other-index"
    assert cli("index", str(project / "clips"), "--index", str(other))[0] == 0
    record = _status("--index", str(other))
    assert (record["index"], record["index_source"]) == (str(other), "option")
    assert _index_line("--index", str(other)) == f"index:        {other} (from --index)"
    env = {config.ENV_INDEX: str(other)}
    code, out, _ = cli("status", "-f", "json", env=env)
    assert (code, json.loads(out)["index_source"]) == (0, "env")
    code, out, _ = cli("status", env=env)
    assert f"index:        {other} (from SEARCHKIT_INDEX)\n" in out
    # --index wins over the environment
    code, out, _ = cli("status", "-f", "json", "--index", str(project / "index"), env=env)
    assert json.loads(out)["index"] == str(project / "index")


def test_help_names_the_environment_variables() -> None:
    code, out, _ = cli("search", "--help")
    assert code == 0 and "SEARCHKIT_INDEX" in out and "SEARCHKIT_SEEDS" in out


# ---------------------------------------------------------------- the recorded default


def test_searchkit_index_records_the_default_and_search_uses_it_from_anywhere(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    record_file = Path(os.environ[config.ENV_CONFIG_DIR]) / config.DEFAULT_INDEX_FILE
    assert json.loads(record_file.read_text()) == {
        "index": str(project / "index"), "folder": str(project / "clips")}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert cli("search", "walrus", "--count")[:2] == (0, "1\n")
    record = _status()
    assert (record["index"], record["index_source"]) == (str(project / "index"), "recorded")
    assert record["folder"] == str(project / "clips")
    assert _index_line() == f"index:        {project / 'index'} (recorded default)"
    assert os.listdir(elsewhere) == []


def test_the_walk_up_beats_the_recorded_default(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    near = tmp_path / "near"
    _clips(near / "clips", "otter")
    monkeypatch.chdir(near)
    # `search` builds ./index here, and does not record it as the default
    assert cli("search", "otter", "--count", "--seeds", "clips")[:2] == (0, "1\n")
    record_file = Path(os.environ[config.ENV_CONFIG_DIR]) / config.DEFAULT_INDEX_FILE
    assert json.loads(record_file.read_text())["index"] == str(project / "index")
    (near / "clips" / "deeper").mkdir()
    monkeypatch.chdir(near / "clips" / "deeper")
    assert _status()["index"] == str(near / "index")


def test_search_never_records_a_default(tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    clips = _clips(tmp_path / "clips", "walrus")
    assert cli("search", "walrus", "--count", "--seeds", str(clips), "--index",
               str(tmp_path / "ix"))[:2] == (0, "1\n")
    assert os.listdir(os.environ[config.ENV_CONFIG_DIR]) == []


def test_a_recorded_index_that_is_gone_is_passed_over(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "index").rename(tmp_path / "moved")
    monkeypatch.chdir(tmp_path)
    record = _status()
    assert (record["index"], record["index_source"]) == (str(tmp_path / "index"), "cwd")
    assert record["exists"] is False


def test_a_damaged_record_counts_as_none(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    where = Path(os.environ[config.ENV_CONFIG_DIR])
    (where / config.DEFAULT_INDEX_FILE).write_text("{not json")
    monkeypatch.chdir(tmp_path)
    assert _status()["index_source"] == "cwd"


def test_a_config_folder_that_cannot_be_written_is_a_note_not_a_failure(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clips = _clips(tmp_path / "clips", "walrus")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    bad = blocker / "searchkit"  # under a regular file: no one, not even root, can mkdir
    monkeypatch.setenv(config.ENV_CONFIG_DIR, str(bad))
    code, out, err = cli("index", str(clips), "--index", str(tmp_path / "ix"))
    assert code == 0 and out.startswith("Indexed ")
    assert err == (f"Note: cannot record the default index in {bad / 'default-index.json'}: "
                   f"Not a directory; set SEARCHKIT_CONFIG_DIR to a folder you can write\n")


# ---------------------------------------------------------------- another folder


def test_indexing_another_folder_into_an_index_is_refused(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index, clips = project / "index", project / "clips"
    other = _clips(tmp_path / "other", "seal")
    message = (f"Error: the index at {index} holds {clips}, not {other}; indexing {other} "
               f"into it would replace its entries — run `searchkit index {other} "
               f"--rebuild` to switch it to {other}, or give {other} an index of its own "
               f"with --index DIR\n")
    assert cli("index", str(other), "--index", str(index)) == (2, "", message)
    assert cli("search", "seal", "--index", str(index), "--seeds", str(other)) == \
        (2, "", message)
    monkeypatch.setenv(config.ENV_SEEDS, str(other))
    assert cli("search", "seal", "--index", str(index)) == (2, "", message)
    monkeypatch.delenv(config.ENV_SEEDS)
    # the index still holds the first folder, whole
    assert cli("search", "walrus OR penguin", "--count", "--index", str(index))[:2] == \
        (0, "2\n")
    assert _status("--index", str(index))["folder"] == str(clips)
    # --rebuild switches on purpose
    code, out, _ = cli("index", str(other), "--index", str(index), "--rebuild")
    assert code == 0 and out.startswith(f"Rebuilt {other} into {index}:")
    assert cli("search", "seal", "--count", "--index", str(index))[:2] == (0, "1\n")
    assert cli("search", "walrus", "--count", "--index", str(index))[:2] == (1, "0\n")
    assert _status("--index", str(index))["folder"] == str(other)


def test_the_same_folder_by_another_path_is_not_another_folder(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index, clips = project / "index", project / "clips"
    link = tmp_path / "link-to-clips"
    link.symlink_to(clips)
    assert cli("index", str(link), "--index", str(index))[0] == 0
    monkeypatch.chdir(project)
    code, out, _ = cli("index", "clips", "--index", "index")
    assert code == 0 and "0 added" in out


def test_indexing_another_folder_elsewhere_builds_there_not_into_the_default(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The recorded default serves its own folder; another named folder gets ./index."""
    fresh = tmp_path / "fresh"
    clips = _clips(fresh / "clips", "otter")
    monkeypatch.chdir(fresh)
    code, out, _ = cli("index", "clips")
    assert code == 0 and out.startswith("Indexed clips into index: 1 added")
    record_file = Path(os.environ[config.ENV_CONFIG_DIR]) / config.DEFAULT_INDEX_FILE
    assert json.loads(record_file.read_text()) == {
        "index": str(fresh / "index"), "folder": str(clips)}
    # the first project's index is untouched; from elsewhere, its own folder finds it
    assert cli("search", "otter", "--count", "--index", str(project / "index"))[:2] == \
        (1, "0\n")
    monkeypatch.chdir(tmp_path)
    record = _status("--seeds", str(clips))
    assert (record["index"], record["index_source"]) == (str(fresh / "index"), "recorded")


def test_the_library_refuses_too_and_status_may_still_compare(
        project: Path, tmp_path: Path) -> None:
    from searchkit import indexer
    from searchkit.errors import FolderMismatchError

    index, other = project / "index", _clips(tmp_path / "other", "seal", "orca")
    for attempt in (indexer.update, indexer.refresh):
        with pytest.raises(FolderMismatchError) as caught:
            attempt(other, index)
        assert (caught.value.recorded, caught.value.folder) == \
            (str(project / "clips"), str(other))
    # comparing is read-only, so `status --seeds OTHER` still says what differs
    record = _status("--index", str(index), "--seeds", str(other))
    assert record["folder"] == str(other)
    assert record["stale"] == {"added": [], "modified": ["0.md", "1.md"], "deleted": []}
    assert indexer.update(other, index, rebuild=True).rebuilt
    assert indexer.recorded_folder(index) == str(other)
