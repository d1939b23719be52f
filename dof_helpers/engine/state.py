"""One seed's state, shared by every run of that seed: w_0, the full-space trajectory
(burn-in points w_t, the lottery subspace, the pretrained weights) and the masks.

The trajectory is *one* momentum-SGD walk from w_0 on the batches of the seed's
trajectory key (:func:`keys.seed_keys`): the burn-in point w_t of Section 2, the
rewind point w_t of lottery subspaces and tickets, the displacements whose SVD spans
the lottery subspaces (Section 4) and the end of ticket pretraining are all points of
the same walk, computed once and only as far as a pending run needs.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from .. import optim
from ..pruning import magnitude_mask, n_kept, random_mask
from ..subspace import ParamLayout, make_basis, orthonormal_basis
from ..train import full_space_steps, init_model_params
from .keys import run_rng, seed_keys
from .methods import LOTTERY_SUBSPACES, TICKETS


class SeedState:
    """w_0 and the trajectory of one seed, for the runs ``runs`` (their needs fix which
    trajectory points are kept; nothing else is stored)."""

    def __init__(self, context, config, seed: int, runs):
        self.context, self.config, self.seed = context, config, seed
        k_init, self.k_trajectory = seed_keys(seed)
        self.w0 = init_model_params(context.model, k_init, context.data.input_shape)
        self.layout = ParamLayout.of(self.w0)
        n = context.data.x_train.shape[0]
        self.T = config.pretrain_steps(n)
        self.wanted = {int(r["t"]) for r in runs if r["t"]}
        if any(r["method"] in TICKETS for r in runs):
            self.wanted.add(self.T)
        self.lottery_columns = 0
        if any(r["method"] in LOTTERY_SUBSPACES for r in runs):
            self.lottery_columns = config.lottery_length() // config.lottery_every
        self._points = {0: self.w0}
        self._walk = None
        self._cols, self._prev, self._step = [], None, 0
        self._lottery = None
        self._masks = {}

    # ------------------------------------------------------------------ trajectory
    def _advance_to(self, step: int) -> None:
        every = self.config.lottery_every
        if self._walk is None:
            c = self.config
            self._walk = full_space_steps(self.context.model, self.w0, self.context.data, key=self.k_trajectory,
                                          steps=max(self.wanted | {self.lottery_columns * every}),
                                          batch_size=c.batch_size, optimizer=optim.momentum_sgd(c.full_lr, c.momentum),
                                          loss=c.loss)
            self._prev = self.layout.flatten(self.w0)
        while self._step < step:
            z = next(self._walk)
            self._step += 1
            if self._step in self.wanted:
                self._points[self._step] = jax.tree_util.tree_map(jnp.array, z)
            if self._step % every == 0 and len(self._cols) < self.lottery_columns:
                cur = self.layout.flatten(z)
                self._cols.append(cur - self._prev)
                self._prev = cur

    def point(self, t: int):
        """w_t, the trajectory's point after t steps (w_0 for t = 0)."""
        if t not in self._points:
            if t not in self.wanted:
                raise ValueError(f"t={t} was not among the steps this seed's runs need ({sorted(self.wanted)})")
            self._advance_to(t)
        return self._points[t]

    def lottery(self):
        """``(Q, singular values)``: the left singular vectors of the trajectory's
        displacement matrix (D x columns, one column every ``lottery_every`` steps)."""
        if self._lottery is None:
            self._advance_to(self.lottery_columns * self.config.lottery_every)
            U, s, _ = jnp.linalg.svd(jnp.stack(self._cols, axis=1), full_matrices=False)
            self._lottery = (U, s)
            self._cols = []
        return self._lottery

    # ------------------------------------------------------------------ per run
    def centre_and_basis(self, run):
        """``(w_t, basis)`` of a subspace run."""
        method, d, t = run["method"], run["d"], run["t"]
        if method in LOTTERY_SUBSPACES:
            Q, _ = self.lottery()
            if d > Q.shape[1]:
                raise ValueError(f"d={d} is beyond the lottery trajectory's {Q.shape[1]} directions "
                                 f"(lottery_steps // lottery_every)")
            return self.point(t), orthonormal_basis(Q, d)
        return self.point(t), random_basis(self.config, self.seed, method, d, t, self.layout.D)

    def mask(self, run):
        """The 0/1 mask of a pruning run (magnitudes of the pretrained w_T, or random)."""
        method, f = run["method"], run["keep_fraction"]
        if method in TICKETS:
            if ("magnitude", f) not in self._masks:
                self._masks[("magnitude", f)] = magnitude_mask(self.point(self.T), f, self.config.scope)
            return self._masks[("magnitude", f)]
        k_mask, _ = run_rng(self.seed, method, n_kept(self.layout.D, f), run["t"])
        return random_mask(k_mask, self.w0, f, self.config.scope)


def random_basis(config, seed: int, method: str, d: int, t: int, D: int):
    """The random basis A (``config.basis``) of run (method, d, t) of ``seed``: the one the
    engine trains in, reproducible outside a sweep (e.g. to solve the same subspace exactly)."""
    k_basis, _ = run_rng(seed, method, d, t)
    return make_basis(config.basis, k_basis, D, d)
