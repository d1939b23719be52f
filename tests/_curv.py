"""Tiny models and data shared by the linearisation / curvature tests (small D, fast)."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from dof_helpers import models


class FusedTiny(nn.Module):
    """One fused conv-ReLU-maxpool stage (a jax.custom_vjp layer) and a dense head: D = 410."""
    @nn.compact
    def __call__(self, x):
        x = models.ConvReluPool(4)(x)
        return nn.Dense(10)(x.reshape((x.shape[0], -1)))


def mlp():
    """MLP 16-16-10 on 4x4x1 images: D = 442, forward mode works."""
    return models.MLP(num_classes=10, hidden=(16,)), (4, 4, 1)


def fused():
    return FusedTiny(), (6, 6, 1)


def data(shape, n=48, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n).astype(np.int32)
    x = rng.normal(size=(n,) + shape).astype(np.float32)
    x.reshape(n, -1)[np.arange(n), y % x[0].size] += 2.0
    return x, y


def params(model, shape, seed=0, scale=1.0):
    p = models.init_params(model, jax.random.key(seed), shape)
    return jax.tree_util.tree_map(lambda a: a * scale + 0.05 * jnp.ones_like(a), p)
