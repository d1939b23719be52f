"""Conv-2 / Conv-3 stages, "3x3 SAME conv - ReLU - 2x2 pool", computed fast on CPU.

Each stage is one function, :func:`conv3x3_relu_pool`, with a hand-written gradient
(same parameters, same function, same gradient as autodiff of the plain Flax layers up
to float rounding; tested in ``tests/test_models.py``). With max pooling, a layer with
one input channel is one matrix product per pooling window (:func:`patches_4x4`,
:func:`wide_kernel`); wider layers use XLA's convolution with a hand-written max-pool
backward. Pooling is done by reshaping (:func:`pool_2x2`), not ``lax.reduce_window``.
:class:`ConvReluPool` wraps a stage as a Flax module with ``nn.Conv``'s parameters.
The measurements behind these choices are in :mod:`dof_helpers.models`' docstring and
``benchmarks/conv_step.py``.
"""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

from .validation import check_choice

POOL_MODES = ("max", "avg")
#: how a Conv-2 / Conv-3 stage is computed (:func:`conv3x3_relu_pool`)
CONV_IMPLS = ("auto", "gemm", "conv", "reference")
#: ``conv_impl="auto"`` uses the pool-aware matrix product up to this many input channels:
#: the grayscale first layer (1.25x faster whole Conv-2 step than "conv" here); with 3
#: channels (CIFAR) the two were within ~10% either way, so "conv" is kept there
GEMM_MAX_CHANNELS = 1


# ----------------------------------------------------------------------------- pooling
def pool_2x2(x: jnp.ndarray, mode: str = "max") -> jnp.ndarray:
    """2x2 pooling with stride 2 and VALID padding on an NHWC batch, by reshaping.

    An odd height or width loses its last row / column first (what VALID padding does,
    e.g. 7 -> 3). The window is then exposed as two extra axes,
    ``(N, H/2, 2, W/2, 2, C)``, and reduced with ``max`` or ``mean``. The result equals
    ``nn.max_pool(x, (2, 2), (2, 2), "VALID")`` (``nn.avg_pool`` for ``"avg"``), but
    its gradient is much cheaper on CPU than that of ``lax.reduce_window``.
    """
    check_choice("pool", mode, POOL_MODES)
    n, h, w, c = x.shape
    h2, w2 = h // 2, w // 2
    x = x[:, : 2 * h2, : 2 * w2, :].reshape(n, h2, 2, w2, 2, c)
    if mode == "max":
        return jnp.max(x, axis=(2, 4))
    return jnp.mean(x, axis=(2, 4))


# ----------------------------------------------------------------------------- conv stages
_DIMS = ("NHWC", "HWIO", "NHWC")


def _conv_same(x, kernel):
    """3x3 convolution with SAME padding, stride 1, NHWC / HWIO (no bias)."""
    return lax.conv_general_dilated(x, kernel, (1, 1), "SAME", dimension_numbers=_DIMS)


def patches_4x4(x: jnp.ndarray) -> jnp.ndarray:
    """The 4x4 input window behind each 2x2 pooling window of a 3x3 SAME convolution.

    For an NHWC batch ``x`` (N, H, W, C) returns (N, H//2, W//2, 16 C): entry
    ``[n, i, j, (r, s, c)]`` is ``x_pad[n, 2i + r, 2j + s, c]`` with ``x_pad`` zero-padded
    by one pixel and r, s in 0..3. A 2x2 pooling window at (i, j) covers the conv outputs
    at rows 2i, 2i+1 and columns 2j, 2j+1, whose 3x3 receptive fields together are
    exactly this 4x4 window. Conv outputs that VALID pooling drops (the last row/column
    of an odd size) are never computed.
    """
    n, h, w, c = x.shape
    h2, w2 = h // 2, w // 2
    xp = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    return jnp.concatenate([xp[:, r:r + 2 * h2:2, s:s + 2 * w2:2, :] for r in range(4) for s in range(4)],
                           axis=-1)


def wide_kernel(kernel: jnp.ndarray) -> jnp.ndarray:
    """A 3x3 kernel (3, 3, C, O) placed at the four offsets of a 2x2 window: (16 C, 4 O).

    Column block k = (di, dj) (k = 2 di + dj) holds the kernel shifted by (di, dj)
    inside a 4x4 window, zeros elsewhere, so that
    ``patches_4x4(x) @ wide_kernel(k)`` gives, for every pooling window, the four
    convolution outputs it pools over (k-major, then channel).
    """
    c, o = kernel.shape[2], kernel.shape[3]
    blocks = [jnp.pad(kernel, ((di, 1 - di), (dj, 1 - dj), (0, 0), (0, 0))).reshape(16 * c, o)
              for di in range(2) for dj in range(2)]
    return jnp.stack(blocks, axis=1).reshape(16 * c, 4 * o)


def _window_max_grad(z4, zmax, g):
    """d(max over axis 1)/d z4 applied to g, with ties sharing equally (as JAX autodiff)."""
    hit = z4 == zmax[:, None, :]
    count = jnp.sum(hit, axis=1, dtype=z4.dtype)
    return jnp.where(hit, (g / count)[:, None, :], 0.0)


@jax.custom_vjp
def _gemm_relu_maxpool(x, kernel, bias):
    return _gemm_relu_maxpool_fwd(x, kernel, bias)[0]


def _gemm_relu_maxpool_fwd(x, kernel, bias):
    # relu and max commute, and the bias is the same over a window: relu(max(z) + b)
    n, _, _, c = x.shape
    o = kernel.shape[-1]
    p = patches_4x4(x)
    h2, w2 = p.shape[1], p.shape[2]
    z4 = (p.reshape(-1, 16 * c) @ wide_kernel(kernel)).reshape(-1, 4, o)
    zmax = jnp.max(z4, axis=1)
    out = jax.nn.relu(zmax + bias).reshape(n, h2, w2, o)
    return out, (x, p, z4, zmax, kernel, bias)


def _gemm_relu_maxpool_bwd(res, g_out):
    x, p, z4, zmax, kernel, bias = res
    c, o = kernel.shape[2], kernel.shape[3]
    g = jnp.where(zmax + bias > 0, g_out.reshape(-1, o), 0.0)
    dz4 = _window_max_grad(z4, zmax, g).reshape(-1, 4 * o)
    d_wide = p.reshape(-1, 16 * c).T @ dz4
    d_kernel, = jax.vjp(wide_kernel, kernel)[1](d_wide)
    d_p = (dz4 @ wide_kernel(kernel).T).reshape(p.shape)
    d_x, = jax.vjp(patches_4x4, x)[1](d_p)   # dead code (removed by XLA) for a first layer
    return d_x, d_kernel, jnp.sum(g, axis=0)


_gemm_relu_maxpool.defvjp(_gemm_relu_maxpool_fwd, _gemm_relu_maxpool_bwd)


def _windows(z):
    """(N, H, W, O) -> (N, H//2, 2, W//2, 2, O), dropping an odd last row / column (VALID)."""
    n, h, w, o = z.shape
    h2, w2 = h // 2, w // 2
    return z[:, :2 * h2, :2 * w2, :].reshape(n, h2, 2, w2, 2, o)


@jax.custom_vjp
def _conv_relu_maxpool(x, kernel, bias):
    return _conv_relu_maxpool_fwd(x, kernel, bias)[0]


def _conv_relu_maxpool_fwd(x, kernel, bias):
    z = _conv_same(x, kernel)
    zmax = jnp.max(_windows(z), axis=(2, 4))
    return jax.nn.relu(zmax + bias), (x, z, zmax, kernel, bias)


def _conv_relu_maxpool_bwd(res, g_out):
    x, z, zmax, kernel, bias = res
    n, h, w, o = z.shape
    h2, w2 = h // 2, w // 2
    g = jnp.where(zmax + bias > 0, g_out, 0.0)
    # the window axes (2, 4) moved next to each other: (N*H2*W2, 4, O) after a transpose
    # would cost a copy, so the tie count is computed on the 6-d view directly
    hit = _windows(z) == zmax[:, :, None, :, None, :]
    count = jnp.sum(hit, axis=(2, 4), dtype=z.dtype)
    dz = jnp.where(hit, (g / count)[:, :, None, :, None, :], 0.0).reshape(n, 2 * h2, 2 * w2, o)
    if (2 * h2, 2 * w2) != (h, w):
        dz = jnp.pad(dz, ((0, 0), (0, h - 2 * h2), (0, w - 2 * w2), (0, 0)))
    d_x, d_kernel = jax.vjp(_conv_same, x, kernel)[1](dz)
    return d_x, d_kernel, jnp.sum(g, axis=(0, 1, 2))


_conv_relu_maxpool.defvjp(_conv_relu_maxpool_fwd, _conv_relu_maxpool_bwd)


def conv3x3_relu_pool(x: jnp.ndarray, kernel: jnp.ndarray, bias: jnp.ndarray, pool: str = "max",
                      impl: str = "auto") -> jnp.ndarray:
    """One Conv-2 / Conv-3 stage: ``pool_2x2(relu(conv3x3_SAME(x, kernel) + bias))``.

    ``x`` is NHWC, ``kernel`` (3, 3, C, O) and ``bias`` (O,) are the parameters of a Flax
    ``nn.Conv(O, (3, 3), padding="SAME")``. ``impl`` chooses how it is computed, never
    what: ``"reference"`` is the plain composition (autodiff gradient); ``"gemm"`` uses
    one matrix product per pooling window, ``patches_4x4(x) @ wide_kernel(kernel)``
    (1.8x the multiply-adds, but no convolution and a cheap backward: fastest when C
    is small); ``"conv"`` uses XLA's convolution; both have a hand-written backward for
    max pooling (ties in a window share the gradient equally, as with autodiff).
    ``"auto"`` picks, for max pooling, ``"gemm"`` for C <= :data:`GEMM_MAX_CHANNELS` and
    ``"conv"`` above; for average pooling it picks ``"reference"``, whose autodiff
    backward is already cheap (``"gemm"`` with average pooling was no faster here).
    """
    check_choice("pool", pool, POOL_MODES)
    check_choice("conv_impl", impl, CONV_IMPLS)
    if impl == "auto":
        impl = "reference" if pool == "avg" else "gemm" if x.shape[-1] <= GEMM_MAX_CHANNELS else "conv"
    if pool == "max" and impl == "gemm":
        return _gemm_relu_maxpool(x, kernel, bias)
    if pool == "max" and impl == "conv":
        return _conv_relu_maxpool(x, kernel, bias)
    if pool == "avg" and impl == "gemm":
        n, _, _, c = x.shape
        o = kernel.shape[-1]
        p = patches_4x4(x)
        z4 = (p.reshape(-1, 16 * c) @ wide_kernel(kernel)).reshape(-1, 4, o) + bias[None, None, :]
        return jnp.mean(jax.nn.relu(z4), axis=1).reshape(n, p.shape[1], p.shape[2], o)
    return pool_2x2(jax.nn.relu(_conv_same(x, kernel) + bias), pool)


class ConvReluPool(nn.Module):
    """3x3 SAME conv (with bias) - ReLU - 2x2 pool, by :func:`conv3x3_relu_pool`.

    Its parameters are those of ``nn.Conv(features, (3, 3), padding="SAME")`` (``kernel``
    (3, 3, C, features) LeCun-normal, ``bias`` zeros), so a model built from it has the
    same parameter tree and, from the same key, the same initial values.
    """

    features: int
    pool: str = "max"
    impl: str = "auto"

    @nn.compact
    def __call__(self, x):
        kernel = self.param("kernel", nn.initializers.lecun_normal(), (3, 3, x.shape[-1], self.features),
                            jnp.float32)
        bias = self.param("bias", nn.initializers.zeros_init(), (self.features,), jnp.float32)
        return conv3x3_relu_pool(x, kernel, bias, self.pool, self.impl)
