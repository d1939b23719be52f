"""Executors: where the runs of a sweep are trained.

An executor has one method, ``run(context, config, runs)``, an iterator of records
(any order) for the given pending runs; :func:`sweep.run_sweep` writes them as they come,
in its own process only. Runs of one seed share that seed's state
(:class:`state.SeedState`: w_0, the trajectory, masks), which an executor computes
once per place it trains that seed.

- :class:`InProcess` (the default): this process. ``strategy="loop"`` trains one run
  after another (fastest on CPU); ``"vmap"`` trains the subspace runs of one (method, d,
  t) over several seeds together, sharded over ``jax.devices()`` (accelerators);
  ``"auto"`` picks by backend (:func:`batched.pick_strategy`).
"""
from __future__ import annotations

from ..validation import check_choice
from .config import STRATEGIES
from .methods import SUBSPACE_METHODS
from .runs import train_group_vmapped, train_one
from .state import SeedState


class InProcess:
    """Train the runs in this process (see the module docstring)."""

    def __init__(self, strategy: str = "auto", batch_runs: int | None = None):
        self.strategy = check_choice("strategy", strategy, STRATEGIES)
        self.batch_runs = batch_runs

    def run(self, context, config, runs):
        from ..batched import pick_strategy
        strategy = pick_strategy(config.strategy if self.strategy == "auto" else self.strategy)
        by_seed: dict = {}
        for r in runs:
            by_seed.setdefault(r["seed"], []).append(r)
        states: dict = {}
        left = {s: len(rs) for s, rs in by_seed.items()}
        size = (self.batch_runs or config.batch_runs) if strategy == "vmap" else 1
        for group in groups_of(runs, size):
            for r in group:
                if r["seed"] not in states:
                    states[r["seed"]] = SeedState(context, config, r["seed"], by_seed[r["seed"]])
            if len(group) == 1:
                records = [train_one(context, config, states[group[0]["seed"]], group[0])]
            else:
                records = train_group_vmapped(context, config, states, group)
            yield from records
            for r in group:  # free a seed's state once none of its runs is left
                left[r["seed"]] -= 1
                if left[r["seed"]] == 0:
                    del states[r["seed"]]


def groups_of(runs, size: int) -> list[list[dict]]:
    """Runs that can train together, at most ``size`` each: subspace runs sharing
    (method, d, t); every other run alone. With ``size`` 1 the order is the runs' order."""
    if size == 1:
        return [[r] for r in runs]
    buckets: dict = {}
    out = []
    for r in runs:
        if r["method"] in SUBSPACE_METHODS:
            buckets.setdefault((r["method"], r["d"], r["t"]), []).append(r)
        else:
            out.append([r])
    for rs in buckets.values():
        out.extend(rs[i:i + size] for i in range(0, len(rs), size))
    return out


def resolve_executor(executor, config):
    """``executor`` itself, or :class:`InProcess` with the config's strategy for None."""
    if executor is None:
        return InProcess(config.strategy, config.batch_runs)
    if not callable(getattr(executor, "run", None)):
        raise ValueError(f"executor={executor!r} is not valid; expected None or an object with "
                         "run(context, config, runs), e.g. engine.InProcess() or engine.Dask(workers=2)")
    return executor
