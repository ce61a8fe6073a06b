"""The only place that reads environment variables and resolves default paths.

Library code never reads the environment: the CLI resolves a :class:`Config` here
and passes explicit paths down.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ENV_INDEX = "SEARCHKIT_INDEX"
ENV_SEEDS = "SEARCHKIT_SEEDS"
DEFAULT_INDEX = "index"
DEFAULT_SEEDS = "seeds"
ENV_QUICK_CHECK = "SEARCHKIT_QUICK_CHECK_FILES"
# From this many clippings on, search looks for changes by folder timestamps only.
DEFAULT_QUICK_CHECK_FILES = 20_000


@dataclass(frozen=True)
class Config:
    index_dir: Path
    seeds_dir: Path


def resolve(
    index: str | os.PathLike[str] | None = None,
    seeds: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Explicit argument, then environment variable, then ``./index`` and ``./seeds``."""
    env = os.environ if environ is None else environ
    index_dir = Path(index or env.get(ENV_INDEX) or DEFAULT_INDEX)
    seeds_dir = Path(seeds or env.get(ENV_SEEDS) or DEFAULT_SEEDS)
    return Config(index_dir=index_dir, seeds_dir=seeds_dir)


def use_color(stream_is_tty: bool, environ: Mapping[str, str] | None = None) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR"):
        return False
    if env.get("TERM") == "dumb":
        return False
    return stream_is_tty
