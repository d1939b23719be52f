"""Masks: the axis-aligned subspaces of Table 1's top row (lottery tickets, random pruning).

A pruning *mask* keeps some of the D parameters and fixes the others at exactly 0; the
kept coordinates span an axis-aligned subspace of dimension d = number of kept
parameters, the counterpart of the general subspaces of :mod:`subspace`. The engine's
pruning methods (:mod:`engine.methods`) build masks here:

- :func:`magnitude_mask` -- one-shot magnitude pruning of pretrained weights (lottery
  tickets, Frankle & Carbin 2019; rewound to w_t: Frankle et al. 2020);
- :func:`random_mask` -- a uniformly random mask with the same exact counts.

The masked network is retrained with :func:`masked_optimizer`, which multiplies
gradients and updates by the mask, so pruned parameters that start at 0 stay 0.

Magnitude pruning is ``global`` (one threshold over all D parameters, biases included,
as the original code did) or ``layerwise`` (the same fraction kept in every parameter
array). Global pruning can remove an entire layer at high compression: *layer collapse*
(:func:`collapsed_layers`), after which no signal reaches the output.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .subspace import ParamLayout
from .validation import check_choice, check_float

#: the keep fractions of the original lottery-ticket experiments (fraction of D kept)
KEEP_FRACTIONS = (1, .5, .25, .1, .05, .025, .01, .005, .0025, .001, 5e-4, 2.5e-4, 1e-4)
SCOPES = ("global", "layerwise")


# ----------------------------------------------------------------------------- validation
def check_keep_fraction(fraction) -> float:
    """``fraction`` as a float in (0, 1]; otherwise ``ValueError`` naming ``keep_fraction``."""
    return check_float("keep_fraction", fraction, min_value=0.0, max_value=1.0, open_min=True)


def n_kept(size: int, fraction: float) -> int:
    """How many of ``size`` parameters a keep fraction keeps: ``round(fraction * size)``, at least 1."""
    fraction = check_keep_fraction(fraction)
    return max(1, min(int(size), int(round(fraction * size))))


# ----------------------------------------------------------------------------- masks
def _leaf_names(params) -> list[str]:
    paths = jax.tree_util.tree_flatten_with_path(params)[0]
    return ["/".join(str(getattr(k, "key", getattr(k, "idx", k))) for k in path) for path, _ in paths]


def _top_k_mask(scores: jax.Array, k: int) -> jax.Array:
    """0/1 float32 vector keeping the k largest ``scores`` (ties: lower index first)."""
    order = jnp.argsort(-scores, stable=True)
    return jnp.zeros(scores.shape, jnp.float32).at[order[:k]].set(1.0)


def magnitude_mask(params, fraction: float, scope: str = "global"):
    """Mask (same pytree as ``params``, float32 0/1) keeping the largest-|w| parameters.

    ``scope="global"`` keeps exactly ``n_kept(D, fraction)`` parameters over all arrays
    (weights, biases, and any normalisation scales alike); ``"layerwise"`` keeps
    ``n_kept(size, fraction)`` in every parameter array.
    """
    fraction = check_keep_fraction(fraction)
    check_choice("scope", scope, SCOPES)
    layout = ParamLayout.of(params)
    if scope == "global":
        flat = jnp.abs(layout.flatten(params))
        return layout.unravel(_top_k_mask(flat, n_kept(layout.D, fraction)))
    return jax.tree_util.tree_map(
        lambda w: _top_k_mask(jnp.abs(jnp.ravel(w)).astype(jnp.float32), n_kept(w.size, fraction)).reshape(w.shape),
        params)


def random_mask(key: jax.Array, params, fraction: float, scope: str = "global"):
    """Mask keeping a uniformly random set of parameters (exact counts as :func:`magnitude_mask`)."""
    fraction = check_keep_fraction(fraction)
    check_choice("scope", scope, SCOPES)
    layout = ParamLayout.of(params)
    if scope == "global":
        return layout.unravel(_top_k_mask(jax.random.uniform(key, (layout.D,)), n_kept(layout.D, fraction)))
    leaves, treedef = jax.tree_util.tree_flatten(params)
    out = [_top_k_mask(jax.random.uniform(jax.random.fold_in(key, i), (w.size,)), n_kept(w.size, fraction))
           .reshape(w.shape) for i, w in enumerate(leaves)]
    return jax.tree_util.tree_unflatten(treedef, out)


def mask_count(mask) -> int:
    """Number of kept parameters (the training dimension d of a pruned network)."""
    return int(sum(int(jnp.sum(m != 0)) for m in jax.tree_util.tree_leaves(mask)))


def apply_mask(params, mask):
    """``params * mask`` leaf by leaf (pruned parameters become exactly 0)."""
    return jax.tree_util.tree_map(lambda w, m: (w * m).astype(w.dtype), params, mask)


def collapsed_layers(mask) -> list[str]:
    """Names of the layers whose kernel is entirely pruned (layer collapse), e.g. ``["Conv_1"]``.

    A layer is a parameter array named ``kernel`` (convolutions and dense layers); its
    name is the path above it. With a collapsed layer no input reaches the output (only
    the biases after it remain).
    """
    out = []
    for name, m in zip(_leaf_names(mask), jax.tree_util.tree_leaves(mask)):
        if name.split("/")[-1] == "kernel" and not bool(jnp.any(m != 0)):
            out.append(name.rsplit("/", 1)[0] if "/" in name else name)
    return out


def layer_keep_fractions(mask) -> dict:
    """Fraction of parameters kept in every parameter array of ``mask`` (name -> fraction)."""
    leaves = jax.tree_util.tree_leaves(mask)
    return {name: float(np.mean(np.asarray(m) != 0)) for name, m in zip(_leaf_names(mask), leaves)}


# ----------------------------------------------------------------------------- masked optimiser
class _MaskedOptimizer:
    """An optax-style optimiser that multiplies gradients and updates by a 0/1 mask.

    The mask lives in the optimiser state, so the jitted training step (which takes the
    optimiser as a static argument) is compiled once per base optimiser, not once per mask:
    two masked optimisers with the same base compare equal.
    """
    __slots__ = ("base", "_mask")

    def __init__(self, base, mask):
        self.base, self._mask = base, mask

    def init(self, params):
        mask = jax.tree_util.tree_map(lambda m, p: jnp.array(m, dtype=jnp.result_type(p)), self._mask, params)
        return (self.base.init(params), mask)

    def update(self, updates, state, params=None):
        base_state, mask = state
        updates = jax.tree_util.tree_map(lambda g, m: g * m, updates, mask)
        updates, base_state = self.base.update(updates, base_state, params)
        updates = jax.tree_util.tree_map(lambda u, m: u * m, updates, mask)
        return updates, (base_state, mask)

    def __hash__(self):
        return hash((_MaskedOptimizer, self.base))

    def __eq__(self, other):
        return isinstance(other, _MaskedOptimizer) and other.base == self.base

    def __repr__(self):
        return f"masked_optimizer({self.base!r})"


def masked_optimizer(base: optax.GradientTransformation, mask) -> _MaskedOptimizer:
    """``base`` restricted to the kept parameters: pruned parameters that start at 0 stay 0."""
    return _MaskedOptimizer(base, mask)
