"""The four networks of the book: Conv-2, Conv-3, ResNet20v1 and the MLP 784-200-200-10.

Larsen, Fort, Becker & Ganguli (ICLR 2022), Section 3 and Appendix, train three
architectures (paper, Sec. 3: "Conv-2 ... a simple 2-layer CNN with 16 and 32 channels,
ReLU activations and maxpool after each convolution followed by a fully connected layer;
Conv-3 ... a 3-layer CNN with 32, 64, and 64 channels but otherwise identical setup to
Conv-2; and ResNet20v1 as described in He et al. (2016) with on-the-fly batch
normalization"). The book adds the fully connected 784-200-200-10 network of Li et al.
(2018) so that its intrinsic-dimension numbers can be compared with ours.

Every model is a :class:`flax.linen.Module` with exactly one variable collection,
``"params"``. ``model.apply({"params": params}, x)`` maps a batch of NHWC images
``x`` (float32) to logits and is a pure function: nothing is mutable, nothing is
random. A training engine can therefore treat every model alike, flatten ``params``
into one vector of length D and train in a subspace of it.

The total number of parameters D reproduces the paper's numbers exactly (see
:data:`PAPER_PARAM_COUNTS`, checked in ``tests/test_models.py``).

Architecture details (the facts are collected in ``REFERENCE.md``, "Models"):

- All convolutions are 3x3 with SAME padding (ResNet projections are 1x1).
- Pooling is 2x2 with stride 2 and VALID padding, so 28 -> 14 -> 7 -> 3 on MNIST and
  32 -> 16 -> 8 -> 4 on CIFAR. The paper's text says *max* pooling, which is the
  default here (``pool="max"``); the original public code used *average* pooling
  (``pool="avg"``). Both give the same D; the function they compute differs.
- Pooling is done by reshaping, not with ``lax.reduce_window``: on this 2-core CPU a
  whole Conv-2 SGD step with ``nn.max_pool`` took 2.4x as long as with the reshape
  (``benchmarks/conv_step.py``, "textbook" vs "reference"; for average pooling the two
  are within ~5%), and the reshape gives the same numbers (checked against
  ``nn.max_pool`` / ``nn.avg_pool`` in the tests).
- Each "conv - ReLU - pool" stage of Conv-2 / Conv-3 is one function,
  :func:`conv3x3_relu_pool`, with a hand-written gradient (same parameters, same
  function, same gradient as autodiff of the plain layers up to float rounding; tested).
  With max pooling, a layer with one input channel (the first layer on MNIST and
  Fashion-MNIST) is computed as one matrix product per pooling window ("pool-aware im2col",
  :func:`patches_4x4`, :func:`wide_kernel`); wider layers use XLA's convolution with a
  hand-written max-pool backward. With the training step's CPU compiler options
  (:data:`dof_helpers.train.CPU_COMPILER_OPTIONS`) a whole Conv-2 SGD step went from
  ~18 ms (plain layers, XLA defaults) to ~8 ms here (``benchmarks/conv_step.py``).
  ``conv_impl="reference"`` keeps the plain layers.
- ResNet20v1 (He et al. 2016, Sec. 4.2, the CIFAR variant): a 3x3 conv with 16
  channels, then 3 stages of 3 basic blocks with 16, 32, 64 channels (the first block of
  stages 2 and 3 has stride 2), global average pooling and a dense head. Convolutions
  carry no bias; each is followed by batch normalisation. When a block changes the
  shape, the shortcut is a 1x1 convolution with stride 2 followed by batch
  normalisation (He et al.'s "option B" projection), as in the paper's code.
- "On-the-fly" batch normalisation (paper, Appendix): the mean and variance of the
  current batch are always used, in training and in evaluation alike; no running
  averages are kept, so there is no ``"batch_stats"`` collection. The learnable scale
  and bias are parameters and count towards D; the batch statistics do not. A
  consequence worth remembering: the output for one image depends on the other
  images in its batch.

Parameters are initialised with Flax's defaults (LeCun-normal kernels, zero biases,
unit BN scales) from an explicit PRNG key (:func:`init_params`).
"""
from __future__ import annotations

import math
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .validation import check_choice, check_int

__all__ = [
    "MODEL_NAMES",
    "POOL_MODES",
    "DATASET_SHAPES",
    "DATASET_CLASSES",
    "PAPER_PARAM_COUNTS",
    "CONV_IMPLS",
    "pool_2x2",
    "patches_4x4",
    "wide_kernel",
    "conv3x3_relu_pool",
    "ConvReluPool",
    "OnTheFlyBatchNorm",
    "Conv2",
    "Conv3",
    "ResNet20",
    "MLP",
    "build_model",
    "init_params",
    "count_params",
    "model_for",
]

MODEL_NAMES = ("conv2", "conv3", "resnet20", "mlp")
POOL_MODES = ("max", "avg")
#: how a Conv-2 / Conv-3 stage is computed (:func:`conv3x3_relu_pool`)
CONV_IMPLS = ("auto", "gemm", "conv", "reference")
#: ``conv_impl="auto"`` uses the pool-aware matrix product up to this many input channels:
#: the grayscale first layer (1.25x faster whole Conv-2 step than "conv" here); with 3
#: channels (CIFAR) the two were within ~10% either way, so "conv" is kept there
GEMM_MAX_CHANNELS = 1

#: Image shape (height, width, channels) of each dataset the book uses. Kept here, not
#: imported from the data module, so that models can be built without loading data.
DATASET_SHAPES = {
    "mnist": (28, 28, 1),
    "fashion_mnist": (28, 28, 1),
    "cifar10": (32, 32, 3),
    "cifar100": (32, 32, 3),
    "svhn": (32, 32, 3),
}

#: Number of classes of each dataset.
DATASET_CLASSES = {
    "mnist": 10,
    "fashion_mnist": 10,
    "cifar10": 10,
    "cifar100": 100,
    "svhn": 10,
}

#: The full-space dimension D reported in the paper (Figs. 3 and 6 captions, rounded
#: there; exact values in REFERENCE.md) and, for the MLP, by Li et al. (2018).
#: Keyed by (model, dataset). Every entry is reproduced exactly by :func:`model_for`.
PAPER_PARAM_COUNTS = {
    ("conv2", "mnist"): 20_490,
    ("conv2", "fashion_mnist"): 20_490,
    ("conv2", "cifar10"): 25_578,
    ("conv2", "cifar100"): 209_988,
    ("conv3", "mnist"): 61_514,
    ("conv3", "fashion_mnist"): 61_514,
    ("conv3", "cifar10"): 66_570,
    ("conv3", "cifar100"): 158_820,
    ("resnet20", "mnist"): 272_186,
    ("resnet20", "fashion_mnist"): 272_186,
    ("resnet20", "cifar10"): 272_474,
    ("mlp", "mnist"): 199_210,
}


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


# ----------------------------------------------------------------------------- layers
class OnTheFlyBatchNorm(nn.Module):
    """Batch normalisation that always uses the statistics of the current batch.

    ``y = scale * (x - mean) / sqrt(var + epsilon) + bias`` with ``mean`` and ``var``
    taken over every axis but the last (batch and spatial positions), per channel.
    ``scale`` (init 1) and ``bias`` (init 0) are the only variables, both in
    ``"params"``; there are no running averages and no ``"batch_stats"`` collection
    (the paper's "on-the-fly batch normalization", Appendix). ``epsilon`` is Flax's
    default, 1e-5.
    """

    epsilon: float = 1e-5

    @nn.compact
    def __call__(self, x):
        features = x.shape[-1]
        scale = self.param("scale", nn.initializers.ones, (features,), jnp.float32)
        bias = self.param("bias", nn.initializers.zeros, (features,), jnp.float32)
        axes = tuple(range(x.ndim - 1))
        mean = jnp.mean(x, axis=axes)
        centred = x - mean
        var = jnp.mean(jnp.square(centred), axis=axes)
        return centred * (scale * jax.lax.rsqrt(var + self.epsilon)) + bias


class _ConvNet(nn.Module):
    """3x3 SAME conv + ReLU + 2x2/2 VALID pool per entry of ``channels``, then a dense head.

    ``conv_impl`` (one of :data:`CONV_IMPLS`) changes how a stage is computed, not what.
    """

    channels: Sequence[int]
    num_classes: int = 10
    pool: str = "max"
    conv_impl: str = "auto"

    @nn.compact
    def __call__(self, x):
        for i, features in enumerate(self.channels):
            # named as nn.Conv would be, so the parameter tree (and its order) is the same
            x = ConvReluPool(features, self.pool, self.conv_impl, name=f"Conv_{i}")(x)
        x = x.reshape((x.shape[0], -1))
        return nn.Dense(self.num_classes)(x)


class Conv2(_ConvNet):
    """Conv-2 of the paper: conv 16 - ReLU - pool - conv 32 - ReLU - pool - dense.

    D = 20,490 on 28x28x1, 25,578 on 32x32x3 with 10 classes, 209,988 with 100.
    ``pool="max"`` follows the paper's text, ``pool="avg"`` the original code.
    """

    channels: Sequence[int] = (16, 32)


class Conv3(_ConvNet):
    """Conv-3 of the paper: like Conv-2 with 32, 64, 64 channels and three pools.

    Spatial size 28 -> 14 -> 7 -> 3 (MNIST) or 32 -> 16 -> 8 -> 4 (CIFAR);
    D = 61,514 on 28x28x1, 66,570 on CIFAR-10, 158,820 on CIFAR-100.
    """

    channels: Sequence[int] = (32, 64, 64)


class _BasicBlock(nn.Module):
    """ResNet v1 basic block: conv-BN-ReLU-conv-BN, add the shortcut, ReLU."""

    features: int
    stride: int = 1

    @nn.compact
    def __call__(self, x):
        strides = (self.stride, self.stride)
        y = nn.Conv(self.features, (3, 3), strides, padding="SAME", use_bias=False)(x)
        y = nn.relu(OnTheFlyBatchNorm()(y))
        y = nn.Conv(self.features, (3, 3), padding="SAME", use_bias=False)(y)
        y = OnTheFlyBatchNorm()(y)
        if self.stride != 1 or x.shape[-1] != self.features:
            x = nn.Conv(self.features, (1, 1), strides, padding="SAME", use_bias=False)(x)
            x = OnTheFlyBatchNorm()(x)
        return nn.relu(x + y)


class ResNet20(nn.Module):
    """ResNet20v1 (He et al. 2016, CIFAR variant) with on-the-fly batch normalisation.

    conv 3x3/16 - BN - ReLU, then three stages of three basic blocks with 16, 32 and
    64 channels (stride 2 at the start of stages 2 and 3, with a 1x1 conv + BN
    projection shortcut there), global average pooling, dense head. Convolutions have
    no bias. D = 272,474 on CIFAR-10 and 272,186 on 28x28x1 inputs; the BN scales and
    biases count, the batch statistics are not parameters.
    """

    num_classes: int = 10
    stage_features: Sequence[int] = (16, 32, 64)
    blocks_per_stage: int = 3

    @nn.compact
    def __call__(self, x):
        x = nn.Conv(self.stage_features[0], (3, 3), padding="SAME", use_bias=False)(x)
        x = nn.relu(OnTheFlyBatchNorm()(x))
        for stage, features in enumerate(self.stage_features):
            for block in range(self.blocks_per_stage):
                stride = 2 if stage > 0 and block == 0 else 1
                x = _BasicBlock(features, stride)(x)
        x = jnp.mean(x, axis=(1, 2))
        return nn.Dense(self.num_classes)(x)


class MLP(nn.Module):
    """The fully connected network of Li et al. (2018): flatten - 200 - ReLU - 200 - ReLU - classes.

    D = 199,210 on MNIST (784-200-200-10).
    """

    num_classes: int = 10
    hidden: Sequence[int] = (200, 200)

    @nn.compact
    def __call__(self, x):
        x = x.reshape((x.shape[0], -1))
        for width in self.hidden:
            x = nn.relu(nn.Dense(width)(x))
        return nn.Dense(self.num_classes)(x)


# ----------------------------------------------------------------------------- API
def build_model(name: str, num_classes: int = 10, pool: str = "max", conv_impl: str = "auto") -> nn.Module:
    """Return the Flax module ``name`` (one of :data:`MODEL_NAMES`) with ``num_classes`` outputs.

    ``pool`` ("max", the paper's text, or "avg", the original code) applies to
    Conv-2 and Conv-3; it is checked but has no effect on ResNet20 (global average
    pooling) or the MLP (no pooling). ``conv_impl`` (:data:`CONV_IMPLS`) chooses how
    Conv-2 / Conv-3 stages are computed (:func:`conv3x3_relu_pool`), not what.
    """
    check_choice("name", name, MODEL_NAMES)
    num_classes = check_int("num_classes", num_classes, min_value=2)
    check_choice("pool", pool, POOL_MODES)
    check_choice("conv_impl", conv_impl, CONV_IMPLS)
    if name == "conv2":
        return Conv2(num_classes=num_classes, pool=pool, conv_impl=conv_impl)
    if name == "conv3":
        return Conv3(num_classes=num_classes, pool=pool, conv_impl=conv_impl)
    if name == "resnet20":
        return ResNet20(num_classes=num_classes)
    return MLP(num_classes=num_classes)


def _check_image_shape(image_shape) -> tuple:
    try:
        shape = tuple(image_shape)
    except TypeError:
        shape = None
    if (shape is None or len(shape) != 3
            or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1 for s in shape)):
        raise ValueError(f"image_shape={image_shape!r} is not valid; expected (height, width, channels) "
                         "of positive integers, e.g. (28, 28, 1) or (32, 32, 3)")
    return tuple(int(s) for s in shape)


def _init_variables(model: nn.Module, key: jax.Array, shape: tuple) -> dict:
    return model.init(key, jnp.zeros((1,) + shape, jnp.float32))


# Linen modules are hashable dataclasses, so equal models on equal shapes share one
# compiled initialiser (ResNet20's takes seconds to compile; running it is instant).
_jitted_init = jax.jit(_init_variables, static_argnums=(0, 2))


def init_params(model: nn.Module, key: jax.Array, image_shape) -> dict:
    """Initialise ``model`` for images of ``image_shape`` (H, W, C) from PRNG ``key``.

    Returns the ``"params"`` collection (a nested dict of arrays) drawn with Flax's
    default initialisers. The same key always gives the same parameters. The models
    have no other collection, so the result is everything ``model.apply`` needs:
    ``model.apply({"params": params}, x)``.
    """
    shape = _check_image_shape(image_shape)
    try:
        hash(model)
    except TypeError:  # e.g. a module with a list field: jit it without the shared cache
        variables = jax.jit(model.init)(key, jnp.zeros((1,) + shape, jnp.float32))
    else:
        variables = _jitted_init(model, key, shape)
    extra = set(variables) - {"params"}
    if extra:  # a model with state would break the "pure apply" contract
        raise RuntimeError(f"model has unexpected variable collections {sorted(extra)}")
    return variables["params"]


def count_params(params) -> int:
    """Total number of scalar parameters D in a parameter pytree.

    Works on arrays and on shape-only leaves (``jax.ShapeDtypeStruct``), so D can be
    read without initialising: ``count_params(jax.eval_shape(model.init, key, x))``.
    """
    return int(sum(math.prod(np.shape(leaf)) if not hasattr(leaf, "shape") else math.prod(leaf.shape)
                   for leaf in jax.tree_util.tree_leaves(params)))


def model_for(name: str, dataset: str, pool: str = "max", conv_impl: str = "auto"):
    """Return ``(model, image_shape)`` for model ``name`` on ``dataset``.

    The number of classes comes from the dataset (100 for CIFAR-100, else 10) and the
    image shape is (28, 28, 1) for MNIST / Fashion-MNIST, (32, 32, 3) for CIFAR-10,
    CIFAR-100 and SVHN.
    """
    check_choice("name", name, MODEL_NAMES)
    check_choice("dataset", dataset, tuple(DATASET_SHAPES))
    return build_model(name, DATASET_CLASSES[dataset], pool, conv_impl), DATASET_SHAPES[dataset]
