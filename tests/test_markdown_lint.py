"""The chapters' markdown lint (tests/markdown_lint.py), and proof that it catches what it should."""
from pathlib import Path

import pytest

from markdown_lint import lint_markdown, lint_source, markdown_cells

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))


@pytest.mark.parametrize("src", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_markdown_is_clean(src):
    problems = lint_source(src)
    assert not problems, "\n".join(map(str, problems))


GOOD = """A width is an average:

$$
w(S) = \\mathbb{E}\\sup_{x \\in S}\\langle g, x\\rangle .
$$

and {cite}`larsen2022degrees` says so; `$HOME` in code is not maths.

```{prf:definition} Width
:label: def-w
$$
w(S) = \\tfrac12\\,\\mathbb{E}\\sup_{x, y}\\langle g, x - y\\rangle
$$
```

```bash
echo $PATH \\cite{not maths}
```
"""


def test_a_clean_cell_passes():
    assert lint_markdown(GOOD) == []


@pytest.mark.parametrize("broken, rule", [
    ("Hence, exactly,\n$$\nw = r\\sqrt d\n$$\n\nThe paper.", "display"),       # no blank line before $$
    ("Hence\n\n$$\nw = r\\sqrt d\n$$\nThe paper quotes it.", "display"),       # no blank line after $$
    ("```{prf:theorem} Gordon\nIf $k > w$, then\n$$\nP \\ge 1\n$$\n```", "display"),  # inside a theorem box
    ("the cone's dimension \\cite{amelunxen2014living} is", "cite"),           # LaTeX citation
    ("a ball of radius $r has width $r\\sqrt d$.", "dollar"),                  # unbalanced $
    ("$$\nw = 1\n", "dollar"),                                                 # $$ never closed
    ("the centre $D - d\n+ 1/2$ predicts it", "listmath"),                     # '+ ' line inside $...$
])
def test_a_broken_cell_fails(broken, rule):
    problems = lint_markdown(broken)
    assert problems, f"the lint missed a broken cell:\n{broken}"
    assert rule in {p.rule for p in problems}


def test_line_numbers_point_into_the_py_source(tmp_path):
    src = tmp_path / "99_demo.py"
    src.write_text("# %%\nx = 1\n\n# %% [markdown]\n# Hence\n# $$\n# w = 1\n# $$\n")
    (problem,) = lint_source(src)
    assert problem.line == 6 and problem.rule == "display"
    assert markdown_cells(src.read_text())[0][0] == 5
