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

from _report import Report, time_interleaved
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


def steppers(variants, params, x_all, y_all, batch, steps):
    """name -> (state, step) for :func:`_report.time_interleaved`: the engine's momentum-SGD step
    of each model in ``variants`` on batch i of ``steps`` fixed batches."""
    opt = optim.momentum_sgd()
    idx = [jnp.arange(i * batch, (i + 1) * batch) % x_all.shape[0] for i in range(steps)]

    def stepper(model):
        z = jax.tree_util.tree_map(jnp.array, params)

        def step(state, i):
            z, s, _ = train._train_step(*state, None, x_all, y_all, idx[i % steps], model=model, opt=opt,
                                        layout=None, mode="full")
            return z, s
        return (z, opt.init(z)), step
    return {name: stepper(model) for name, model in variants.items()}


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
    say.load("before")
    med, raw = time_interleaved(steppers(variants, params, x_all, y_all, args.batch, args.steps), args.steps,
                                args.repeats)
    say.ratio_table(med, raw, BASE, "plain")
    say.load("after")
    say.save(args.out)
    return med


if __name__ == "__main__":
    main()
