"""Every command's help reads as written at an 80-column terminal: paragraphs reflow to the
width (the docstrings' own line breaks do not cut sentences), examples stay whole, and text in
angle brackets is not swallowed as markup."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from lastmile.cli.app import app

COMMANDS = ["demo", "inspect", "load", "convert", "queue", "train", "evaluate", "report",
            "infer", "timing", "why"]


def _help(command: str) -> str:
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "80"},
                                terminal_width=80)
    assert result.exit_code == 0, result.output
    # the panel borders and the padding are layout, not text
    return re.sub(r"[│╭╮╰╯─]", " ", result.output)


def _words(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("command", COMMANDS)
def test_help_keeps_every_word(command: str) -> None:
    text = _help(command)
    assert max(len(line.rstrip()) for line in text.splitlines()) <= 80
    if "--quarantine" in text:
        assert "./<name>.quarantine.<ext>" in text  # not eaten as an HTML tag


def test_help_paragraphs_reflow_and_examples_stay_whole() -> None:
    evaluate = _help("evaluate")
    # a sentence that the docstring breaks after "(up" is one flowing line at 80 columns
    assert re.search(r"\(up to --as-of\)\. Without", evaluate)
    stages = "A_SUBMITTED,A_PREACCEPTED,A_ACCEPTED,O_SENT,O_SENT_BACK,A_APPROVED"
    for command in ("report", "why", "timing"):
        assert stages in _help(command), command
    why = _words(_help("why"))
    assert "Example: lastmile why bpic2012.xes.gz --fail A_DECLINED,A_CANCELLED" in why
