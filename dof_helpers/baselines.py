"""Full-space baselines: train all D parameters, the line every subspace figure compares to.

The paper trains the full model for the same number of epochs as the subspace runs
(Table 2) and keeps the better of two learning rates, 5e-2 and 1e-2 (Appendix A.4). The
runs are the engine's ``full`` method (momentum SGD, momentum 0.9, from the seed's w_0 --
the same w_0 as that seed's subspace runs): one engine sweep per learning rate, one
tidy record per (learning rate, seed) with ``full_lr`` the learning rate, appended as soon
as it finishes; a rerun skips finished runs.
"""
from __future__ import annotations

import math

import numpy as np

from .validation import check_float


def run_baselines(model, data, records_path, *, learning_rates=(5e-2, 1e-2), seeds=(0,), epochs: int = 3,
                  batch_size: int = 128, momentum: float = 0.9, progress: bool = False, **model_options) -> list[dict]:
    """Train the full model at every learning rate and seed not yet in ``records_path``.

    ``model`` is a registered name or a module, ``data`` a :class:`data.Dataset`; the
    runs record per-epoch metrics from step 0 (``eval_init``). Returns the records of these runs.
    """
    from .engine import SweepConfig, run_sweep
    lrs = tuple(learning_rates) if isinstance(learning_rates, (list, tuple)) else (learning_rates,)
    if not lrs:
        raise ValueError("learning_rates=() is not valid; give at least one learning rate > 0")
    out = []
    for lr in lrs:
        config = SweepConfig(methods=("full",), seeds=tuple(seeds), epochs=epochs, batch_size=batch_size,
                             full_lr=check_float("learning_rates", lr, min_value=0.0, open_min=True),
                             momentum=momentum, eval_init=True)
        out += run_sweep(config, model, data, records_path, progress=progress, **model_options)
    return out


def best_learning_rate(records: list[dict], metric: str = "best_train_acc") -> float:
    """The learning rate whose runs have the highest mean ``metric`` (Appendix A.4's choice)."""
    by_lr: dict[float, list[float]] = {}
    for r in records:
        value = r.get(metric)
        by_lr.setdefault(r["full_lr"], []).append(value if value is not None and math.isfinite(value) else -np.inf)
    if not by_lr:
        raise ValueError("records is empty: run the baselines first")
    return max(by_lr, key=lambda lr: float(np.mean(by_lr[lr])))


def baseline_accuracy(records: list[dict], metric: str = "best_train_acc") -> float:
    """The full model's value of ``metric``: its mean over seeds at the best learning rate
    (chosen by the same ``metric``)."""
    lr = best_learning_rate(records, metric)
    return float(np.mean([r[metric] for r in records if r["full_lr"] == lr]))
