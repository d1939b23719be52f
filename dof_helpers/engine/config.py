"""One configuration type for every sweep: :class:`SweepConfig`.

A sweep is a grid over (method, size, t, seed). The subspace methods take their sizes
from ``d_values``, the pruning methods from ``keep_fractions``; the methods "at step t"
take every t of ``t_values``, the others t = 0. Everything is validated on construction
and a bad value raises ``ValueError`` naming the parameter and what it accepts, before
any work starts.
"""
from __future__ import annotations

import dataclasses

from .. import optim
from ..subspace import BASIS_KINDS
from ..validation import check_choice, check_float, check_int
from .methods import AT_STEP_T, COMMON_FIELDS, METHOD_FIELDS, METHODS, PRUNING_METHODS, SUBSPACE_METHODS

SCOPES = ("global", "layerwise")
ORDERS = ("seed", "coarse_to_fine")
STRATEGIES = ("auto", "loop", "vmap")
LOSSES = ("cross_entropy", "squared_error")


@dataclasses.dataclass(frozen=True)
class SweepConfig:
    """A grid of runs and the settings they share (validated on construction).

    Grid: ``methods`` (:data:`methods.METHODS`), ``d_values`` (training dimensions of the
    subspace methods), ``keep_fractions`` (in (0, 1], of the pruning methods),
    ``t_values`` (steps t >= 1 of the methods at step t), ``seeds``.

    Training: every run trains ``epochs`` epochs with batches of ``batch_size`` on the
    ``loss`` ("cross_entropy", the paper's, or "squared_error"). Subspace runs use Adam
    (``adam_variant`` "standard" or "original", the original code's, learning rate
    ``lr``) on a ``basis`` ("dense", the paper's, or "fastfood") or on the lottery
    subspace. The full-space trajectory (burn-in points, the lottery trajectory of
    ``lottery_every`` x max(d_values) steps, or ``lottery_steps`` if given, and the
    ``pretrain_epochs`` of ticket pretraining) is momentum SGD (``full_lr``,
    ``momentum``), as is the full model; masked networks retrain with momentum SGD at
    ``ticket_lr``. Masks are ``scope`` "global" or "layerwise".

    Execution (not part of any run key): ``eval_chunk`` examples per evaluation chunk;
    ``strategy`` "loop" or "vmap" over runs ("auto": loop on CPU, vmap on accelerators),
    at most ``batch_runs`` runs per vmapped group.
    """
    methods: tuple = ("random_affine",)
    d_values: tuple = ()
    keep_fractions: tuple = ()
    t_values: tuple = ()
    seeds: tuple = (0,)
    epochs: int = 3
    batch_size: int = 128
    loss: str = "cross_entropy"
    basis: str = "dense"
    adam_variant: str = "standard"
    lr: float = 5e-2
    full_lr: float = 5e-2
    momentum: float = 0.9
    lottery_every: int = 5
    lottery_steps: int | None = None
    ticket_lr: float = 5e-2
    pretrain_epochs: int = 2
    scope: str = "global"
    eval_init: bool = False
    eval_chunk: int = 1000
    strategy: str = "auto"
    batch_runs: int = 64

    def __post_init__(self):
        for name in ("methods", "d_values", "keep_fractions", "t_values", "seeds"):
            value = getattr(self, name)
            object.__setattr__(self, name, tuple(value) if isinstance(value, (list, tuple)) else (value,))
        self._check_grid()
        self._check_settings()

    def _check_grid(self):
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        if not self.methods:
            raise ValueError("methods=() is not valid; give at least one of " + ", ".join(METHODS))
        for m in self.methods:
            check_choice("methods", m, METHODS)
        set_("d_values", tuple(check_int("d_values", d, min_value=1) for d in self.d_values))
        set_("keep_fractions", tuple(check_float("keep_fractions", f, min_value=0.0, max_value=1.0, open_min=True)
                                     for f in self.keep_fractions))
        set_("t_values", tuple(check_int("t_values", t, min_value=1) for t in self.t_values))
        set_("seeds", tuple(check_int("seeds", s, min_value=0) for s in self.seeds))
        for name in ("methods", "d_values", "keep_fractions", "t_values", "seeds"):
            values = getattr(self, name)
            repeated = sorted({v for v in values if values.count(v) > 1}, key=str)
            if repeated:
                raise ValueError(f"{name}={list(values)} is not valid; {repeated} repeated (each value once)")
        if not self.seeds:
            raise ValueError("seeds=() is not valid; give at least one seed")
        need = [("d_values", SUBSPACE_METHODS, "training dimensions d >= 1"),
                ("keep_fractions", PRUNING_METHODS, "keep fractions in (0, 1]"),
                ("t_values", AT_STEP_T, "steps t >= 1")]
        for name, users, what in need:
            used = [m for m in self.methods if m in users]
            if used and not getattr(self, name):
                raise ValueError(f"{name}=() is not valid with methods {used}; give {what}")

    def _check_settings(self):
        for name in ("epochs", "batch_size", "lottery_every", "pretrain_epochs", "eval_chunk", "batch_runs"):
            check_int(name, getattr(self, name), min_value=1)
        if self.lottery_steps is not None:
            check_int("lottery_steps", self.lottery_steps, min_value=1)
        for name in ("lr", "full_lr", "ticket_lr"):
            check_float(name, getattr(self, name), min_value=0.0, open_min=True)
        check_float("momentum", self.momentum, min_value=0.0, max_value=1.0, open_max=True)
        check_choice("loss", self.loss, LOSSES)
        check_choice("basis", self.basis, BASIS_KINDS)
        check_choice("adam_variant", self.adam_variant, optim.ADAM_VARIANTS)
        check_choice("scope", self.scope, SCOPES)
        check_choice("strategy", self.strategy, STRATEGIES)
        if not isinstance(self.eval_init, bool):
            raise ValueError(f"eval_init={self.eval_init!r} is not valid; expected True or False")

    # ------------------------------------------------------------------ derived
    @property
    def d_max(self) -> int:
        """The largest d of the grid: the number of lottery-trajectory columns."""
        return max(self.d_values) if self.d_values else 0

    def lottery_length(self) -> int:
        """Steps of the lottery trajectory: ``lottery_steps`` or ``lottery_every * d_max``."""
        return self.lottery_steps if self.lottery_steps is not None else self.lottery_every * self.d_max

    def pretrain_steps(self, n_train: int) -> int:
        """Steps of the ticket pretraining: ``pretrain_epochs * (n_train // batch_size)``."""
        return self.pretrain_epochs * (n_train // self.batch_size)

    def settings_of(self, method: str) -> dict:
        """The settings that determine a run of ``method`` (they enter its key)."""
        out = {k: getattr(self, k) for k in COMMON_FIELDS + METHOD_FIELDS[method]}
        if method in ("lottery_subspace", "lottery_subspace_t"):
            out["lottery_steps"] = self.lottery_length()
            out["lottery_d_max"] = self.d_max
        return out

    def sizes(self, method: str) -> tuple:
        """The sizes of ``method``'s runs: d values, keep fractions, or (None,) for the full model."""
        if method in SUBSPACE_METHODS:
            return self.d_values
        if method in PRUNING_METHODS:
            return self.keep_fractions
        return (None,)

    def ts(self, method: str) -> tuple:
        return self.t_values if method in AT_STEP_T else (0,)

    def n_runs(self) -> int:
        """How many runs the grid has."""
        return len(self.seeds) * sum(len(self.ts(m)) * len(self.sizes(m)) for m in self.methods)

    def replace(self, **changes) -> "SweepConfig":
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(self).items()}
