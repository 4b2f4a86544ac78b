"""Generate docs/cli-reference.md from the commands' own help (run: python -m epitrace.cli.reference)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import typer

from epitrace.cli import app

REFERENCE_PATH = Path(__file__).resolve().parents[3] / "docs" / "cli-reference.md"


def _walk(command: click.Command, path: list[str]) -> list[tuple[list[str], click.Command]]:
    found = [(path, command)]
    if isinstance(command, click.Group):
        for name in command.list_commands(click.Context(command)):
            found.extend(_walk(command.commands[name], [*path, name]))
    return found


def render() -> str:
    """The reference text: every command's --help, in order."""
    root = typer.main.get_command(app)
    parts = ["# epitrace command reference", "", "Generated from `--help` by `python -m epitrace.cli.reference`; "
             "a test fails when it is out of date.", ""]
    for path, command in _walk(root, []):
        name = " ".join(["epitrace", *path])
        with click.Context(command, info_name=name, terminal_width=100) as ctx:
            formatter = ctx.make_formatter()
            formatter.width = 100
            # click's plain formatter: typer's rich one prints straight to the terminal.
            click.Command.format_help(command, ctx, formatter)
            text = formatter.getvalue().rstrip()
        parts += [f"## {name}", "", "```", text.replace("\\[", "["), "```", ""]
    return "\n".join(parts)


if __name__ == "__main__":
    REFERENCE_PATH.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {REFERENCE_PATH}\n")
