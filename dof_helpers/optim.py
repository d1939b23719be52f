"""Optimisers used by the book, as optax ``GradientTransformation`` objects.

- :func:`adam` -- Adam with the paper's subspace hyperparameters (Appendix A.4: learning
  rate 5e-2, beta1 0.9, beta2 0.999, epsilon 1e-7), in two variants:

  * ``"standard"``: Kingma & Ba's Adam with bias correction by ``1 - beta**k`` (optax);
  * ``"original"``: the variant of the paper's public code, which divides the moments
    by ``1 - beta1`` and ``1 - beta2`` instead of ``1 - beta**k``. Its first step moves
    every coordinate by exactly ``lr * sign(g)`` (up to epsilon) and its late steps are
    about ``sqrt(1 - beta2) / (1 - beta1) ~ 0.32`` times those of standard Adam.

- :func:`momentum_sgd` -- heavy-ball SGD (learning rate 5e-2, momentum 0.9), used for
  full-space training, burn-in and the lottery-subspace trajectory.

The constructors are memoised: the same arguments return the same object, so jitted
training steps that take an optimiser as a static argument are compiled once per
configuration, not once per run.
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from .validation import check_choice, check_float

ADAM_VARIANTS = ("standard", "original")
OPTIMIZER_NAMES = ("adam", "momentum_sgd")


class OriginalAdamState(NamedTuple):
    """Moments of :func:`adam` with ``variant="original"``."""
    mu: optax.Updates
    nu: optax.Updates


def _scale_by_original_adam(b1: float, b2: float, eps: float) -> optax.GradientTransformation:
    """m <- b1 m + (1-b1) g; v <- b2 v + (1-b2) g^2; step = (m/(1-b1)) / (sqrt(v/(1-b2)) + eps)."""

    def init_fn(params):
        zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
        return OriginalAdamState(mu=zeros, nu=jax.tree_util.tree_map(jnp.zeros_like, params))

    def update_fn(updates, state, params=None):
        del params
        mu = jax.tree_util.tree_map(lambda m, g: b1 * m + (1.0 - b1) * g, state.mu, updates)
        nu = jax.tree_util.tree_map(lambda v, g: b2 * v + (1.0 - b2) * g * g, state.nu, updates)
        out = jax.tree_util.tree_map(
            lambda m, v: (m / (1.0 - b1)) / (jnp.sqrt(v / (1.0 - b2)) + eps), mu, nu)
        return out, OriginalAdamState(mu=mu, nu=nu)

    return optax.GradientTransformation(init_fn, update_fn)


@functools.lru_cache(maxsize=None)
def adam(lr: float = 5e-2, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-7,
         variant: str = "standard") -> optax.GradientTransformation:
    """Adam with the paper's defaults (Appendix A.4).

    ``variant="standard"`` is optax's Adam (bias correction ``1 - beta**k`` at step k);
    ``variant="original"`` reproduces the paper's code, whose "bias correction" divides by
    ``1 - beta1`` and ``1 - beta2`` at every step (see the module docstring).
    """
    lr = check_float("lr", lr, min_value=0.0, open_min=True)
    b1 = check_float("b1", b1, min_value=0.0, max_value=1.0, open_max=True)
    b2 = check_float("b2", b2, min_value=0.0, max_value=1.0, open_max=True)
    eps = check_float("eps", eps, min_value=0.0)
    check_choice("variant", variant, ADAM_VARIANTS)
    if variant == "standard":
        return optax.adam(lr, b1=b1, b2=b2, eps=eps)
    return optax.chain(_scale_by_original_adam(b1, b2, eps), optax.scale(-lr))


@functools.lru_cache(maxsize=None)
def momentum_sgd(lr: float = 5e-2, momentum: float = 0.9) -> optax.GradientTransformation:
    """Heavy-ball SGD: v <- momentum * v + g; w <- w - lr * v (full-space training, burn-in)."""
    lr = check_float("lr", lr, min_value=0.0, open_min=True)
    momentum = check_float("momentum", momentum, min_value=0.0, max_value=1.0, open_max=True)
    return optax.sgd(lr, momentum=momentum if momentum > 0 else None)


def make_optimizer(name: str, **kwargs) -> optax.GradientTransformation:
    """``make_optimizer("adam", variant="original")`` or ``make_optimizer("momentum_sgd", lr=1e-2)``."""
    check_choice("optimizer", name, OPTIMIZER_NAMES)
    return adam(**kwargs) if name == "adam" else momentum_sgd(**kwargs)
