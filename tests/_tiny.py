"""A tiny conv net, a tiny MLP and a tiny learnable dataset shared by the engine's tests."""

import flax.linen as nn
import numpy as np

from dof_helpers import data


class Tiny(nn.Module):
    """One 3x3 conv with 4 channels, ReLU, a dense head: small D, real convolutions."""
    @nn.compact
    def __call__(self, x):
        x = nn.relu(nn.Conv(4, (3, 3))(x))
        return nn.Dense(10)(x.reshape((x.shape[0], -1)))


class TinyMLP(nn.Module):
    """A user's own model: a 2-layer MLP on vectors."""
    width: int = 16
    classes: int = 3

    @nn.compact
    def __call__(self, x):
        return nn.Dense(self.classes)(nn.relu(nn.Dense(self.width)(x)))


def tiny_data(n=256, n_test=100, seed=0):
    """6x6 noise images with a bright pixel placed by the label (a learnable signal)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n + n_test).astype(np.int32)
    x = rng.normal(size=(n + n_test, 6, 6, 1)).astype(np.float32)
    x[np.arange(n + n_test), y % 6, y // 6 % 6, 0] += 3.0  # learnable signal
    return data.from_arrays(x[:n], y[:n], x[n:], y[n:], name="tiny", num_classes=10)


def blobs(n=192, n_test=64, dim=20, classes=3, seed=0):
    """Vectors: Gaussian blobs around one mean per class (a user's data already in memory)."""
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(classes, dim)) * 2.0
    y = rng.integers(0, classes, n + n_test)
    x = means[y] + rng.normal(size=(n + n_test, dim))
    return x[:n], y[:n], x[n:], y[n:]
