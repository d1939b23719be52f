"""Where live runs go: runs/ under the repository root, or $DOF_RUNS_DIR (what make test sets)."""
from dof_helpers.paths import repo_root, runs_dir


def test_runs_dir_is_under_the_repository_root_by_default(monkeypatch):
    monkeypatch.delenv("DOF_RUNS_DIR", raising=False)
    assert runs_dir() == repo_root() / "runs"


def test_runs_dir_follows_DOF_RUNS_DIR(monkeypatch, tmp_path):
    monkeypatch.setenv("DOF_RUNS_DIR", str(tmp_path / "elsewhere"))
    path = runs_dir("07_linearised", "abc")
    assert path == tmp_path / "elsewhere" / "07_linearised" / "abc" and path.is_dir()
    assert not (repo_root() / "runs" / "07_linearised" / "abc").exists()
