"""The book's structure: table of contents, chapter pairs, presets, glossary, references."""
import ast
import re
from pathlib import Path

import nbformat
import pytest
import yaml

from dof_helpers import notation, runner

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = runner.chapter_sources(ROOT)


def test_toc_files_exist():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    for f in files:
        assert any((ROOT / f).with_suffix(s).exists() for s in (".md", ".ipynb")), f
    listed = {f for f in files if f.startswith("notebooks/")}
    assert listed == {f"notebooks/{c.stem}" for c in CHAPTERS}, "every chapter must be in _toc.yml"


@pytest.mark.parametrize("src", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_pair_in_sync(src):
    assert runner.check_pair(src) == []


@pytest.mark.parametrize("src", CHAPTERS, ids=lambda p: p.stem)
def test_parameters_cell_survives_jupytext(src):
    nb = runner.notebook_from_source(src)
    names = runner.parameter_names(nb)
    assert names, "a parameters cell with at least one parameter"
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    for node in ast.parse(cell.source).body:  # plain literals only
        assert isinstance(node, ast.Assign) and isinstance(node.value, (ast.Constant, ast.List, ast.Tuple, ast.UnaryOp)), \
            f"{src.stem}: parameters must be plain literals: {ast.unparse(node)}"
        ast.literal_eval(node.value)
    for line in cell.source.splitlines():
        if "=" in line:
            assert "#" in line, f"{src.stem}: every parameter needs a comment with its unit: {line}"


@pytest.mark.parametrize("src", CHAPTERS, ids=lambda p: p.stem)
def test_papermill_parses_every_parameter(src):
    """papermill must see every parameter (a comment with '=' silently hides one)."""
    from papermill.translators import PythonTranslator

    nb = runner.notebook_from_source(src)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    seen = [p.name for p in PythonTranslator.inspect(cell)]
    assert seen == runner.parameter_names(nb)


@pytest.mark.parametrize("src", CHAPTERS, ids=lambda p: p.stem)
def test_presets_are_valid(src):
    names = set(runner.parameter_names(runner.notebook_from_source(src)))
    presets = sorted((ROOT / "presets" / src.stem).glob("*.yaml"))
    assert any(p.stem == "ci" for p in presets), f"{src.stem} needs presets/{src.stem}/ci.yaml"
    for p in presets:
        first = p.read_text().splitlines()[0]
        assert first.startswith("#"), f"{p}: first line must say hardware and time"
        unknown = set(runner.load_preset(p)) - names
        assert not unknown, f"{p}: unknown parameters {unknown}"


@pytest.mark.parametrize("src", CHAPTERS, ids=lambda p: p.stem)
def test_nbval_reference_matches_source(src):
    ref = ROOT / "tests" / "notebooks" / f"{src.stem}.ipynb"
    assert ref.exists(), f"run `python -m dof_helpers.runner refs {src.stem}`"
    assert runner.check_pair(src, ref) == [], "nbval reference is stale: re-run `make refs`"
    meta = nbformat.read(ref, as_version=4).metadata["dof"]
    assert meta["preset"] == "ci"


def test_runner_rejects_bad_names():
    with pytest.raises(ValueError, match="chapter='nope' is not valid; accepted values"):
        runner.resolve_chapter("nope", ROOT)
    if CHAPTERS:
        with pytest.raises(ValueError, match="preset='huge' is not valid"):
            runner.preset_path(CHAPTERS[0], "huge", ROOT)
        with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['not_a_param'\]"):
            runner.execute(CHAPTERS[0], ROOT / "runs" / "never.ipynb", parameters={"not_a_param": 1})


def test_glossary_names_are_used_in_code():
    source = "\n".join(p.read_text() for p in (ROOT / "dof_helpers").rglob("*.py") if p.name != "notation.py")
    for _, code, _, _ in notation.GLOSSARY:
        for name in re.split(r",\s*", code):
            if " " in name:  # prose names such as "sublevel set"
                continue
            assert re.search(rf"\b{re.escape(name)}\b", source), f"glossary name {name!r} not used in dof_helpers"


def test_every_cited_key_is_in_the_bibliography():
    bib = (ROOT / "book" / "references.bib").read_text()
    keys = set(re.findall(r"@\w+\{([^,]+),", bib))
    texts = [p.read_text() for p in list((ROOT / "book").glob("*.md")) + CHAPTERS]
    cited = {k.strip() for t in texts for group in re.findall(r"\{cite[pt]?\}`([^`]+)`", t) for k in group.split(",")}
    assert cited <= keys, f"missing bib entries: {cited - keys}"


def test_coverage_table_names_existing_presets_and_every_paper_figure():
    from dof_helpers.chapters import coverage
    assert coverage.check_presets_exist() == []
    # the progress of committed long runs is read from their records, not typed in
    for spec, folder in coverage.COMMITTED.items():
        chapter, preset = spec.split(":")
        settings = f"{preset}_settings.json" if chapter == "06_lottery" else "settings.json"
        assert (ROOT / folder / settings).exists(), (folder, settings)
        assert coverage.committed_progress(spec).startswith("committed: ")
    assert coverage.committed_progress("06_lottery:paper-cifar10") is None  # a GPU preset: nothing committed
    items = " ".join(row[0] for row in coverage.COVERAGE)
    for n in range(1, 14):
        assert f"Figure {n}" in items or (n in (10, 11) and "Figures 10-11" in items), n
    assert "Table 1" in items and "Table 2" in items
    assert {row[2] for row in coverage.COVERAGE} <= {"yes", "partial", "no"}
    assert coverage.coverage_markdown().count("\n") == len(coverage.COVERAGE) + 2


def test_status_table_says_how_many_run_records_an_execution_found(tmp_path):
    """A chapter that finds its runs' records reuses them and runs faster than a first execution:
    the status table must say so, not report its time as the chapter's cost."""
    from dof_helpers import records
    runs = tmp_path / "runs" / "01_demo"
    records.append_record(runs / "a.jsonl", {"key": "k1"})
    records.append_record(runs / "sub" / "b.jsonl", {"key": "k2"})
    records.append_record(runs / "sub" / "b.jsonl", {"key": "k3"})
    (runs / "notes.txt").write_text("not records")
    assert runner.count_records(runs) == 3
    assert runner.count_records(tmp_path / "nothing_here") == 0
    (tmp_path / "notebooks").mkdir()
    src = tmp_path / "notebooks" / "01_demo.py"
    src.write_text("# %%\nx = 1\n")
    nb = runner.notebook_from_source(src)
    for found, shown in ((3, "3"), (0, "0")):
        nb.metadata["dof"] = {"preset": "default", "wall_s": 12.5, "records_at_start": found}
        nbformat.write(nb, src.with_suffix(".ipynb"))
        row = runner.status_table(tmp_path).splitlines()[-1]
        assert row == f"| 01_demo | default | 12.5 | {shown} | ok |"
    nb.metadata["dof"] = {"preset": "default", "wall_s": 12.5}  # executed before the count existed
    nbformat.write(nb, src.with_suffix(".ipynb"))
    assert runner.status_table(tmp_path).splitlines()[-1] == "| 01_demo | default | 12.5 | not recorded | ok |"
