"""The methods of the engine: the eight cells of the paper's Table 1, and the full model.

Each method says how a run's starting point and trainable directions are built from
its seed's state (:mod:`engine.state`):

======================  ========================================================
``random_affine``       w_0 + A theta, A a random basis (Section 2, eq. 2.2)
``burn_in``             w_t + A theta, w_t after t full-space steps (Section 2)
``lottery_subspace``    w_0 + Q_d theta, Q_d the top-d singular vectors of the
                        full-space trajectory's displacements (Section 4)
``lottery_subspace_t``  the same subspace centred at the trajectory's w_t
``lottery_ticket``      magnitude mask of the pretrained weights, rewound to w_0
``lottery_ticket_t``    the same mask rewound to w_t
``random_pruning``      a uniformly random mask applied to w_0
``random_pruning_t``    a uniformly random mask applied to w_t
``full``                all D parameters trained from w_0 (the full model)
======================  ========================================================

The *size* of a run is its training dimension d for the subspace methods and its keep
fraction (d = kept parameters) for the pruning methods.
"""
from __future__ import annotations

SUBSPACE_METHODS = ("random_affine", "burn_in", "lottery_subspace", "lottery_subspace_t")
PRUNING_METHODS = ("lottery_ticket", "lottery_ticket_t", "random_pruning", "random_pruning_t")
METHODS = SUBSPACE_METHODS + PRUNING_METHODS + ("full",)
#: the eight cells of Table 1 in the table's order (rows: axis-aligned, general subspaces)
TABLE1_METHODS = ("random_pruning", "random_pruning_t", "lottery_ticket", "lottery_ticket_t",
                  "random_affine", "burn_in", "lottery_subspace", "lottery_subspace_t")
#: methods centred at a point w_t with t >= 1 on the full-space trajectory
AT_STEP_T = ("burn_in", "lottery_subspace_t", "lottery_ticket_t", "random_pruning_t")
#: methods whose subspaces are nested in d (their P_s uses a running best over d, Appendix A.2)
NESTED_METHODS = ("lottery_subspace", "lottery_subspace_t")
LOTTERY_SUBSPACES = NESTED_METHODS
TICKETS = ("lottery_ticket", "lottery_ticket_t")


def family(method: str) -> str:
    """``"subspace"``, ``"pruning"`` or ``"full"``."""
    if method in SUBSPACE_METHODS:
        return "subspace"
    if method in PRUNING_METHODS:
        return "pruning"
    if method == "full":
        return "full"
    raise ValueError(f"method={method!r} is not valid; accepted values: " + ", ".join(map(repr, METHODS)))


#: settings (fields of :class:`engine.config.SweepConfig`) that determine a run of each
#: method beyond the common ones; only these enter its run key, so e.g. a random-affine
#: record is reused whatever the pruning settings of the sweep that asks for it
COMMON_FIELDS = ("epochs", "batch_size", "loss", "eval_init")
METHOD_FIELDS = {
    "random_affine": ("basis", "adam_variant", "lr"),
    "burn_in": ("basis", "adam_variant", "lr", "full_lr", "momentum"),
    "lottery_subspace": ("adam_variant", "lr", "full_lr", "momentum", "lottery_every"),
    "lottery_subspace_t": ("adam_variant", "lr", "full_lr", "momentum", "lottery_every"),
    "lottery_ticket": ("scope", "pretrain_epochs", "ticket_lr", "full_lr", "momentum"),
    "lottery_ticket_t": ("scope", "pretrain_epochs", "ticket_lr", "full_lr", "momentum"),
    "random_pruning": ("scope", "ticket_lr", "momentum"),
    "random_pruning_t": ("scope", "ticket_lr", "full_lr", "momentum"),
    "full": ("full_lr", "momentum"),
}


def curve_label(method: str, t: int = 0) -> str:
    """The legend text of a (method, t) curve, e.g. "burn-in, t = 8" (:mod:`plotting`)."""
    from ..plotting import method_label
    return method_label(method, int(t))
