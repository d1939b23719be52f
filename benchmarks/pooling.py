"""Time one jitted SGD step of Conv-2 under different pooling and convolution choices.

Why: the book trains Conv-2 many thousands of times on a 2-core CPU, so the cost of
one full-space step (value_and_grad of the softmax cross-entropy + an SGD update,
batch 128, 28x28x1 inputs) sets the cost of every chapter. ``dof_helpers.models``
pools by reshaping to (N, H/2, 2, W/2, 2, C) and reducing over the window axes
instead of calling ``nn.max_pool`` / ``nn.avg_pool`` (``lax.reduce_window``),
because the gradient of a reduce-window max pool is slow on XLA's CPU backend.
This script measures that choice, max vs average pooling (paper text vs original
code), and two ways of writing the convolution (Flax ``nn.Conv`` vs
``lax.conv_general_dilated`` directly in NHWC and in NCHW layout).

All variants run in ONE process and are timed interleaved (variant A, B, C, ...,
then again), so that load from other processes on the machine hits all of them
alike. Compilation and three warm-up steps are excluded; the reported time is the
median over ``--repeats`` blocks of ``--steps`` steps each.

Usage::

    python benchmarks/pooling.py [--steps 30] [--repeats 7] [--batch 128]
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
from jax import lax

from dof_helpers.models import Conv2, init_params, pool_2x2

LEARNING_RATE = 0.05


class _Conv2ReduceWindow(nn.Module):
    """Conv-2 with Flax's own pooling (lax.reduce_window), for comparison only."""

    pool: str = "max"

    @nn.compact
    def __call__(self, x):
        for features in (16, 32):
            x = nn.relu(nn.Conv(features, (3, 3), padding="SAME")(x))
            if self.pool == "max":
                x = nn.max_pool(x, (2, 2), (2, 2), "VALID")
            else:
                x = nn.avg_pool(x, (2, 2), (2, 2), "VALID")
        return nn.Dense(10)(x.reshape((x.shape[0], -1)))


def _apply_lax(params, x, layout):
    """Conv-2 (reshape max pool) written with lax.conv_general_dilated in ``layout``.

    Uses the same parameter tree as ``Conv2`` (HWIO kernels); ``x`` is NHWC or NCHW.
    """
    for name in ("Conv_0", "Conv_1"):
        kernel, bias = params[name]["kernel"], params[name]["bias"]
        if layout == "NHWC":
            x = lax.conv_general_dilated(x, kernel, (1, 1), "SAME",
                                         dimension_numbers=("NHWC", "HWIO", "NHWC")) + bias
            x = pool_2x2(jax.nn.relu(x), "max")
        else:
            x = lax.conv_general_dilated(x, kernel, (1, 1), "SAME",
                                         dimension_numbers=("NCHW", "HWIO", "NCHW")) + bias[:, None, None]
            x = jax.nn.relu(x)
            n, c, h, w = x.shape
            x = x[:, :, : h // 2 * 2, : w // 2 * 2].reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))
    if layout == "NCHW":  # flatten in NHWC order so the dense kernel means the same thing
        x = x.transpose(0, 2, 3, 1)
    x = x.reshape(x.shape[0], -1)
    return x @ params["Dense_0"]["kernel"] + params["Dense_0"]["bias"]


def make_sgd_step(apply_fn):
    """Jitted ``(params, x, y) -> (params, loss)``: value_and_grad of mean CE + SGD."""

    def loss_fn(params, x, y):
        logits = apply_fn(params, x)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    @jax.jit
    def step(params, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        params = jax.tree_util.tree_map(lambda p, g: p - LEARNING_RATE * g, params, grads)
        return params, loss

    return step


def time_interleaved(variants, params, steps, repeats):
    """Median ms/step of each variant; ``variants`` maps name -> (step, x, y)."""
    state = {}
    for name, (step, x, y) in variants.items():  # compile + 3 warm-up steps, not timed
        p = params
        for _ in range(3):
            p, _ = step(p, x, y)
        state[name] = jax.block_until_ready(p)
    times = {name: [] for name in variants}
    for _ in range(repeats):
        for name, (step, x, y) in variants.items():
            p = state[name]
            start = time.perf_counter()
            for _ in range(steps):
                p, _ = step(p, x, y)
            jax.block_until_ready(p)
            times[name].append((time.perf_counter() - start) / steps * 1e3)
            state[name] = p
    return {name: float(np.median(t)) for name, t in times.items()}, times


def check_pool_equivalence(key):
    """The reshape pool must equal Flax's pooling exactly (even and odd sizes)."""
    for shape in [(4, 28, 28, 16), (4, 7, 7, 8), (4, 14, 14, 32)]:
        x = jax.random.normal(key, shape)
        np.testing.assert_array_equal(pool_2x2(x, "max"), nn.max_pool(x, (2, 2), (2, 2), "VALID"))
        np.testing.assert_allclose(pool_2x2(x, "avg"), nn.avg_pool(x, (2, 2), (2, 2), "VALID"),
                                   rtol=1e-6, atol=1e-6)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=30, help="steps per timed block")
    parser.add_argument("--repeats", type=int, default=7, help="timed blocks per variant (median reported)")
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args(argv)

    key = jax.random.PRNGKey(0)
    kx, ky, kp = jax.random.split(key, 3)
    check_pool_equivalence(kx)
    x = jax.random.normal(kx, (args.batch, 28, 28, 1), jnp.float32)
    y = jax.random.randint(ky, (args.batch,), 0, 10)
    params = init_params(Conv2(), kp, (28, 28, 1))  # every variant has this parameter tree
    x_nchw = x.transpose(0, 3, 1, 2)

    def flax_apply(module):
        return lambda p, xb: module.apply({"params": p}, xb)

    variants = {
        "reshape max (default)": (make_sgd_step(flax_apply(Conv2(pool="max"))), x, y),
        "reduce_window max": (make_sgd_step(flax_apply(_Conv2ReduceWindow("max"))), x, y),
        "reshape avg": (make_sgd_step(flax_apply(Conv2(pool="avg"))), x, y),
        "reduce_window avg": (make_sgd_step(flax_apply(_Conv2ReduceWindow("avg"))), x, y),
        "lax.conv NHWC, reshape max": (make_sgd_step(lambda p, xb: _apply_lax(p, xb, "NHWC")), x, y),
        "lax.conv NCHW, reshape max": (make_sgd_step(lambda p, xb: _apply_lax(p, xb, "NCHW")), x_nchw, y),
    }
    # all variants compute the same function of the same parameters (max-pool ones)
    ref = Conv2(pool="max").apply({"params": params}, x)
    for layout, xb in (("NHWC", x), ("NCHW", x_nchw)):
        np.testing.assert_allclose(_apply_lax(params, xb, layout), ref, rtol=1e-4, atol=1e-4)

    print(f"jax {jax.__version__}, backend {jax.default_backend()}, {os.cpu_count()} CPUs, "
          f"XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}")
    print(f"Conv-2, 28x28x1, batch {args.batch}: jitted value_and_grad + SGD; "
          f"median of {args.repeats} interleaved blocks x {args.steps} steps (warm-up excluded)")
    if hasattr(os, "getloadavg"):
        print(f"load average before: {os.getloadavg()[0]:.2f}")
    med, raw = time_interleaved(variants, params, args.steps, args.repeats)
    if hasattr(os, "getloadavg"):
        print(f"load average after:  {os.getloadavg()[0]:.2f}")
    print()
    width = max(len(n) for n in med)
    print(f"{'variant':<{width}}  ms/step   min    max   x default")
    base = med["reshape max (default)"]
    for name, m in med.items():
        print(f"{name:<{width}}  {m:7.2f} {min(raw[name]):6.2f} {max(raw[name]):6.2f}   {m / base:5.2f}")
    print()
    print("ratios (medians):")
    ratios = {
        "reduce_window max / reshape max": med["reduce_window max"] / med["reshape max (default)"],
        "reduce_window avg / reshape avg": med["reduce_window avg"] / med["reshape avg"],
        "reshape avg / reshape max": med["reshape avg"] / med["reshape max (default)"],
        "reduce_window avg / reduce_window max": med["reduce_window avg"] / med["reduce_window max"],
        "lax.conv NHWC / flax nn.Conv": med["lax.conv NHWC, reshape max"] / med["reshape max (default)"],
        "lax.conv NCHW / flax nn.Conv": med["lax.conv NCHW, reshape max"] / med["reshape max (default)"],
    }
    width = max(len(n) for n in ratios)
    for name, r in ratios.items():
        print(f"  {name:<{width}}  {r:5.2f}")
    return med, ratios


if __name__ == "__main__":
    main()
