"""searchkit: full-text search over folders of news clippings.

The library never prints, exits or reads the environment; see ``searchkit.cli``
for the command line. Names are imported lazily (PEP 562) so that ``import
searchkit`` stays cheap on the command line's start-up path.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import (
    ClippingError,
    ConfigError,
    ExitCode,
    IndexBusyError,
    IndexCorruptError,
    IndexMissingError,
    IndexWriteError,
    NotFoundError,
    QueryError,
    SearchkitError,
    UnsafeIndexError,
)

__version__ = "0.1.0"

_LAZY = {
    "Clipping": "documents",
    "Provider": "documents",
    "Related": "documents",
    "load_file": "documents",
    "parse_bytes": "documents",
    "Hit": "results",
    "IndexReport": "results",
    "SearchResults": "results",
}

if TYPE_CHECKING:
    from .documents import Clipping, Provider, Related, load_file, parse_bytes
    from .results import Hit, IndexReport, SearchResults


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'searchkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "Clipping",
    "ClippingError",
    "ConfigError",
    "ExitCode",
    "Hit",
    "IndexBusyError",
    "IndexCorruptError",
    "IndexMissingError",
    "IndexReport",
    "IndexWriteError",
    "NotFoundError",
    "Provider",
    "QueryError",
    "Related",
    "SearchResults",
    "SearchkitError",
    "UnsafeIndexError",
    "__version__",
    "load_file",
    "parse_bytes",
]
