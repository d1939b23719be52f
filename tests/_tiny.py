"""A tiny conv net and a tiny learnable dataset shared by the engine's tests."""
from types import SimpleNamespace

import flax.linen as nn
import numpy as np


class Tiny(nn.Module):
    """One 3x3 conv with 4 channels, ReLU, a dense head: small D, real convolutions."""
    @nn.compact
    def __call__(self, x):
        x = nn.relu(nn.Conv(4, (3, 3))(x))
        return nn.Dense(10)(x.reshape((x.shape[0], -1)))


def tiny_data(n=256, n_test=100, seed=0):
    """6x6 noise images with a bright pixel placed by the label (a learnable signal)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n + n_test).astype(np.int32)
    x = rng.normal(size=(n + n_test, 6, 6, 1)).astype(np.float32)
    x[np.arange(n + n_test), y % 6, y // 6 % 6, 0] += 3.0  # learnable signal
    return SimpleNamespace(x_train=x[:n], y_train=y[:n], x_test=x[n:], y_test=y[n:], num_classes=10)
