"""Lint of the chapters' markdown: the maths mistakes that MyST renders as garbage.

Reads the markdown cells of ``notebooks/NN_topic.py`` (jupytext percent format) directly,
so every problem carries the line number in the source you edit. Rules:

- ``display``: a ``$$`` display-maths block must be set off by a blank line before and after
  (a directive's opening fence or option line may stand before it, its closing fence after
  it). Written straight after a prose line, MyST pairs the dollar signs wrongly and the
  paragraph turns into run-together italics with raw LaTeX.
- ``cite``: ``\\cite`` is LaTeX, not MyST: write {cite}`key`.
- ``dollar``: a paragraph with an odd number of single ``$`` (outside code), or a cell with an
  odd number of ``$$``, leaves maths open.

Run ``python tests/markdown_lint.py [files...]`` for a report; the test
``tests/test_markdown_lint.py`` runs it over every chapter.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

FENCE = re.compile(r"^\s*(`{3,}|~{3,}|:{3,})")
OPTION = re.compile(r"^\s*:[\w-]+:")
INLINE_CODE = re.compile(r"(`+)(?!\{).*?\1")  # `code` spans (a role's `target` is removed too, harmlessly)


@dataclass(frozen=True)
class Problem:
    path: str
    line: int  # 1-based line in the .py source
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: [{self.rule}] {self.message}"


def markdown_cells(text: str) -> list[tuple[int, list[str]]]:
    """Markdown cells of a percent-format source: (line number of the cell's first text line, lines)."""
    cells, current, start = [], None, 0
    for i, line in enumerate(text.splitlines(), start=1):
        if line.startswith("# %%"):
            if current is not None:
                cells.append((start, current))
            current = [] if re.match(r"# %%.*\[markdown\]", line) else None
            start = i + 1
            continue
        if current is not None:
            if line.startswith("# "):
                current.append(line[2:])
            elif line.strip() == "#" or not line.strip():
                current.append("")
            else:
                current.append(line)
    if current is not None:
        cells.append((start, current))
    # drop trailing blank lines of each cell (the blank line before the next `# %%`)
    out = []
    for start, lines in cells:
        while lines and not lines[-1].strip():
            lines.pop()
        out.append((start, lines))
    return out


LIST_START = re.compile(r"^\s*([-+*]|\d+[.)])\s")


def _open_inline(paragraph) -> bool:
    """Whether inline maths is open at the end of the paragraph's lines so far (odd single '$')."""
    text = INLINE_CODE.sub("", " ".join(t for _, t in paragraph).replace("\\$", ""))
    return re.sub(r"\$\$", "", text).count("$") % 2 == 1


def lint_cell(lines: list[str], first_line: int, path: str = "<cell>") -> list[Problem]:
    """Problems of one markdown cell given as its lines (without the ``# `` prefix)."""
    problems = []
    in_code = False  # inside a fenced code block (a {directive}'s body is MyST and is linted)
    fence_stack: list[tuple[str, bool]] = []  # open fences: (marker, is code)
    in_math = False
    math_open_line = 0
    paragraph: list[tuple[int, str]] = []

    def flush_paragraph():
        text = " ".join(t for _, t in paragraph)
        text = INLINE_CODE.sub("", text.replace("\\$", ""))
        singles = re.sub(r"\$\$", "", text).count("$")
        if singles % 2:
            problems.append(Problem(path, paragraph[0][0], "dollar",
                                    f"odd number of '$' in this paragraph ({singles}): inline maths left open"))
        paragraph.clear()

    def blank(k: int) -> bool:
        return k < 0 or k >= len(lines) or not lines[k].strip()

    for k, line in enumerate(lines):
        n = first_line + k
        stripped = line.strip()
        m = FENCE.match(line)
        if m and not in_math:
            marker = m.group(1)
            closing = (fence_stack and stripped == marker and marker[0] == fence_stack[-1][0][0]
                       and len(marker) >= len(fence_stack[-1][0]))
            if closing:
                fence_stack.pop()
            else:  # an opening fence: a code block, or a {directive} whose body is MyST
                fence_stack.append((marker, not stripped[len(marker):].lstrip().startswith("{")
                                    and marker[0] in "`~"))
            in_code = any(code for _, code in fence_stack)
            if paragraph:
                flush_paragraph()
            continue
        if in_code:
            continue
        if INLINE_CODE.sub("", line).find("\\cite") >= 0:
            problems.append(Problem(path, n, "cite", "raw \\cite: use {cite}`key` (MyST), not LaTeX"))
        if stripped.startswith("$$") and not in_math:
            prev = lines[k - 1] if k > 0 else ""
            ok_before = blank(k - 1) or bool(FENCE.match(prev)) or bool(OPTION.match(prev))
            if not ok_before:
                problems.append(Problem(path, n, "display",
                                        "display maths '$$' right after a text line: put a blank line before it"))
            one_line = stripped.endswith("$$") and len(stripped) > 4
            close_k = k
            if not one_line:
                in_math, math_open_line = True, n
            if paragraph:
                flush_paragraph()
            if one_line:
                in_math = False
            else:
                continue
        elif in_math:
            if "$$" in stripped:
                in_math = False
                close_k = k
                rest = stripped.split("$$", 1)[1]
                if rest.strip() and not re.fullmatch(r"\s*\(\s*[\w.:-]+\s*\)\s*", rest):
                    problems.append(Problem(path, n, "display", "text after the closing '$$' on the same line"))
            else:
                continue
        else:
            if stripped:
                if "$$" in stripped and not stripped.startswith("$$"):
                    problems.append(Problem(path, n, "display",
                                            "'$$' inside a text line: display maths needs its own lines"))
                if paragraph and LIST_START.match(line) and _open_inline(paragraph):
                    problems.append(Problem(path, n, "listmath",
                                            "a line inside inline maths starts like a list item ('+ ', '- ', "
                                            "'* ', '1. '): Markdown breaks the maths there; reflow the line"))
                paragraph.append((n, line))
            elif paragraph:
                flush_paragraph()
            continue
        # here: the line closed a display block (or was a one-line block)
        after = lines[close_k + 1] if close_k + 1 < len(lines) else ""
        if not (blank(close_k + 1) or bool(FENCE.match(after))):
            problems.append(Problem(path, first_line + close_k, "display",
                                    "text right after the closing '$$': put a blank line after it"))
    if paragraph:
        flush_paragraph()
    if in_math:
        problems.append(Problem(path, math_open_line, "dollar", "'$$' opened and never closed in this cell"))
    return problems


def lint_source(path: Path) -> list[Problem]:
    problems = []
    for start, lines in markdown_cells(path.read_text()):
        problems += lint_cell(lines, start, str(path))
    return problems


def lint_markdown(text: str, path: str = "<text>") -> list[Problem]:
    """Lint one markdown cell given as plain text (for tests and quick checks)."""
    return lint_cell(text.splitlines(), 1, path)


def main(argv=None) -> int:
    root = Path(__file__).resolve().parents[1]
    files = [Path(a) for a in (argv or sys.argv[1:])] or sorted((root / "notebooks").glob("[0-9][0-9]_*.py"))
    problems = [p for f in files for p in lint_source(f)]
    for p in problems:
        print(p)
    print(f"{len(files)} file(s), {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
