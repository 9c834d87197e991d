"""The ``>>>`` examples in the docs (``docs/**/*.md``, ``README.md``) print what they say."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
PROMPT = re.compile(r"^\s*>>> ", re.M)  # an example line, not ``>>>`` named in the text
PAGES = sorted(p for p in [*ROOT.glob("docs/**/*.md"), ROOT / "README.md"]
               if PROMPT.search(p.read_text(encoding="utf-8")))


def examples(page: Path) -> list[doctest.DocTest]:
    """One doctest per fenced Python block of the page that has ``>>>`` lines."""
    parser = doctest.DocTestParser()
    text = page.read_text(encoding="utf-8")
    tests = []
    for i, m in enumerate(FENCE.finditer(text)):
        if PROMPT.search(m.group(1)):
            line = text[:m.start()].count("\n") + 1
            tests.append(parser.get_doctest(m.group(1), {}, f"{page.name}[{i}]",
                                            str(page), line))
    return tests


def test_the_parser_finds_the_blocks(tmp_path: Path) -> None:
    page = tmp_path / "p.md"
    page.write_text("text\n```python\n>>> 1 + 1\n2\n```\n```python\nx = 1\n```\n"
                    "```python\n>>> 2 * 3\n7\n```\n", encoding="utf-8")
    found = examples(page)
    assert [len(t.examples) for t in found] == [1, 1]
    runner = doctest.DocTestRunner()
    results = [runner.run(t, out=lambda s: None) for t in found]
    assert [r.failed for r in results] == [0, 1]  # the second block is wrong on purpose


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_doc_examples(page: Path) -> None:
    found = examples(page)
    assert found, f"{page} has >>> lines outside ```python blocks"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report: list[str] = []
    for test in found:
        runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)
