"""README parsing (markdown-it-py): hints keep their code blocks, tasks and follow-ups split right."""

from __future__ import annotations

from pathlib import Path

import pytest

from prep import cli, readme

TEXT = """# Title

Intro line.

## Tasks
1. **`f(x)`**: first,
   continued.
2. **`g`**: second.

## Hints
Read these in order.

1. A hint with code:

   ```python
   # ## not a heading
   y = x * 2
   ```
2. Plain.
   - a nested item stays inside its hint

## Interview follow-ups
- **What is `torch.no_grad()` for?** Inference: no graph, activations freed.
- Not a question-and-answer item.
- **Why?** Because
  it spans two lines.

## Next
1. not a hint
"""


def test_sections_skip_code_blocks() -> None:
    assert list(readme.sections(TEXT)) == ["Tasks", "Hints", "Interview follow-ups", "Next"]
    assert readme.intro(TEXT) == "Intro line."
    assert [(level, title) for level, title, _ in readme.headings(TEXT)][:2] == [
        (1, "Title"),
        (2, "Tasks"),
    ]


def test_hints_keep_code_blocks_and_nested_lists() -> None:
    first, second = readme.hints(TEXT)
    assert first == "A hint with code:\n\n```python\n# ## not a heading\ny = x * 2\n```"
    assert second == "Plain.\n- a nested item stays inside its hint"


def test_tasks_and_follow_ups() -> None:
    assert readme.tasks(TEXT) == ["**`f(x)`**: first,\ncontinued.", "**`g`**: second."]
    assert readme.follow_ups(TEXT) == [
        readme.FollowUp(
            "What is `torch.no_grad()` for?", "Inference: no graph, activations freed."
        ),
        readme.FollowUp("Why?", "Because\nit spans two lines."),
    ]


def test_prep_hint_prints_the_code_block(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["hint", "99"]) == 0
    out = capsys.readouterr().out
    assert "Hint 1 of 2" in out
    assert "return x * times" in out
    assert "More: uv run prep hint 99 2" in out
    assert cli.main(["hint", "99", "9"]) == 0  # more than there are: all of them, said so
    assert "has 2 hints; here they all are" in capsys.readouterr().out
