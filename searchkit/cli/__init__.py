"""Command line: parse, resolve config, call the library, render, map errors to exit codes.

Two scripts share these commands: ``searchkit`` (every command) and ``search`` (the
search command alone). One module per command; Whoosh is imported only inside the
commands that need it, so ``--help``, ``fields`` and errors stay fast. The apps are
built on first use (``app``/``search_app`` are module attributes made on demand), so the
``search`` script imports the search command's module and not the other fifteen.
"""

import functools
from typing import Any

import typer

_SETTINGS = {"help_option_names": ["-h", "--help"]}


@functools.cache
def _app() -> typer.Typer:
    from ._common import TimelineCommand, VersionOpt, boundary
    from .doctor import doctor_cmd
    from .eval import eval_cmd
    from .index import index_cmd
    from .news import cited_cmd, has_cmd
    from .saved import new_cmd, save_cmd, saved_cmd, unsave_cmd
    from .search import search_cmd
    from .show import show_cmd, similar_cmd
    from .status import fields_cmd, status_cmd
    from .story import story_cmd
    from .watch import watch_cmd

    app = typer.Typer(
        name="searchkit",
        help="Full-text search over folders of news clippings.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        context_settings=_SETTINGS,
    )
    # Every command is registered through the error boundary, so no command handles errors.
    for name, command in (("index", index_cmd), ("search", search_cmd), ("status", status_cmd),
                          ("fields", fields_cmd), ("show", show_cmd), ("similar", similar_cmd),
                          ("story", story_cmd), ("cited", cited_cmd), ("has", has_cmd),
                          ("eval", eval_cmd), ("watch", watch_cmd), ("doctor", doctor_cmd),
                          ("save", save_cmd), ("saved", saved_cmd), ("unsave", unsave_cmd),
                          ("new", new_cmd)):
        app.command(name, cls=TimelineCommand if name == "search" else None)(
            boundary(command))

    @app.callback()
    def _root(version: VersionOpt = False) -> None:
        """Full-text search over folders of news clippings."""

    return app


@functools.cache
def _search_app() -> typer.Typer:
    # The `search` script: the search command on its own (its --version is the command's
    # own option; completion installs for `search` as it does for `searchkit`).
    from ._common import TimelineCommand, boundary
    from .search import search_cmd

    search_app = typer.Typer(
        name="search",
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        context_settings=_SETTINGS,
    )
    search_app.command(help=search_cmd.__doc__, cls=TimelineCommand)(boundary(search_cmd))
    return search_app


def __getattr__(name: str) -> Any:
    if name == "app":
        return _app()
    if name == "search_app":
        return _search_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    _app()(prog_name="searchkit")


def search_main() -> None:
    _search_app()(prog_name="search")


__all__ = ["app", "main", "search_app", "search_main"]
