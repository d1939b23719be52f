"""Same seed, same numbers -- on which machines? (not a test; prints a report)

    python benchmarks/isa_numerics.py [--quick] [--out book/_generated/isa_numerics.txt]

XLA compiles a CPU program for the widest vector instructions the processor offers;
``XLA_FLAGS=--xla_cpu_max_isa=...`` narrows that, which lets one machine play the
machines with narrower vectors. Each line of the report is one fresh process that trains,
with seed 0, through the engine (:func:`engine.train_run`):

- the full Conv-2 model (momentum SGD, learning rate 0.05) and a random affine subspace
  (d = 256, Adam 0.05) on 10,240 Fashion-MNIST training images for one epoch (80 steps);
- unless ``--quick``: the full model at the paper's protocol (all 60,000 images, three
  epochs, 1,404 steps), the baseline of chapter 05's paper folder, whose committed record
  is printed beside it.

The machine's default target runs twice (is one machine bit-for-bit repeatable?), then
every narrower target this CPU supports; each row shows the best accuracies and loss and
their largest difference from the default's.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's dof_helpers

from _report import Report  # noqa: E402

#: XLA's --xla_cpu_max_isa value for each vector extension of :data:`engine.platform.ISA_ORDER`
XLA_ISA = {"avx512f": "AVX512", "avx2": "AVX2", "avx": "AVX", "sse4_2": "SSE4_2"}
PAPER_FOLDER = ROOT / "results/05_phase_transition/paper"


def _metrics(rec: dict) -> dict:
    return {"train_acc": rec["best_train_acc"], "test_acc": rec["best_test_acc"], "train_loss": rec["best_train_loss"],
            "key": rec["key"]}


def worker(paper: bool) -> None:
    """One process's measurements, as one JSON line on stdout."""
    from dof_helpers import data, engine
    from dof_helpers.engine.platform import platform_info
    out = {"platform": platform_info()}
    small = data.load_dataset("fashion_mnist", n_train=10240)
    common = dict(seed=0, epochs=1, batch_size=128, eval_chunk=1000)
    out["full, 10,240 images, 1 epoch"] = _metrics(engine.train_run("conv2", small, method="full", full_lr=0.05,
                                                                    **common))
    out["random affine d = 256, 10,240 images, 1 epoch"] = _metrics(
        engine.train_run("conv2", small, method="random_affine", d=256, lr=0.05, **common))
    if paper:
        full = data.load_dataset("fashion_mnist")
        out["full, paper protocol (60,000 images, 3 epochs)"] = _metrics(
            engine.train_run("conv2", full, method="full", full_lr=0.05, seed=0, epochs=3, batch_size=128,
                             eval_chunk=1000, eval_init=True))
    print("RESULT " + json.dumps(out))


def run_worker(max_isa: str | None, paper: bool) -> dict:
    env = dict(os.environ)
    flags = env.get("XLA_FLAGS", "")
    if max_isa:
        flags = f"{flags} --xla_cpu_max_isa={max_isa}".strip()
    env["XLA_FLAGS"] = flags
    cmd = [sys.executable, __file__, "--worker"] + (["--paper"] if paper else [])
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if proc.returncode or line is None:
        raise RuntimeError(f"worker with max ISA {max_isa} failed (rc {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(line[len("RESULT "):])


def committed_paper_baseline() -> dict | None:
    """Chapter 05's committed paper-protocol baseline (lr 0.05, seed 0), if the folder is here."""
    from dof_helpers.records import load_records
    recs = [r for r in load_records(PAPER_FOLDER / "baseline.jsonl") if r.get("full_lr") == 0.05 and r["seed"] == 0]
    return _metrics(recs[0]) | {"platform": recs[0].get("platform", "not recorded")} if recs else None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="skip the paper-protocol full model (about 40 s a run)")
    parser.add_argument("--out", default=None, help="also write the report to this file")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--paper", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.paper)
        return 0
    from dof_helpers.engine.platform import ISA_ORDER, platform_info
    here = platform_info()
    report = Report()
    report.header("Same seed, same numbers: one run on several XLA CPU targets", extra=here["cpu"])
    paper = not args.quick
    # an x86 CPU with one extension of ISA_ORDER has every narrower one too
    narrower = ISA_ORDER[ISA_ORDER.index(here["cpu_isa"]):] if here["cpu_isa"] in ISA_ORDER else ()
    targets = [("default", None), ("default, again", None)] + [(f"max ISA {XLA_ISA[i]}", XLA_ISA[i]) for i in narrower]
    results = {label: run_worker(isa, paper) for label, isa in targets}
    report(f"widest vector extension of this CPU: {here['cpu_isa']}")
    report("each row: one fresh process, seed 0")
    base = results["default"]
    committed = committed_paper_baseline() if paper else None
    for what in [k for k in base if k != "platform"]:
        report("")
        report(f"## {what}")
        rows = [(label, res[what]) for label, res in results.items()]
        keys = sorted({m["key"] for _, m in rows})
        report(f"run key of every row: {', '.join(keys)}" + ("" if len(keys) == 1 else "  (NOT one run: keys differ)"))
        report(f"{'XLA target':<18} {'train acc':>10} {'test acc':>9} {'train loss':>11}   max |diff| vs default")
        beside = committed if what.startswith("full, paper") else None
        if beside:
            rows.append(("committed record", beside))
        for label, m in rows:
            diff = max(abs(m[k] - base[what][k]) for k in ("train_acc", "test_acc", "train_loss"))
            same = "0 (bit for bit)" if diff == 0 else f"{diff:.2e}"
            report(f"{label:<18} {m['train_acc']:>10.6f} {m['test_acc']:>9.4f} {m['train_loss']:>11.8f}   {same}")
        if beside:
            report(f"(committed record: {PAPER_FOLDER.relative_to(ROOT) / 'baseline.jsonl'},")
            report(f" key {beside['key']}, platform {beside['platform']})")
    report.load("at the end")
    report.save(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
