"""Paths that resolve from the repository root, wherever a notebook runs from."""
from __future__ import annotations

import os
from pathlib import Path


def repo_root() -> Path:
    """The repository root: ``$DOF_ROOT`` if set, else the folder holding ``_toc.yml``.

    Notebooks are executed from ``notebooks/`` and tests from the top level; both find
    the same root. Raises ``FileNotFoundError`` if no root is found.
    """
    env = os.environ.get("DOF_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve().parent
    for candidate in (Path.cwd(), *Path.cwd().parents, here, *here.parents):
        if (candidate / "_toc.yml").exists() and (candidate / "dof_helpers").is_dir():
            return candidate
    raise FileNotFoundError("cannot find the repository root (a folder with _toc.yml and dof_helpers/); "
                            "set DOF_ROOT to it")


def results_dir(*parts: str) -> Path:
    """``results/<parts>`` under the repository root: committed records and figures."""
    path = repo_root().joinpath("results", *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def runs_dir(*parts: str) -> Path:
    """``runs/<parts>`` under the repository root: records of live (uncommitted) runs.

    ``$DOF_RUNS_DIR``, if set, replaces ``runs/``: ``make test`` points it at an empty
    temporary folder, so the notebook regression tests train what a clean clone trains and
    never read or write the runs a reader made."""
    env = os.environ.get("DOF_RUNS_DIR")
    path = (Path(env) if env else repo_root() / "runs").joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
