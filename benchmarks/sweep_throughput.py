"""Sweep throughput: in-process vs a local Dask cluster (not a test; prints a report).

    python benchmarks/sweep_throughput.py [--quick] [--workers 2] [--out book/_generated/sweep_throughput.txt]

In one process, on the sweep of chapter 05 at its ``ci`` preset (Conv-2 on 1024
Fashion-MNIST examples, 500 test examples, one epoch; random affine and burn-in at
t = 4, 8, 16; d = 4, 32, 256; seeds 0, 1, 2: 36 runs), it measures runs per second of

1. the in-process executor (the default: a loop of runs in this process);
2. a local cluster of ``--workers`` worker processes (:class:`engine.Dask`), and the
   ratio of the two; both *cold* (a fresh process or worker compiles every program
   first, as a chapter does) and *warm* (the same sweep again into a new records file:
   programs compiled, the steady state of a long sweep);
3. the Dask overhead per run: a 1-worker cluster against the in-process executor, warm
   (the same work in one process either way, so the difference is scheduling,
   serialisation and the one writer), and the round trip of an empty task;
4. the cold start of a 2-worker cluster sharing a JAX compilation cache folder, and
   workers limited to one XLA thread each (whether the cores were oversubscribed).

Other processes on the machine slow every timing; the load average is reported, and the
warm in-process / Dask sweeps are timed alternately (median of the rounds).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's dof_helpers

import numpy as np  # noqa: E402

from _report import Report  # noqa: E402
from dof_helpers import data, engine  # noqa: E402


def ci_data():
    """Chapter 05's ci data: the first 1024 Fashion-MNIST training and 500 test images
    (random arrays of the same shapes if the dataset is missing: the timings do not
    depend on the pixels)."""
    try:
        full = data.load_dataset("fashion_mnist", n_train=1024)
        src = "Fashion-MNIST"
        x, y, xt, yt = full.x_train, full.y_train, full.x_test[:500], full.y_test[:500]
    except (FileNotFoundError, OSError):
        rng = np.random.default_rng(0)
        src = "random arrays (Fashion-MNIST not found)"
        x, xt = rng.normal(size=(1024, 28, 28, 1)), rng.normal(size=(500, 28, 28, 1))
        y, yt = rng.integers(0, 10, 1024), rng.integers(0, 10, 500)
    return data.from_arrays(x, y, xt, yt, name="fashion_mnist", num_classes=10), src


def ci_config(quick: bool):
    if quick:
        return engine.SweepConfig(methods=("random_affine", "burn_in"), d_values=(4, 32), t_values=(4,),
                                  seeds=(0, 1), epochs=1, batch_size=128)
    return engine.SweepConfig(methods=("random_affine", "burn_in"), d_values=(4, 32, 256), t_values=(4, 8, 16),
                              seeds=(0, 1, 2), epochs=1, batch_size=128)


class Sweeper:
    """Times one sweep into a fresh records file each call."""

    def __init__(self, config, ds, folder):
        self.config, self.ds, self.folder, self.n = config, ds, Path(folder), 0

    def __call__(self, executor=None) -> tuple[float, int]:
        self.n += 1
        t = time.perf_counter()
        recs = engine.run_sweep(self.config, "conv2", self.ds, self.folder / f"s{self.n}" / "r.jsonl",
                                progress=False, executor=executor)
        dt = time.perf_counter() - t
        bad = [r for r in recs if r.get("status") != "ok"]
        assert not bad, bad[:1]
        return dt, len(recs)


def _noop(i):
    return i


def empty_task_round_trip(client, n=200) -> tuple[float, float]:
    """(seconds per empty task, one after the other; per task, n in flight at once)."""
    from distributed import wait
    client.submit(_noop, -1, pure=False).result()
    t = time.perf_counter()
    for i in range(n // 4):
        client.submit(_noop, i, pure=False).result()
    serial = (time.perf_counter() - t) / (n // 4)
    t = time.perf_counter()
    wait([client.submit(_noop, i, pure=False) for i in range(n)])
    return serial, (time.perf_counter() - t) / n


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a smaller sweep (smoke test of the script)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3, help="alternating warm rounds")
    ap.add_argument("--out", default=None, help="also write the report to this file")
    args = ap.parse_args(argv)
    say = Report()
    ds, src = ci_data()
    config = ci_config(args.quick)
    n_runs = len(engine.plan_runs(config, engine.make_context("conv2", ds)))
    say.header("Sweep throughput: in-process vs Dask")
    say(f"sweep: chapter 05 ci preset{' (quick subset)' if args.quick else ''}: Conv-2, {ds.n_train} train / "
        f"{ds.n_test} test examples of {src}, {config.epochs} epoch, methods {', '.join(config.methods)}, "
        f"d {list(config.d_values)}, t {list(config.t_values)}, seeds {list(config.seeds)}: {n_runs} runs")
    say("(other processes slow every timing)")
    with tempfile.TemporaryDirectory() as tmp:
        sweep = Sweeper(config, ds, tmp)
        rows = []
        t_in_cold, _ = sweep()
        rows.append(("in-process, cold", t_in_cold))
        t = time.perf_counter()
        dask = engine.Dask(workers=args.workers, gpus=())
        dask.client  # start the cluster
        t_start = time.perf_counter() - t
        t_dk_cold, _ = sweep(dask)
        rows.append((f"Dask {args.workers} workers, cold", t_dk_cold))
        cold_stats = dict(dask.last_run)
        warm_in, warm_dk, ratios = [], [], []
        for _ in range(args.rounds):
            a, _ = sweep()
            b, _ = sweep(dask)
            warm_in.append(a)
            warm_dk.append(b)
            ratios.append(a / b)
        warm_stats = dict(dask.last_run)
        serial2, parallel2 = empty_task_round_trip(dask.client)
        dask.close()
        rows.append(("in-process, warm (median)", statistics.median(warm_in)))
        rows.append((f"Dask {args.workers} workers, warm (median)", statistics.median(warm_dk)))

        one = engine.Dask(workers=1, gpus=())
        one.client
        sweep(one)  # warm-up: compile in the worker
        d1, i1 = [], []
        for _ in range(args.rounds):
            i1.append(sweep()[0])
            d1.append(sweep(one)[0])
        one_stats = dict(one.last_run)
        serial1, _ = empty_task_round_trip(one.client)
        one.close()
        rows.append(("Dask 1 worker, warm (median)", statistics.median(d1)))

        cached = engine.Dask(workers=args.workers, gpus=(), compilation_cache=Path(tmp) / "jax_cache")
        cached.client
        t_cc_cold, _ = sweep(cached)
        cc_stats = dict(cached.last_run)
        cached.close()
        cached2 = engine.Dask(workers=args.workers, gpus=(), compilation_cache=Path(tmp) / "jax_cache")
        cached2.client
        t_cc_second, _ = sweep(cached2)  # new worker processes, programs read from the cache
        cached2.close()
        # CPU workers with one XLA thread each (no oversubscription of the cores), warm
        flags = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        single = engine.Dask(workers=args.workers, gpus=(), compilation_cache=Path(tmp) / "jax_cache",
                             cluster_options={"env": {"XLA_FLAGS": (os.environ.get("XLA_FLAGS", "") + " " + flags).strip()}})
        single.client
        sweep(single)
        t_single = statistics.median([sweep(single)[0] for _ in range(args.rounds)])
        single.close()
        rows.append((f"Dask {args.workers} workers + compilation cache, cold (empty cache)", t_cc_cold))
        rows.append((f"Dask {args.workers} workers + compilation cache, new workers (cache filled)", t_cc_second))
        rows.append((f"Dask {args.workers} workers, 1 XLA thread each, warm (median)", t_single))

    say("")
    say(f"{'sweep':62s} {'seconds':>8s} {'runs/s':>8s}")
    for name, sec in rows:
        say(f"{name:62s} {sec:8.2f} {n_runs / sec:8.2f}")
    say(f"starting the {args.workers}-worker local cluster (processes importing JAX): {t_start:.1f} s, not included")
    say("")
    say(f"throughput ratio, Dask {args.workers} workers / in-process: cold {t_in_cold / t_dk_cold:.2f}, "
        f"warm {statistics.median(ratios):.2f} (median of {args.rounds} alternating rounds: "
        + ", ".join(f"{r:.2f}" for r in ratios) + ")")
    over = (statistics.median(d1) - statistics.median(i1)) / n_runs
    say(f"Dask overhead per run (1 worker vs in-process, warm): {over * 1e3:+.1f} ms "
        f"(in-process {statistics.median(i1) / n_runs * 1e3:.1f} ms per run)")
    say(f"empty task round trip: {serial1 * 1e3:.1f} ms one at a time (1 worker), {serial2 * 1e3:.1f} ms "
        f"({args.workers} workers), {parallel2 * 1e3:.2f} ms each with 200 in flight; a task holds "
        f"{dask.chunk_runs} runs")
    for name, st in ((f"{args.workers} workers cold", cold_stats), (f"{args.workers} workers warm", warm_stats),
                     ("1 worker warm", one_stats), (f"{args.workers} workers + cache cold", cc_stats)):
        busy = st["compute_s"] / (st["wall_s"] * st["worker_processes"]) if st.get("wall_s") else float("nan")
        say(f"  {name}: {st['tasks']} tasks, seed states built {st['states_built']}, time in tasks "
            f"{st['compute_s']:.1f} s over {st['wall_s']:.1f} s x {st['worker_processes']} workers "
            f"({busy:.0%} busy)")
    say.load("at end")
    say.save(args.out)


if __name__ == "__main__":
    main()
