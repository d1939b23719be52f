"""The README's "own research" example runs verbatim (own model on arrays, a sweep, d*)."""
import re
from pathlib import Path


def test_readme_example_runs_verbatim(tmp_path, monkeypatch, capsys):
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text[text.index("## Using the helpers in your own research"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(tmp_path)  # its records file goes to tmp_path/runs
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)
    out = capsys.readouterr().out
    assert "d_star" in out and (tmp_path / "runs" / "readme_blobs.jsonl").exists()
    dstar = namespace["thresholds"].threshold_dimension(namespace["table"], delta=0.34)
    assert len(namespace["records"]) == 30 and dstar["d_star"].notna().any()
    assert 0 < namespace["one"]["best_test_acc"] <= 1
