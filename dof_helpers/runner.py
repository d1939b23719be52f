"""Execute the book's chapters with papermill, optionally at a preset size.

Each chapter is a jupytext pair: ``notebooks/NN_topic.py`` (percent format, the source)
and ``notebooks/NN_topic.ipynb`` (its executed copy, rendered by the book). This module
is the only way the executed copies are made, so the book never shows outputs of code
that differs from the source (``check`` verifies it).

Command line (from the repository root)::

    python -m dof_helpers.runner run notebooks/01_baselines.py                 # defaults
    python -m dof_helpers.runner run notebooks/01_baselines.py --preset cpu-large
    python -m dof_helpers.runner run notebooks/01_baselines.py -p epochs 3 -o /tmp/out.ipynb
    python -m dof_helpers.runner all          # every chapter at its defaults
    python -m dof_helpers.runner refs         # nbval references at the `ci` preset
    python -m dof_helpers.runner check        # executed copies match their sources
    python -m dof_helpers.runner status       # markdown table of execution times

A preset is ``presets/<chapter>/<name>.yaml``: papermill parameter overrides, whose first
comment line says what hardware it wants and how long it takes.
"""
from __future__ import annotations

import argparse
import ast
import sys
import tempfile
import time
from pathlib import Path

from .paths import repo_root, runs_dir

KERNEL = "python3"


def chapter_sources(root: Path | None = None) -> list[Path]:
    """The chapter sources ``notebooks/NN_*.py`` in book order."""
    root = root or repo_root()
    return sorted((root / "notebooks").glob("[0-9][0-9]_*.py"))


def resolve_chapter(name: str, root: Path | None = None) -> Path:
    """``notebooks/NN_topic.py`` from a path, a stem or a number prefix; clear error otherwise."""
    root = root or repo_root()
    sources = chapter_sources(root)
    p = Path(name)
    for src in sources:
        if p.resolve() == src.resolve() or name in (src.stem, src.name, src.stem.split("_")[0],
                                                   str(src.relative_to(root)),
                                                   str(src.with_suffix(".ipynb").relative_to(root))):
            return src
    listed = ", ".join(s.stem for s in sources)
    raise ValueError(f"chapter={name!r} is not valid; accepted values: {listed}")


def preset_path(source: Path, preset: str, root: Path | None = None) -> Path:
    """``presets/<chapter>/<preset>.yaml`` (or an explicit path); clear error if missing."""
    root = root or repo_root()
    p = Path(preset)
    if p.suffix in (".yaml", ".yml") and p.exists():
        return p
    folder = root / "presets" / source.stem
    candidate = folder / f"{preset}.yaml"
    if candidate.exists():
        return candidate
    names = sorted(f.stem for f in folder.glob("*.yaml")) if folder.exists() else []
    raise ValueError(f"preset={preset!r} is not valid for {source.stem}; accepted values: "
                     + (", ".join(repr(n) for n in names) or "(none: this chapter has no presets)"))


def load_preset(path: Path) -> dict:
    import yaml

    with open(path) as fh:
        data = yaml.safe_load(fh) or {}
    if not isinstance(data, dict):
        raise ValueError(f"preset {path} must be a mapping of parameter names to values")
    return data


def notebook_from_source(source: Path):
    """Read the percent-format source into an (unexecuted) nbformat notebook."""
    import jupytext

    nb = jupytext.read(source)
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python 3", "language": "python"}
    return nb


def parameters_cell(nb) -> dict:
    """The literal values assigned in the cell tagged ``parameters`` (papermill's injection
    target), in order: a chapter's defaults."""
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            return {t.id: ast.literal_eval(node.value) for node in ast.parse(cell.source).body
                    if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)}
    raise ValueError("notebook has no cell tagged 'parameters'")


def parameter_names(nb) -> list[str]:
    """Names assigned in the cell tagged ``parameters``."""
    return list(parameters_cell(nb))


def execute(source: Path, output: Path | None = None, preset: str | None = None,
            parameters: dict | None = None, timeout: int = 7200) -> Path:
    """Execute ``source`` with papermill and write the executed notebook.

    Parameters are the preset's overrides, then ``parameters`` on top. Unknown parameter
    names are rejected before anything runs. Returns the output path (default: the
    ``.ipynb`` twin of ``source``).
    """
    import nbformat
    import papermill as pm

    root = repo_root()
    source = resolve_chapter(str(source), root)
    params = {}
    if preset:
        params.update(load_preset(preset_path(source, preset, root)))
    params.update(parameters or {})
    nb = notebook_from_source(source)
    known = parameter_names(nb)
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown} for {source.stem}; accepted values: {known}")
    output = Path(output) if output else source.with_suffix(".ipynb")
    output.parent.mkdir(parents=True, exist_ok=True)
    found = count_records(runs_dir(source.stem))  # those whose key matches a run are reused, not trained
    start = time.time()
    with tempfile.TemporaryDirectory(prefix="dof_runner_") as tmp:
        tmp_in = Path(tmp) / f"{source.stem}.ipynb"  # outside the book's tree, so a build never sees it
        nbformat.write(nb, tmp_in)
        pm.execute_notebook(str(tmp_in), str(output), parameters=params, kernel_name=KERNEL,
                            cwd=str(source.parent), execution_timeout=timeout, progress_bar=False,
                            log_output=False)
    executed = nbformat.read(output, as_version=4)
    executed.metadata.setdefault("dof", {})
    executed.metadata["dof"].update({"source": source.name, "preset": preset or "default",
                                     "parameters": params, "wall_s": round(time.time() - start, 1),
                                     "records_at_start": found})
    nbformat.write(executed, output)
    return output


def _code_cells(nb) -> list[str]:
    return [c.source.strip() for c in nb.cells if c.cell_type == "code"
            and "injected-parameters" not in c.metadata.get("tags", [])]


def check_pair(source: Path, executed: Path | None = None) -> list[str]:
    """Problems that make the executed notebook differ from its source (empty list: in sync)."""
    import nbformat

    executed = executed or source.with_suffix(".ipynb")
    if not executed.exists():
        return [f"{executed} is missing: run `python -m dof_helpers.runner run {source}`"]
    ran = nbformat.read(executed, as_version=4)
    problems = []
    if _code_cells(ran) != _code_cells(notebook_from_source(source)):
        problems.append(f"{executed.name}: code differs from {source.name}; re-run the chapter")
    for cell in ran.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                problems.append(f"{executed.name}: a cell raised {out.get('ename')}")
    return problems


def count_records(folder: Path) -> int:
    """Complete run records in the JSON-lines files under ``folder`` (0 if it does not exist)."""
    from .records import load_records
    folder = Path(folder)
    return sum(len(load_records(p)) for p in sorted(folder.rglob("*.jsonl"))) if folder.is_dir() else 0


def status_table(root: Path | None = None) -> str:
    """Markdown table of each chapter's execution time, preset and the run records it found in
    ``runs/<chapter>`` when it started (:func:`count_records`; 0: a first execution, which
    trained every run), from notebook metadata."""
    import nbformat

    root = root or repo_root()
    rows = ["| chapter | preset | executed in (s) | run records in runs/ at start | state |", "|---|---|---:|---:|---|"]
    for src in chapter_sources(root):
        nbp = src.with_suffix(".ipynb")
        if not nbp.exists():
            rows.append(f"| {src.stem} | - | - | - | not executed |")
            continue
        nb = nbformat.read(nbp, as_version=4)
        meta = nb.metadata.get("dof", {})
        pm_meta = nb.metadata.get("papermill", {})
        wall = meta.get("wall_s", pm_meta.get("duration"))
        state = "ok" if not check_pair(src, nbp) else "out of date"
        wall_s = f"{wall:.1f}" if isinstance(wall, (int, float)) else "-"
        found = meta.get("records_at_start")
        found = "not recorded" if found is None else str(found)
        rows.append(f"| {src.stem} | {meta.get('preset', '-')} | {wall_s} | {found} | {state} |")
    return "\n".join(rows) + "\n"


def _parse_value(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dof_helpers.runner", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute one chapter")
    run.add_argument("chapter")
    run.add_argument("--preset", "-f", default=None)
    run.add_argument("-p", nargs=2, action="append", metavar=("NAME", "VALUE"), default=[])
    run.add_argument("--output", "-o", default=None)
    sub.add_parser("all", help="execute every chapter at its defaults")
    refs = sub.add_parser("refs", help="execute nbval references at the ci preset into tests/notebooks/")
    refs.add_argument("chapters", nargs="*")
    sub.add_parser("check", help="check executed notebooks match their sources")
    sub.add_parser("status", help="print a markdown table of execution times")
    args = parser.parse_args(argv)
    root = repo_root()
    if args.command == "run":
        params = {k: _parse_value(v) for k, v in args.p}
        out = execute(Path(args.chapter), args.output, args.preset, params)
        print(f"wrote {out}")
    elif args.command == "all":
        for src in chapter_sources(root):
            t0 = time.time()
            out = execute(src)
            print(f"wrote {out.relative_to(root)} in {time.time() - t0:.0f} s", flush=True)
    elif args.command == "refs":
        sources = [resolve_chapter(c, root) for c in args.chapters] or chapter_sources(root)
        for src in sources:
            out = root / "tests" / "notebooks" / src.with_suffix(".ipynb").name
            t0 = time.time()
            execute(src, out, preset="ci")
            print(f"wrote {out.relative_to(root)} in {time.time() - t0:.0f} s", flush=True)
    elif args.command == "check":
        problems = [p for src in chapter_sources(root) for p in check_pair(src)]
        print("\n".join(problems) or "all executed notebooks match their sources")
        return 1 if problems else 0
    elif args.command == "status":
        sys.stdout.write(status_table(root))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
