"""Full-space baselines: train all D parameters, the line every subspace figure compares to.

The paper trains the full model for the same number of epochs as the subspace runs
(Table 2) and keeps the better of two learning rates, 5e-2 and 1e-2 (Appendix A.4). We
use momentum SGD (momentum 0.9), the optimiser the original code used for its full-space
trajectories. Each (learning rate, seed) run is one tidy record (``method="full"``,
``d = D``, ``t = 0``) appended as soon as it finishes; rerunning skips finished runs.
"""
from __future__ import annotations

import dataclasses
import math

import jax
import numpy as np

from .records import append_record, pending_runs, records_of
from .validation import check_choice, check_float, check_int


@dataclasses.dataclass(frozen=True)
class BaselineConfig:
    """Settings of a full-space baseline (validated on construction)."""
    dataset: str = "fashion_mnist"
    model: str = "conv2"
    pool: str = "max"
    n_train: int | None = None
    epochs: int = 3
    learning_rates: tuple = (5e-2, 1e-2)
    seeds: tuple = (0,)
    batch_size: int = 128
    momentum: float = 0.9

    def __post_init__(self):
        from .data import DATASET_NAMES
        from .models import MODEL_NAMES, POOL_MODES

        check_choice("dataset", self.dataset, DATASET_NAMES)
        check_choice("model", self.model, MODEL_NAMES)
        check_choice("pool", self.pool, POOL_MODES)
        if self.n_train is not None:
            check_int("n_train", self.n_train, min_value=1)
        check_int("epochs", self.epochs, min_value=1)
        check_int("batch_size", self.batch_size, min_value=1)
        check_float("momentum", self.momentum, min_value=0.0, max_value=1.0, open_max=True)
        lrs = tuple(self.learning_rates) if not isinstance(self.learning_rates, (int, float)) else (self.learning_rates,)
        if not lrs:
            raise ValueError("learning_rates=() is not valid; give at least one learning rate > 0")
        object.__setattr__(self, "learning_rates",
                           tuple(check_float("learning_rates", lr, min_value=0.0, open_min=True) for lr in lrs))
        seeds = (self.seeds,) if isinstance(self.seeds, int) else tuple(self.seeds)
        if not seeds:
            raise ValueError("seeds=() is not valid; give at least one seed")
        object.__setattr__(self, "seeds", tuple(check_int("seed", s, min_value=0) for s in seeds))

    def runs(self) -> list[dict]:
        """Identifying fields of every (learning rate, seed) run, with a stable ``key``."""
        from .sweep import run_key

        out = []
        for seed in self.seeds:
            for lr in self.learning_rates:
                run = dict(dataset=self.dataset, model=self.model, pool=self.pool, method="full", t=0,
                           seed=seed, epochs=self.epochs, batch_size=self.batch_size, n_train=self.n_train,
                           lr=lr, momentum=self.momentum, basis="none", eval_init=True)
                run["key"] = run_key(run)
                out.append(run)
        return out


def run_baselines(config: BaselineConfig, records_path, *, data=None, progress: bool = False) -> list[dict]:
    """Train every run of ``config`` not yet in ``records_path``; return this config's records.

    The seed's key gives w_0 and the batch order (``train.run_keys``), so runs with the
    same seed and different learning rates start from the same w_0 and see the same
    batches. ``data`` may pass a dataset already in memory.
    """
    from . import optim, train
    from .data import load_dataset
    from .models import model_for

    model, _ = model_for(config.model, config.dataset, config.pool)
    if data is None:
        data = load_dataset(config.dataset, n_train=config.n_train)
    for run in pending_runs(config.runs(), records_path):
        opt = optim.momentum_sgd(lr=run["lr"], momentum=config.momentum)
        result = train.train_full(model, data, key=jax.random.PRNGKey(run["seed"]), epochs=config.epochs,
                                  batch_size=config.batch_size, optimizer=opt, eval_init=True,
                                  progress=progress)
        record = dict(run, **result.metrics)
        record["d"] = record["D"]
        append_record(records_path, record)
    return records_of(config.runs(), records_path)


def best_learning_rate(records: list[dict], metric: str = "best_train_acc") -> float:
    """The learning rate whose runs have the highest mean ``metric`` (Appendix A.4's choice)."""
    by_lr: dict[float, list[float]] = {}
    for r in records:
        value = r.get(metric)
        by_lr.setdefault(r["lr"], []).append(value if value is not None and math.isfinite(value) else -np.inf)
    if not by_lr:
        raise ValueError("records is empty: run the baselines first")
    return max(by_lr, key=lambda lr: float(np.mean(by_lr[lr])))


def baseline_accuracy(records: list[dict], metric: str = "best_train_acc") -> float:
    """The full model's accuracy: the mean ``metric`` over seeds at the best learning rate."""
    lr = best_learning_rate(records, metric)
    return float(np.mean([r[metric] for r in records if r["lr"] == lr]))
