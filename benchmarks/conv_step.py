"""Time one full-space SGD step of Conv-2 (and Conv-3) written in different ways.

    python benchmarks/conv_step.py [--steps 20] [--repeats 7] [--batch 128] [--conv3] [--out FILE]

Why: the book trains Conv-2 many thousands of times on a 2-core CPU, so the cost of one
step (value_and_grad of the softmax cross-entropy + an SGD update, batch 128) sets the
cost of every chapter. Every variant computes the same function of the same parameters
(checked: same loss, gradients within float rounding) and differs only in how it is
written or compiled:

- ``textbook``: ``nn.Conv`` + ``nn.relu`` + ``nn.max_pool`` (``lax.reduce_window``), XLA
  defaults: what one writes first;
- ``reference``: ``nn.Conv`` + ReLU + the reshape pool of :func:`dof_helpers.models.pool_2x2`
  (``conv_impl="reference"``), with XLA defaults and with the engine's CPU compiler options
  (:data:`dof_helpers.train.CPU_COMPILER_OPTIONS`: YNNPACK library fusions off);
- ``fused``: :func:`dof_helpers.models.conv3x3_relu_pool` stages (``conv_impl`` ``auto``,
  ``gemm`` or ``conv``): hand-written max-pool backward, first layer as a pool-aware
  matrix product, with and without the CPU options;
- the same for average pooling (the original code's choice).

All variants run in ONE process and are timed interleaved (A, B, C, ..., then again), so
load from other processes hits all of them alike. Compilation and warm-up are excluded;
the reported time is the median over ``--repeats`` blocks of ``--steps`` steps. The last
column divides by the engine's choice (``fused auto`` with the CPU options), the step
that :mod:`dof_helpers.train` runs.
"""
from __future__ import annotations

import argparse
import os
import time

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from _report import Report, time_interleaved
from dof_helpers import models, train

LEARNING_RATE = 0.05
ENGINE = "fused auto, cpu options"


class _TextbookConvNet(nn.Module):
    """Conv-2 / Conv-3 with Flax's own layers and pooling (``lax.reduce_window``)."""

    channels: tuple = (16, 32)
    pool: str = "max"

    @nn.compact
    def __call__(self, x):
        for features in self.channels:
            x = nn.relu(nn.Conv(features, (3, 3), padding="SAME")(x))
            pool = nn.max_pool if self.pool == "max" else nn.avg_pool
            x = pool(x, (2, 2), (2, 2), "VALID")
        return nn.Dense(10)(x.reshape((x.shape[0], -1)))


def make_sgd_step(module, compiler_options=None):
    """Jitted ``(params, x, y) -> (params, loss)``: value_and_grad of mean CE + SGD."""

    def loss_fn(params, x, y):
        logits = module.apply({"params": params}, x)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    def step(params, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        return jax.tree_util.tree_map(lambda p, g: p - LEARNING_RATE * g, params, grads), loss

    return jax.jit(step, compiler_options=compiler_options or None), loss_fn


def steppers(variants, params, x, y):
    """name -> (state, step) for :func:`_report.time_interleaved`; ``variants``: name -> jitted step."""
    return {name: (params, lambda p, i, step=step: step(p, x, y)[0]) for name, step in variants.items()}


def build_variants(name, opts):
    """name -> (module, compiler options) for model ``name`` ("conv2" or "conv3")."""
    channels = (16, 32) if name == "conv2" else (32, 64, 64)
    out = {}
    for pool in ("max", "avg"):
        sfx = "" if pool == "max" else " (avg pool)"
        out["textbook" + sfx] = (_TextbookConvNet(channels, pool), {})
        out["reference" + sfx] = (models.build_model(name, pool=pool, conv_impl="reference"), {})
        out["reference, cpu options" + sfx] = (models.build_model(name, pool=pool, conv_impl="reference"), opts)
        out["fused auto" + sfx] = (models.build_model(name, pool=pool, conv_impl="auto"), {})
        impls = ("auto", "gemm", "conv") if pool == "max" else ("auto",)
        for impl in impls:
            out[f"fused {impl}, cpu options" + sfx] = (models.build_model(name, pool=pool, conv_impl=impl), opts)
    return out


def check_same_function(losses, params, x, y):
    """Every loss function in ``losses``: same loss (1e-5) and gradient (1e-4) as the first of its pool."""
    refs = {}
    for name, loss_fn in losses.items():
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        key = "avg" if "avg" in name else "max"
        if key not in refs:
            refs[key] = (loss, grads)
            continue
        ref_loss, ref_grads = refs[key]
        np.testing.assert_allclose(loss, ref_loss, rtol=1e-5, err_msg=name)
        for g, r in zip(jax.tree_util.tree_leaves(grads), jax.tree_util.tree_leaves(ref_grads)):
            np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-4 * float(jnp.max(jnp.abs(r))), err_msg=name)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20, help="steps per timed block")
    parser.add_argument("--repeats", type=int, default=7, help="timed blocks per variant (median reported)")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--conv3", action="store_true", help="also time Conv-3 (slower)")
    parser.add_argument("--out", default=None, help="also write the report to this file")
    args = parser.parse_args(argv)
    say = Report()

    opts = train.compiler_options()
    kx, ky, kp = jax.random.split(jax.random.PRNGKey(0), 3)
    x = jax.random.normal(kx, (args.batch, 28, 28, 1), jnp.float32)
    y = jax.random.randint(ky, (args.batch,), 0, 10)
    say(f"# Conv step benchmark ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})")
    say(f"jax {jax.__version__}, backend {jax.default_backend()}, {os.cpu_count()} CPUs, "
        f"XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}, cpu options {opts}")
    say(f"28x28x1 inputs, batch {args.batch}: jitted value_and_grad + SGD; median of {args.repeats} "
        f"interleaved blocks x {args.steps} steps (compile and warm-up excluded)")
    say.load("before")
    results = {}
    for name in ("conv2", "conv3") if args.conv3 else ("conv2",):
        spec = build_variants(name, opts)
        params = models.init_params(spec["reference"][0], kp, (28, 28, 1))  # one tree for all
        variants, losses = {}, {}
        for vname, (module, o) in spec.items():
            variants[vname], losses[vname] = make_sgd_step(module, o)
        check_same_function(losses, params, x, y)
        med, raw = time_interleaved(steppers(variants, params, x, y), args.steps, args.repeats)
        say("")
        say(f"## {name} (D = {models.count_params(params):,}); every variant checked to compute the same "
            "loss and gradient")
        say.ratio_table(med, raw, ENGINE, "engine")
        results[name] = med
    say.load("after")
    say.save(args.out)
    return results


if __name__ == "__main__":
    main()
