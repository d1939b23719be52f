"""Lottery subspaces (Section 4): the span of a full-space training trajectory.

Train in the full space (momentum SGD) for ``d_max * every`` steps from w_0, store the
displacement ``w_k - w_{k-every}`` every ``every`` steps as a column of a D x d_max
matrix, and take its (uncentred) singular value decomposition. The lottery subspace of
dimension d is spanned by the top-d left singular vectors, so the subspaces are nested
in d; training then starts at w_0 ("lottery subspace") or at the trajectory's point
w_t ("lottery subspace at step t", Table 1). Lottery *tickets* are not here.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .subspace import OrthonormalBasis, orthonormal_basis
from .train import full_space_steps
from .validation import check_int


class LotterySubspace(NamedTuple):
    """``Q`` (D, d_max) orthonormal columns in order of decreasing ``singular_values``;
    ``snapshots`` maps a step k (those asked for) to the parameters w_k on the trajectory."""
    Q: jax.Array
    singular_values: jax.Array
    snapshots: dict

    def basis(self, d: int) -> OrthonormalBasis:
        """The nested lottery basis of dimension d (top-d singular vectors); d <= d_max."""
        return orthonormal_basis(self.Q, d)


@jax.jit
def _flatten_leaves(leaves):
    return jnp.concatenate([jnp.ravel(x).astype(jnp.float32) for x in leaves])


def trajectory_displacements(model, params0, data, *, key: jax.Array, d_max: int, every: int = 5,
                             batch_size: int = 128, optimizer=None, snapshot_steps=(0,)):
    """``(M, snapshots)``: M is D x d_max, column j = w_{(j+1) every} - w_{j every}.

    Full-space training with ``optimizer`` (default momentum SGD, lr 5e-2, momentum 0.9)
    on the shuffled epochs drawn from ``key`` (the same order as :func:`train.burn_in`
    with that key, so the trajectory's w_t is the burn-in point w_t).
    """
    d_max = check_int("d_max", d_max, min_value=1)
    every = check_int("every", every, min_value=1)
    total = d_max * every
    want = {check_int("snapshot step", int(s), min_value=0, max_value=total) for s in snapshot_steps}
    snapshots = {0: jax.tree_util.tree_map(jnp.array, params0)} if 0 in want else {}
    prev = _flatten_leaves(jax.tree_util.tree_leaves(params0))
    cols = []
    steps = full_space_steps(model, params0, data, key=key, steps=total, batch_size=batch_size,
                             optimizer=optimizer)
    for step, z in enumerate(steps, start=1):
        if step in want:
            snapshots[step] = jax.tree_util.tree_map(jnp.array, z)
        if step % every == 0:
            cur = _flatten_leaves(jax.tree_util.tree_leaves(z))
            cols.append(cur - prev)
            prev = cur
    return jnp.stack(cols, axis=1), snapshots


def lottery_subspace(model, params0, data, *, key: jax.Array, d_max: int, every: int = 5,
                     batch_size: int = 128, optimizer=None, snapshot_steps=(0,)) -> LotterySubspace:
    """The lottery subspace of Section 4: top-d_max left singular vectors of the trajectory.

    ``snapshot_steps`` lists the steps t whose w_t to keep, to rewind to (0 and the
    burn-in times of the sweep).
    """
    M, snaps = trajectory_displacements(model, params0, data, key=key, d_max=d_max, every=every,
                                        batch_size=batch_size, optimizer=optimizer,
                                        snapshot_steps=snapshot_steps)
    U, s, _ = jnp.linalg.svd(M, full_matrices=False)
    return LotterySubspace(U[:, :d_max], s[:d_max], snaps)
