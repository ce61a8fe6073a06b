"""searchkit: full-text search over folders of news clippings.

The library never prints, exits or reads the environment; see ``searchkit.cli``
for the command line.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .documents import Clipping, Provider, Related, load_file, parse_bytes
from .errors import (
    ClippingError,
    ConfigError,
    ExitCode,
    IndexBusyError,
    IndexCorruptError,
    IndexMissingError,
    NotFoundError,
    QueryError,
    SearchkitError,
)

__all__ = [
    "Clipping",
    "ClippingError",
    "ConfigError",
    "ExitCode",
    "IndexBusyError",
    "IndexCorruptError",
    "IndexMissingError",
    "NotFoundError",
    "Provider",
    "QueryError",
    "Related",
    "SearchkitError",
    "__version__",
    "load_file",
    "parse_bytes",
]
