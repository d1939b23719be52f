"""benchmarks/gpu_check.sh runs end to end on a CPU as a dry run (what a GPU machine runs in full)."""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_gpu_check_dry_run_on_cpu(tmp_path):
    out = tmp_path / "gpu_check.txt"
    proc = subprocess.run(["bash", os.path.join(ROOT, "benchmarks", "gpu_check.sh"), "--dry-run", "--out", str(out),
                           "--python", sys.executable], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = out.read_text()
    assert "DRY RUN" in report and re.search(r"jax \S+ \(jaxlib \S+\), requirements.txt pins \S+", report)
    assert re.search(r"engine tests: .*\nPASS: 1 passed", report)
    assert re.search(r"full step [\d.]+ ms .*subspace step, dense d = 16: [\d.]+ ms", report)
    assert re.search(r"^\s+2\s+[\d.]+\s+[\d.]+\s+[\d.]+", report, re.M)  # R = 2: loop, vmap, ratio
    assert report.rstrip().splitlines()[-1].startswith("PASS: GPU check done")
