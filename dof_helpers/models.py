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

The total number of parameters D equals the original code's counts exactly, which the
paper's text quotes rounded (see :data:`PAPER_PARAM_COUNTS`, checked in
``tests/test_models.py``).

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

from .conv_stages import (CONV_IMPLS, GEMM_MAX_CHANNELS, POOL_MODES, ConvReluPool, conv3x3_relu_pool,  # noqa: F401
                          patches_4x4, pool_2x2, wide_kernel)
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
    "MODEL_REGISTRY",
    "register_model",
    "build_model",
    "is_model",
    "resolve_model",
    "init_params",
    "count_params",
    "model_for",
]

MODEL_NAMES = ("conv2", "conv3", "resnet20", "mlp")

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

#: The full-space dimension D of the paper's original code (the paper's Figs. 3 and 6
#: captions quote it rounded; exact values in REFERENCE.md) and, for the MLP, of Li et al. (2018).
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


# ----------------------------------------------------------------------------- registry
def _conv2(num_classes, input_shape, pool="max", conv_impl="auto"):
    return Conv2(num_classes=num_classes, pool=check_choice("pool", pool, POOL_MODES),
                 conv_impl=check_choice("conv_impl", conv_impl, CONV_IMPLS))


def _conv3(num_classes, input_shape, pool="max", conv_impl="auto"):
    return Conv3(num_classes=num_classes, pool=check_choice("pool", pool, POOL_MODES),
                 conv_impl=check_choice("conv_impl", conv_impl, CONV_IMPLS))


def _resnet20(num_classes, input_shape, pool="max", conv_impl="auto"):
    check_choice("pool", pool, POOL_MODES)  # checked, no effect: global average pooling
    return ResNet20(num_classes=num_classes)


def _mlp(num_classes, input_shape, pool="max", conv_impl="auto", hidden=(200, 200)):
    check_choice("pool", pool, POOL_MODES)  # checked, no effect: no pooling
    return MLP(num_classes=num_classes, hidden=tuple(hidden))


#: named models: name -> builder(num_classes, input_shape, **options) returning a Flax module.
#: The book's four networks are entries like any other; :func:`register_model` adds yours.
MODEL_REGISTRY = {"conv2": _conv2, "conv3": _conv3, "resnet20": _resnet20, "mlp": _mlp}


def register_model(name: str, builder) -> None:
    """Make ``builder(num_classes, input_shape, **options) -> module`` available as ``name``.

    Registered names can be used wherever a model is expected (:func:`resolve_model`,
    the engine's sweeps); a name already taken raises ``ValueError``.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"name={name!r} is not valid; expected a non-empty string")
    if name in MODEL_REGISTRY:
        raise ValueError(f"name={name!r} is already registered; registered: {', '.join(sorted(MODEL_REGISTRY))}")
    if not callable(builder):
        raise ValueError(f"builder={builder!r} is not valid; expected a callable (num_classes, input_shape, **options)")
    MODEL_REGISTRY[name] = builder


def build_model(name: str, num_classes: int = 10, pool: str = "max", conv_impl: str = "auto",
                input_shape=None, **options) -> nn.Module:
    """Return the registered model ``name`` with ``num_classes`` outputs.

    For the book's networks (:data:`MODEL_NAMES`): ``pool`` ("max", the paper's text, or
    "avg", the original code) applies to Conv-2 and Conv-3; it is checked but has no
    effect on ResNet20 (global average pooling) or the MLP (no pooling). ``conv_impl``
    (:data:`CONV_IMPLS`) chooses how Conv-2 / Conv-3 stages are computed, not what.
    """
    check_choice("name", name, tuple(MODEL_REGISTRY))
    num_classes = check_int("num_classes", num_classes, min_value=2)
    return MODEL_REGISTRY[name](num_classes, input_shape, pool=pool, conv_impl=conv_impl, **options)


def is_model(obj) -> bool:
    """Whether ``obj`` can be trained by the engine: it has ``init`` and ``apply`` (a Flax
    module, or any object with the same two methods, e.g. :class:`linearised` models)."""
    return callable(getattr(obj, "init", None)) and callable(getattr(obj, "apply", None))


def resolve_model(model, data=None, **options):
    """``(module, name)``: a registered name built for ``data``, or a model object as it is.

    ``model`` is a name of :data:`MODEL_REGISTRY` (built with ``data.num_classes`` outputs
    for inputs of ``data.input_shape``, and ``options`` such as ``pool``) or any object
    with ``init`` and ``apply``; its name is then its class name.
    """
    if isinstance(model, str):
        check_choice("model", model, tuple(MODEL_REGISTRY))
        if data is None:
            raise ValueError(f"model={model!r} is a name; pass data= so its classes and input shape are known")
        return build_model(model, data.num_classes, input_shape=tuple(data.x_train.shape[1:]), **options), model
    if not is_model(model):
        raise ValueError(f"model={model!r} is not valid; expected a registered name "
                         f"({', '.join(sorted(MODEL_REGISTRY))}) or a flax.linen.Module (an object with init and apply)")
    if options:
        raise ValueError(f"options {sorted(options)} only apply to a registered model name, not to a module")
    return model, type(model).__name__


def _check_input_shape(input_shape) -> tuple:
    try:
        shape = tuple(input_shape)
    except TypeError:
        shape = None
    if (shape is None or len(shape) < 1
            or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1 for s in shape)):
        raise ValueError(f"input_shape={input_shape!r} is not valid; expected the shape of one example, a tuple "
                         "of positive integers, e.g. (28, 28, 1) for images or (20,) for vectors")
    return tuple(int(s) for s in shape)


def _init_variables(model: nn.Module, key: jax.Array, shape: tuple) -> dict:
    return model.init(key, jnp.zeros((1,) + shape, jnp.float32))


# Linen modules are hashable dataclasses, so equal models on equal shapes share one
# compiled initialiser (ResNet20's takes seconds to compile; running it is instant).
_jitted_init = jax.jit(_init_variables, static_argnums=(0, 2))


def init_params(model: nn.Module, key: jax.Array, input_shape) -> dict:
    """Initialise ``model`` for inputs of ``input_shape`` (one example: (H, W, C) for images,
    (n,) for vectors, any shape) from PRNG ``key``.

    Returns the ``"params"`` collection (a nested dict of arrays) drawn with Flax's
    default initialisers. The same key always gives the same parameters. The models
    have no other collection, so the result is everything ``model.apply`` needs:
    ``model.apply({"params": params}, x)``.
    """
    shape = _check_input_shape(input_shape)
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
    check_choice("name", name, tuple(MODEL_REGISTRY))
    check_choice("dataset", dataset, tuple(DATASET_SHAPES))
    shape = DATASET_SHAPES[dataset]
    return build_model(name, DATASET_CLASSES[dataset], pool, conv_impl, input_shape=shape), shape
