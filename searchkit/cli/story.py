"""``story``: the members of one story, oldest first."""


from typing import Annotated

import typer

from .. import output
from ..output import Format
from ..results import JSON_SCHEMA_VERSION, Story, StoryMember
from ._common import (
    Color,
    ColorOpt,
    DebugOpt,
    FormatOpt,
    IndexOpt,
    SeedsOpt,
    open_index,
    resolve_format,
    style,
    write,
)

StoryArg = Annotated[str, typer.Argument(
    help="Story id, as `search -f json` gives it in \"story\" (e.g. s104e38c327).")]


def story_cmd(
    story_id: StoryArg,
    fmt: FormatOpt = Format.auto,
    color: ColorOpt = Color.auto,
    index: IndexOpt = None,
    seeds: SeedsOpt = None,
    debug: DebugOpt = False,
) -> None:
    """List a story's entries oldest first: date, outlet, title, id, and how long after
    the first report each came."""
    found = open_index(index, seeds)[0].story(story_id)
    shown = resolve_format(fmt)
    if shown is Format.json:
        write(output.dumps(story_record(found)))
    else:
        write(render_story(found, style(color) if shown is Format.pretty else None))


def story_record(story: Story) -> dict[str, object]:
    return {"version": JSON_SCHEMA_VERSION, "story": story.id,
            "size": len(story.members),
            "members": [output.story_member(m) for m in story.members]}


def lag(m: StoryMember, first: bool = False) -> str:
    """How long after the first report: ``first``, ``+0m``, ``+23h``, ``+2d 4h``."""
    if first:
        return "first"
    if m.lag_seconds is None:
        return "undated"
    minutes = m.lag_seconds // 60
    if minutes < 60:
        return f"+{minutes}m"
    hours = minutes // 60
    if hours < 24:
        return f"+{hours}h"
    return f"+{hours // 24}d {hours % 24}h"


def render_story(story: Story, look: output.Style | None) -> str:
    """One member a line, tab-separated: date, outlet, title, id, lag."""
    rows = []
    for n, m in enumerate(story.members):
        cells = [(output.iso(m.published) or "")[:10], m.provider, m.title, m.id,
                 lag(m, first=n == 0)]
        rows.append("\t".join(output.safe(c).replace("\t", " ") for c in cells))
    head = f"story {story.id}: {len(story.members)} entries"
    return (f"{look.title(head)}\n" if look else "") + "".join(r + "\n" for r in rows)
