"""The timing half of ``benchmarks/gpu_check.sh`` (run that; this prints a report).

    python benchmarks/gpu_check.py [--dry-run] [--out FILE]

On whatever backend JAX finds (meant for one GPU; ``--dry-run``: a few seconds on a CPU):

1. JAX's version, backend and devices, against the version ``requirements.txt`` pins;
2. one Conv-2 training step (batch 128, Fashion-MNIST shapes) in the full space
   (momentum SGD) and in a d-dimensional random subspace (dense basis, Adam): ms per
   step and compile seconds;
3. run throughput of the engine: R random-affine runs (R seeds, one epoch on 1024
   examples, evaluation on 500) trained one after another (``InProcess("loop")``) and
   batched with vmap (``InProcess("vmap")``), R = 1, 8, 64, programs compiled first.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's dof_helpers

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from _report import Report  # noqa: E402
from dof_helpers import data, engine, optim, subspace, train  # noqa: E402

BATCH = 128


def pinned_jax() -> str:
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if line.startswith("jax=="):
            return line.split("==", 1)[1].strip()
    return "?"


def random_data(n_train, n_test, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n_train + n_test)
    x = rng.normal(size=(n_train + n_test, 28, 28, 1)).astype(np.float32)
    x[np.arange(len(y)), (y * 2) % 28, (y * 3) % 28, 0] += 4.0  # a learnable signal
    return data.from_arrays(x[:n_train], y[:n_train], x[n_train:], y[n_train:], name="fmnist_shaped",
                            num_classes=10)


def time_call(call, min_s, min_n=3):
    jax.block_until_ready(call())
    n, t = 0, time.perf_counter()
    while n < min_n or time.perf_counter() - t < min_s:
        jax.block_until_ready(call())
        n += 1
    return (time.perf_counter() - t) / n


def step_timings(ctx, d, min_s):
    """(full ms, full compile s, subspace ms, subspace compile s) of one Conv-2 step."""
    model = ctx.model
    params = train.init_model_params(model, jax.random.PRNGKey(0), ctx.data.input_shape)
    w0, layout = subspace.flatten_params(params)
    x = jnp.asarray(ctx.data.x_train)
    y = jnp.asarray(ctx.data.y_train)
    idx = jnp.arange(BATCH, dtype=jnp.int32) % x.shape[0]
    out = []
    for mode in ("full", "subspace"):
        if mode == "full":
            opt, z, aux, lay = optim.momentum_sgd(), jax.tree_util.tree_map(jnp.array, params), None, None
        else:
            opt, z, lay = optim.adam(), jnp.zeros((d,), jnp.float32), layout
            aux = (w0, subspace.make_basis("dense", jax.random.PRNGKey(1), layout.D, d))
        state = [z, opt.init(z)]
        kw = dict(model=model, opt=opt, layout=lay, mode=mode)
        t = time.perf_counter()
        train._train_step.lower(state[0], state[1], aux, x, y, idx, **kw).compile()
        compile_s = time.perf_counter() - t

        def call():
            state[0], state[1], loss = train._train_step(state[0], state[1], aux, x, y, idx, **kw)
            return loss
        out += [time_call(call, min_s) * 1e3, compile_s]
    return out


def run_throughput(ctx, R, d, epochs):
    """(loop runs/s, vmap runs/s, vmap compile+first s) for R runs of R seeds."""
    def runs(seeds):
        config = engine.SweepConfig(methods=("random_affine",), d_values=(d,), seeds=tuple(seeds), epochs=epochs,
                                    batch_size=BATCH, batch_runs=R)
        return config, engine.plan_runs(config, ctx)

    def timed(executor, seeds):
        config, planned = runs(seeds)
        t = time.perf_counter()
        recs = list(executor.run(ctx, config, planned))
        assert len(recs) == len(planned) and all(r["status"] == "ok" for r in recs), recs[:1]
        return time.perf_counter() - t

    loop, vmap = engine.InProcess("loop"), engine.InProcess("vmap", batch_runs=R)
    timed(loop, [10_000])  # compile the single-run programs
    t_loop = timed(loop, range(R))
    first = timed(vmap, range(20_000, 20_000 + R))  # compile the R-run programs
    t_vmap = timed(vmap, range(R))
    return R / t_loop, R / t_vmap, first


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dry-run", action="store_true", help="tiny sizes, seconds on a CPU (what the test runs)")
    ap.add_argument("--out", default=None, help="also write the report to this file")
    args = ap.parse_args(argv)
    say = Report()
    dry = args.dry_run
    devices = jax.devices()
    say(f"## GPU check, timings ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}){' -- DRY RUN' if dry else ''}")
    say(f"jax {jax.__version__} (jaxlib {jax.lib.__version__ if hasattr(jax.lib, '__version__') else '?'}), "
        f"requirements.txt pins {pinned_jax()}; backend {jax.default_backend()}; devices: "
        + ", ".join(f"{d.platform}:{getattr(d, 'device_kind', '?')}" for d in devices))
    say(f"{platform.machine()}, {os.cpu_count()} CPU cores; load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    ctx = engine.make_context("conv2", random_data(256 if dry else 1024, 100 if dry else 500))
    d = 16 if dry else 1000
    full_ms, full_c, sub_ms, sub_c = step_timings(ctx, d, 0.05 if dry else 1.0)
    say(f"Conv-2 (D = {ctx.D:,}), batch {BATCH}: full step {full_ms:.3f} ms (compile {full_c:.1f} s); "
        f"subspace step, dense d = {d}: {sub_ms:.3f} ms (compile {sub_c:.1f} s), {sub_ms / full_ms:.2f}x full")
    d_runs, epochs = (8, 1) if dry else (256, 1)
    say(f"run throughput: R random-affine runs (d = {d_runs}, {epochs} epoch of {ctx.data.n_train} examples, "
        f"evaluation on {ctx.data.n_test}), runs per second")
    say(f"{'R':>4s} {'loop':>9s} {'vmap':>9s} {'vmap/loop':>9s} {'vmap compile+first s':>21s}")
    for R in ((1, 2) if dry else (1, 8, 64)):
        loop, vmap, first = run_throughput(ctx, R, d_runs, epochs)
        say(f"{R:4d} {loop:9.2f} {vmap:9.2f} {vmap / loop:9.2f} {first:21.1f}")
    from dof_helpers.batched import pick_strategy
    say(f"strategy 'auto' on this backend: {pick_strategy('auto')}")
    say.save(args.out)


if __name__ == "__main__":
    main()
