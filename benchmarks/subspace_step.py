"""Benchmark of the subspace training engine (not a test; prints a report).

    python benchmarks/subspace_step.py [--quick] [--out book/_generated/benchmark.txt]

In one process, on whatever backend JAX finds, it measures:

1. the full-space Conv-2 / MLP step of :mod:`dof_helpers.train` (batch 128) against a
   hand-written jitted step (value_and_grad + momentum SGD, batch passed in directly) of
   the same model with the same compiler options (the fastest step written here: the
   engine's overhead) and of the plain Flax model with XLA's defaults (what the engine's
   model and options gain; ``benchmarks/conv_step.py`` breaks that gain down);
2. the subspace step w(theta) = w_t + A theta (eq. 2.2) with dense and Fastfood bases at
   d in {16, 256, 4096, D/2, D}, as a ratio to the full step; for dense bases also the
   memory-bandwidth floor: full step + 2|A|/BW (A is read twice per step, for A theta and
   for A^T g; the two reads cannot share one pass, since g depends on A theta), with BW
   measured by a streaming reduction over an array of the same size;
3. run-steps per second for R = 1, 8, 64 runs, sequential (a loop of single steps) vs
   batched (vmap over runs), which justifies ``batched.pick_strategy("auto")``;
4. compile time of each step and the process's peak resident memory.
"""
from __future__ import annotations

import argparse
import functools
import resource
import time

import jax
import jax.numpy as jnp
import numpy as np

from _report import Report
from dof_helpers import batched, models, optim, subspace, train

BATCH = 128


def _peak_rss_gib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _paired(call_a, call_b, rounds=7, min_round=0.3):
    """Median over rounds of (seconds per call of a, of b, b/a), timing a and b alternately.

    Pairing makes the ratio robust to other processes sharing the CPU.
    """
    jax.block_until_ready(call_a())
    jax.block_until_ready(call_b())
    ta, tb, ratios = [], [], []
    for _ in range(rounds):
        per = []
        for call in (call_a, call_b):
            n, start = 0, time.perf_counter()
            while n < 2 or time.perf_counter() - start < min_round:
                jax.block_until_ready(call())
                n += 1
            per.append((time.perf_counter() - start) / n)
        ta.append(per[0])
        tb.append(per[1])
        ratios.append(per[1] / per[0])
    return float(np.median(ta)), float(np.median(tb)), float(np.median(ratios))


def _copy(tree):
    return jax.tree_util.tree_map(jnp.array, tree)


class Case:
    def __init__(self, name, dataset):
        self.name = name
        self.model, shape = models.model_for(name, dataset)
        self.params = train.init_model_params(self.model, jax.random.PRNGKey(0), shape)
        self.w0, self.layout = subspace.flatten_params(self.params)
        self.D = self.layout.D
        k1, k2 = jax.random.split(jax.random.PRNGKey(1))
        self.x = jax.random.normal(k1, (2048,) + tuple(shape), jnp.float32)
        self.y = jax.random.randint(k2, (2048,), 0, 10)
        self.idx = jnp.arange(BATCH, dtype=jnp.int32)


def full_step_call(case):
    """(call, compile seconds) of the engine's full-space step (momentum SGD)."""
    opt = optim.momentum_sgd()
    state = [_copy(case.params), opt.init(case.params)]
    kw = dict(model=case.model, opt=opt, layout=None, mode="full")
    t = time.perf_counter()
    train._train_step.lower(state[0], state[1], None, case.x, case.y, case.idx, **kw).compile()
    compile_s = time.perf_counter() - t

    def call():
        state[0], state[1], loss = train._train_step(state[0], state[1], None, case.x, case.y, case.idx, **kw)
        return loss
    return call, compile_s


def bare_step_call(case, model=None, compiler_options=None):
    """A hand-written jitted full step (momentum SGD, batch passed in directly).

    With the engine's model and compiler options it is the fastest step written here by
    hand, the reference for the engine's overhead; with ``conv_impl="reference"`` and
    no options it is the plain Flax step one writes first.
    """
    model = model or case.model

    @functools.partial(jax.jit, compiler_options=compiler_options or None)
    def step(p, v, xb, yb):
        def loss(p):
            lg = model.apply({"params": p}, xb)
            return jnp.mean(jax.nn.logsumexp(lg, -1) - jnp.take_along_axis(lg, yb[:, None], 1)[:, 0])
        val, g = jax.value_and_grad(loss)(p)
        v = jax.tree_util.tree_map(lambda v, g: 0.9 * v + g, v, g)
        return jax.tree_util.tree_map(lambda p, v: p - 0.05 * v, p, v), v, val

    xb, yb = case.x[:BATCH], case.y[:BATCH]
    state = [_copy(case.params), jax.tree_util.tree_map(jnp.zeros_like, case.params)]

    def call():
        state[0], state[1], loss = step(state[0], state[1], xb, yb)
        return loss
    return call


def subspace_step_call(case, basis, d):
    """(call, compile seconds) of the engine's subspace step (Adam on theta, eq. 2.2)."""
    opt = optim.adam()
    theta = jnp.zeros((d,), jnp.float32)
    state = [theta, opt.init(theta)]
    aux = (case.w0, basis)
    kw = dict(model=case.model, opt=opt, layout=case.layout, mode="subspace")
    t = time.perf_counter()
    train._train_step.lower(state[0], state[1], aux, case.x, case.y, case.idx, **kw).compile()
    compile_s = time.perf_counter() - t

    def call():
        state[0], state[1], loss = train._train_step(state[0], state[1], aux, case.x, case.y, case.idx, **kw)
        return loss
    return call, compile_s


def read_call(nbytes):
    """A streaming reduction over ``nbytes`` of float32 (memory-bandwidth probe)."""
    a = jnp.ones((nbytes // 4,), jnp.float32)
    f = jax.jit(jnp.sum)
    return lambda: f(a)


def batched_call(case, kind, d, R):
    """(call, compile seconds) of one vmapped step of R runs (R run-steps)."""
    opt = optim.adam()
    bases = [subspace.make_basis(kind, jax.random.PRNGKey(100 + r), case.D, d) for r in range(R)]
    basis = jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *bases)
    w_ts = jnp.broadcast_to(case.w0, (R, case.D)) + 0.0
    thetas = jnp.zeros((R, d), jnp.float32)
    state = [thetas, jax.vmap(opt.init)(thetas)]
    idx = jnp.stack([jnp.roll(case.idx, r) for r in range(R)])
    kw = dict(model=case.model, opt=opt, layout=case.layout)
    t = time.perf_counter()
    batched._batched_step.lower(state[0], state[1], (w_ts, basis), case.x, case.y, idx, **kw).compile()
    compile_s = time.perf_counter() - t

    def call():
        state[0], state[1], loss = batched._batched_step(state[0], state[1], (w_ts, basis), case.x, case.y, idx,
                                                       **kw)
        return loss
    return call, compile_s


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small subset (smoke test of the script)")
    ap.add_argument("--out", default=None, help="also write the report to this file")
    args = ap.parse_args(argv)
    say = Report()

    say.header("Subspace engine benchmark", f"batch {BATCH}")
    say("(other processes on the CPU slow every timing; the paired ratios are more robust)")
    targets = {"conv2": "fastfood <= 1.10x full at every d", "mlp": "report fastfood at d = D; >= 10x faster than dense at d = 4096"}
    for name in (("conv2",) if args.quick else ("conv2", "mlp")):
        case = Case(name, "fashion_mnist")
        full, full_c = full_step_call(case)
        t_bare, t_full, r_full = _paired(bare_step_call(case, compiler_options=train.compiler_options()), full,
                                         rounds=15)
        plain = models.model_for(name, "fashion_mnist", conv_impl="reference")[0]
        t_plain, _, r_plain = _paired(bare_step_call(case, plain), full)
        say("")
        say(f"## {name}: D = {case.D:,}")
        say(f"full step (engine)                         {t_full * 1e3:8.2f} ms   compile {full_c:5.2f} s")
        say(f"full step (hand-written, same model+opts)  {t_bare * 1e3:8.2f} ms   engine / this = {r_full:.3f}"
            "   (target <= 1.10)")
        say(f"full step (hand-written, plain Flax, XLA defaults) {t_plain * 1e3:8.2f} ms   engine / this = "
            f"{r_plain:.3f}")
        say(f"target: {targets[name]}")
        say("ratios are medians of paired rounds (full step and subspace step timed alternately)")
        say(f"{'basis':9s} {'d':>8s} {'step ms':>9s} {'/ full':>7s} {'compile s':>9s} {'A GiB':>7s} "
            f"{'2|A|/BW ms':>10s} {'/ (full+2|A|/BW)':>16s} {'BW GB/s':>8s}")
        ds = [16, 256, 4096, case.D // 2, case.D] if not args.quick else [16, 4096, case.D]
        for kind in ("fastfood", "dense"):
            for d in ds:
                nbytes = case.D * d * 4
                if kind == "dense" and nbytes > 4 * 2**30:
                    say(f"{kind:9s} {d:8d}   refused: A would need {nbytes / 2**30:.0f} GiB (limit 4 GiB)")
                    continue
                basis = subspace.make_basis(kind, jax.random.PRNGKey(2), case.D, d,
                                            **({"max_bytes": 4 * 2**30} if kind == "dense" else {}))
                sub, c = subspace_step_call(case, basis, d)
                slow = nbytes > 2**29 and kind == "dense"
                t_f, t_s, ratio = _paired(full, sub, rounds=3 if slow else 7, min_round=0.3)
                extra = ""
                if kind == "dense":
                    probe = min(max(nbytes, 2**24), 2**30)
                    t_read, _, _ = _paired(read_call(probe), sub, rounds=3)
                    bw = probe / t_read
                    fl = 2 * nbytes / bw
                    extra = f"{fl * 1e3:10.2f} {t_s / (fl + t_f):16.2f} {bw / 1e9:8.1f}"
                gib = nbytes / 2**30 if kind == "dense" else 0.0
                say(f"{kind:9s} {d:8d} {t_s * 1e3:9.2f} {ratio:7.2f} {c:9.2f} {gib:7.3f} {extra}")
                del basis, sub
        say(f"peak RSS so far {_peak_rss_gib():.2f} GiB")
        d = 256
        single, _ = subspace_step_call(case, subspace.make_basis("fastfood", jax.random.PRNGKey(3), case.D, d), d)
        say(f"runs at once (fastfood, d = {d}): run-steps per second, loop of single steps vs vmap over runs")
        say(f"{'R':>4s} {'loop':>9s} {'vmap':>9s} {'vmap/loop':>9s} {'vmap compile s':>14s}")
        for R in ((1, 8) if args.quick else (1, 8, 64)):
            bcall, c = batched_call(case, "fastfood", d, R)
            t_one, t_b, _ = _paired(single, bcall, rounds=3 if R == 64 else 5, min_round=0.3)
            say(f"{R:4d} {1 / t_one:9.1f} {R / t_b:9.1f} {R * t_one / t_b:9.2f} {c:14.2f}")
            del bcall
        say(f"peak RSS {_peak_rss_gib():.2f} GiB")
    say("")
    say(f"batched.pick_strategy('auto') on this backend: {batched.pick_strategy('auto')}")
    say.load("at end")
    say.save(args.out)


if __name__ == "__main__":
    main()
