"""Print a command from README.md: `main` or `test` (the block after its marker).

.ci/run and tests/test_docs.py both read the commands from here, so the README is
the single place they are written.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def command(name: str, text: str | None = None) -> str:
    text = README.read_text(encoding="utf-8") if text is None else text
    m = re.search(rf"<!-- {name}-command -->\s*```sh\n(.+?)\n```", text, re.S)
    if not m:
        raise SystemExit(f"README.md has no '<!-- {name}-command -->' block")
    return m.group(1).strip()


if __name__ == "__main__":
    print(command(sys.argv[1]))
