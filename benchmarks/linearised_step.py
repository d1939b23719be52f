"""Time a full-space SGD step of the linearised Conv-2 against the plain Conv-2 step.

    python benchmarks/linearised_step.py [--steps 20] [--repeats 7] [--batch 128] [--out FILE]

Why: Appendix A.1 (Figure 9) trains the linearised network f_lin(w) = f(w_opt) +
J(w_opt)(w - w_opt) exactly like the network itself, so its step cost multiplies every
run of that chapter. Each variant is the engine's own jitted step
(``dof_helpers.train._train_step``: gather the batch on device, value_and_grad of the
mean cross-entropy, momentum SGD, CPU compiler options) with a different model:

- ``plain``: Conv-2 as the engine trains it (fused conv-ReLU-maxpool stages, custom_vjp);
- ``linearised, transpose``: :class:`dof_helpers.linearised.Linearised` around the fused
  Conv-2; forward mode cannot enter its custom_vjp stages, so J t is the transpose of the
  reverse-mode map (``tangent="auto"`` picks this);
- ``linearised, jvp``: the same around Conv-2 with plain layers (``conv_impl="reference"``),
  where ``jax.jvp`` works;
- ``plain, reference layers``: for scale.

All variants run in ONE process, timed interleaved (A, B, C, ..., then again) so that
load from other processes hits all alike; compilation and warm-up are excluded; the
reported time is the median over ``--repeats`` blocks of ``--steps`` steps. Before timing,
the linearised models are checked to equal Conv-2 at w_opt.
"""
from __future__ import annotations

import argparse
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from _report import Report
from dof_helpers import linearised, models, optim, train

BASE = "plain"


def build_variants(p_opt):
    """name -> model; the linearised ones around ``p_opt``."""
    fused, _ = models.model_for("conv2", "fashion_mnist")
    ref, _ = models.model_for("conv2", "fashion_mnist", conv_impl="reference")
    return {
        BASE: fused,
        "linearised, transpose (fused Conv-2)": linearised.linearise(fused, p_opt, tangent="transpose"),
        "linearised, jvp (reference layers)": linearised.linearise(ref, p_opt, tangent="jvp"),
        "plain, reference layers": ref,
    }


def time_interleaved(variants, params, x_all, y_all, batch, steps, repeats):
    """Median and all ms/step of the engine's step for each model in ``variants``."""
    opt = optim.momentum_sgd()
    idx = [jnp.arange(i * batch, (i + 1) * batch) % x_all.shape[0] for i in range(steps)]
    state = {}
    for name, model in variants.items():  # compile + 3 warm-up steps, not timed
        z = jax.tree_util.tree_map(jnp.array, params)
        s = opt.init(z)
        for i in range(3):
            z, s, _ = train._train_step(z, s, None, x_all, y_all, idx[i], model=model, opt=opt, layout=None,
                                        mode="full")
        state[name] = jax.block_until_ready((z, s))
    times = {name: [] for name in variants}
    for _ in range(repeats):
        for name, model in variants.items():
            z, s = state[name]
            start = time.perf_counter()
            for i in range(steps):
                z, s, _ = train._train_step(z, s, None, x_all, y_all, idx[i], model=model, opt=opt, layout=None,
                                            mode="full")
            jax.block_until_ready(z)
            times[name].append((time.perf_counter() - start) / steps * 1e3)
            state[name] = (z, s)
    return {name: float(np.median(t)) for name, t in times.items()}, times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20, help="steps per timed block")
    parser.add_argument("--repeats", type=int, default=7, help="timed blocks per variant (median reported)")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--out", default=None, help="also write the report to this file")
    args = parser.parse_args(argv)
    say = Report()
    kx, ky, kp, kq = jax.random.split(jax.random.PRNGKey(0), 4)
    n = args.batch * args.steps
    x_all = jax.random.normal(kx, (n, 28, 28, 1), jnp.float32)
    y_all = jax.random.randint(ky, (n,), 0, 10)
    fused, shape = models.model_for("conv2", "fashion_mnist")
    p_opt = models.init_params(fused, kp, shape)
    params = models.init_params(fused, kq, shape)  # w_0: a different point
    variants = build_variants(p_opt)
    for name, model in variants.items():  # f_lin(w_opt) = f(w_opt)
        out = jax.jit(model.apply)({"params": p_opt}, x_all[:16])
        np.testing.assert_allclose(out, fused.apply({"params": p_opt}, x_all[:16]), rtol=1e-5, atol=1e-5, err_msg=name)
    say(f"# Linearised Conv-2 step benchmark ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})")
    say(f"jax {jax.__version__}, backend {jax.default_backend()}, {os.cpu_count()} CPUs, "
        f"cpu options {train.compiler_options()}")
    say(f"Conv-2 on 28x28x1, D = {models.count_params(p_opt):,}, batch {args.batch}: the engine's jitted "
        f"momentum-SGD step; median of {args.repeats} interleaved blocks x {args.steps} steps")
    if hasattr(os, "getloadavg"):
        say(f"load average before: {os.getloadavg()[0]:.2f}")
    med, raw = time_interleaved(variants, params, x_all, y_all, args.batch, args.steps, args.repeats)
    width = max(len(k) for k in med)
    say(f"{'variant':<{width}}  ms/step    min    max   / plain")
    for name, m in med.items():
        say(f"{name:<{width}}  {m:7.2f} {min(raw[name]):6.2f} {max(raw[name]):6.2f}   {m / med[BASE]:6.2f}")
    if hasattr(os, "getloadavg"):
        say(f"load average after:  {os.getloadavg()[0]:.2f}")
    say.save(args.out)
    return med


if __name__ == "__main__":
    main()
