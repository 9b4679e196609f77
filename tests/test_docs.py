"""Documentation that cannot rot: every CLI command, option and node setting is described."""

from pathlib import Path

import typer.main

from reliefledger.cli import app
from reliefledger.node.settings import SETTING_NAMES

DOCS = Path(__file__).parent.parent / "docs"
CLI_REFERENCE = (DOCS / "cli.md").read_text()
README = (Path(__file__).parent.parent / "README.md").read_text()


def iterate_commands(group, prefix: str = "reliefledger"):
    """Every leaf command with its full name, sub-commands included."""
    for name, command in group.commands.items():
        full_name = f"{prefix} {name}"
        if hasattr(command, "commands"):
            yield from iterate_commands(command, full_name)
        else:
            yield full_name, command


def test_every_command_and_option_is_in_the_cli_reference() -> None:
    for name, command in iterate_commands(typer.main.get_command(app)):
        heading = f"## `{name}"
        assert heading in CLI_REFERENCE, f"docs/cli.md has no section for {name}"
        section = CLI_REFERENCE.split(heading, 1)[1].split("\n## ", 1)[0]
        for parameter in command.params:
            for option in parameter.opts:
                if option.startswith("-") and option != "--help":
                    assert f"`{option}`" in section, f"docs/cli.md does not describe {name} {option}"


def test_every_setting_is_in_the_cli_reference() -> None:
    for name in SETTING_NAMES:
        assert f"| `{name}` |" in CLI_REFERENCE, f"docs/cli.md does not describe the setting {name}"


def test_readme_opens_with_the_two_commands() -> None:
    opening = README[:400]
    assert "make demo" in opening and "make test" in opening
