"""``searchkit.indexer.segments``: raw reads agree with Whoosh's own, document by document."""

from __future__ import annotations

from pathlib import Path

from whoosh.util.numeric import length_to_byte

from searchkit import indexer
from tests.conftest import Corpus


def test_raw_reads_match_whoosh(corpus: Corpus, index_dir: Path) -> None:
    from searchkit.indexer import segments

    for i in range(6):
        corpus.add(f"{i}.md", title=f"Story {i} " + "word " * i, url=f"https://x.org/{i % 3}",
                   related=[{"title": f"Related {i}"}])
    indexer.update(corpus.root, index_dir, workers=1)
    with indexer.open_index(index_dir).reader() as reader:
        n = reader.doc_count_all()
        raw = segments.length_bytes(reader._perdoc, "text")
        assert raw is not None and len(raw) == n
        assert list(raw) == [length_to_byte(reader.doc_field_length(d, "text"))
                             for d in range(n)]
        assert segments.length_bytes(reader._perdoc, "no-such-field") is None
        col = reader.column_reader("group", translate=False)
        groups = segments.int64_column(reader, "group")
        assert list(groups) == [col[d] for d in range(n)] and 0 not in groups
        assert len(set(groups)) == 3 + 6  # three shared URLs, six related articles
