"""Resumable sweeps over (method, d, t, seed), one tidy record per run.

A :class:`SweepConfig` names a grid of runs; :func:`run_sweep` trains every run that
is not yet in the records file and appends its record as soon as it finishes
(:func:`records.append_record`, fsynced), so an interrupted sweep loses at most the run
in flight and a rerun skips what is done. Every run's randomness is derived from its own
coordinates with ``jax.random.fold_in``, so the records do not depend on which runs
were done before (same configuration, same records, whatever the interruptions).

Methods (Sections 2 and 4, Table 1):

- ``random_affine``       w_0 + A theta (t = 0);
- ``burn_in``             w_t + A theta, w_t after t momentum-SGD steps (one burn-in per
                          (seed, t), shared by every d);
- ``lottery_subspace``    w_0 + Q_d theta, Q_d the top-d singular vectors of the
                          trajectory's displacements (nested in d; one trajectory per seed);
- ``lottery_subspace_t``  the same subspace centred at the trajectory's w_t.

Randomness of seed s: ``root = PRNGKey(s)``; w_0 from ``fold_in(root, 0)``; burn-in and
lottery trajectory batches from ``fold_in(root, 1)`` (so the trajectory passes through
the burn-in points); run (method, d, t) from
``fold_in(fold_in(fold_in(fold_in(root, 2), method), d), t)`` split into the basis key
and the batch-order key.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import time
import traceback
from typing import Callable, Sequence

import jax
import jax.numpy as jnp

from . import optim
from .records import RunWriter, pending_runs, records_of
from .subspace import BASIS_KINDS, ParamLayout, make_basis
from .train import (STRATEGIES, TrainResult, burn_in, init_model_params, pick_strategy, train_subspace,
                    train_subspace_batched)
from .validation import check_choice, check_float, check_int

METHODS = ("random_affine", "burn_in", "lottery_subspace", "lottery_subspace_t")
_METHOD_IDS = {m: i for i, m in enumerate(METHODS)}
#: fields of a record that identify a run (its key is a hash of them)
RUN_FIELDS = ("dataset", "model", "pool", "method", "d", "t", "seed", "epochs", "batch_size", "n_train",
              "basis", "adam_variant", "lr", "burn_in_lr", "momentum", "lottery_every", "eval_init")


@dataclasses.dataclass(frozen=True)
class SweepConfig:
    """A grid of subspace-training runs (validated on construction).

    ``t_values`` are the burn-in times of ``burn_in`` and the rewind steps of
    ``lottery_subspace_t`` (each t >= 1); ``random_affine`` and ``lottery_subspace`` use
    t = 0. ``basis`` is the random basis of the affine methods ("dense", the paper's, or
    "fastfood"); lottery subspaces use their own orthonormal basis. The subspace optimiser
    is Adam (``adam_variant`` "standard" or "original", learning rate ``lr``); burn-in and
    the lottery trajectory use momentum SGD (``burn_in_lr``, ``momentum``).
    ``batch_runs`` caps how many runs train at once with ``strategy="vmap"``.
    """
    dataset: str
    model: str
    d_values: tuple
    seeds: tuple = (0,)
    methods: tuple = ("random_affine",)
    t_values: tuple = ()
    epochs: int = 3
    pool: str = "max"
    batch_size: int = 128
    n_train: int | None = None
    basis: str = "dense"
    adam_variant: str = "standard"
    lr: float = 5e-2
    burn_in_lr: float = 5e-2
    momentum: float = 0.9
    lottery_every: int = 5
    eval_init: bool = False
    eval_chunk: int = 1000
    strategy: str = "auto"
    batch_runs: int = 64

    def __post_init__(self):
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        for name in ("d_values", "seeds", "methods", "t_values"):
            value = getattr(self, name)
            if isinstance(value, (str, int)):
                value = (value,)
            set_(name, tuple(value))
        if not self.methods:
            raise ValueError("methods=() is not valid; give at least one of " + ", ".join(METHODS))
        for m in self.methods:
            check_choice("method", m, METHODS)
        if not self.d_values:
            raise ValueError("d_values=() is not valid; give at least one training dimension d >= 1")
        set_("d_values", tuple(check_int("d", d, min_value=1) for d in self.d_values))
        set_("seeds", tuple(check_int("seed", s, min_value=0) for s in self.seeds))
        set_("t_values", tuple(check_int("t", t, min_value=1) for t in self.t_values))
        if not self.seeds:
            raise ValueError("seeds=() is not valid; give at least one seed")
        needs_t = [m for m in self.methods if m in ("burn_in", "lottery_subspace_t")]
        if needs_t and not self.t_values:
            raise ValueError(f"methods {needs_t} need t_values (burn-in / rewind steps t >= 1)")
        check_int("epochs", self.epochs, min_value=1)
        check_int("batch_size", self.batch_size, min_value=1)
        if self.n_train is not None:
            check_int("n_train", self.n_train, min_value=1)
        check_choice("basis", self.basis, BASIS_KINDS)
        check_choice("adam_variant", self.adam_variant, optim.ADAM_VARIANTS)
        check_float("lr", self.lr, min_value=0.0, open_min=True)
        check_float("burn_in_lr", self.burn_in_lr, min_value=0.0, open_min=True)
        check_float("momentum", self.momentum, min_value=0.0, max_value=1.0, open_max=True)
        check_int("lottery_every", self.lottery_every, min_value=1)
        if "lottery_subspace_t" in self.methods:
            steps = max(self.d_values) * self.lottery_every
            late = [t for t in self.t_values if t > steps]
            if late:
                raise ValueError(f"t_values {late} are beyond the lottery trajectory (max(d_values) * lottery_every "
                                 f"= {steps} steps); lottery_subspace_t rewinds to a step on it")
        check_int("eval_chunk", self.eval_chunk, min_value=1)
        check_choice("strategy", self.strategy, STRATEGIES)
        check_int("batch_runs", self.batch_runs, min_value=1)
        from .data import DATASET_NAMES
        from .models import MODEL_NAMES, POOL_MODES
        check_choice("dataset", self.dataset, DATASET_NAMES)
        check_choice("model", self.model, MODEL_NAMES)
        check_choice("pool", self.pool, POOL_MODES)

    # ------------------------------------------------------------------ runs
    def runs(self) -> list[dict]:
        """Every run's identifying fields, in execution order (seed, method, t, d)."""
        out = []
        common = {k: getattr(self, k) for k in RUN_FIELDS if k not in ("method", "d", "t", "seed")}
        for seed in self.seeds:
            for method in self.methods:
                ts = self.t_values if method in ("burn_in", "lottery_subspace_t") else (0,)
                for t in ts:
                    for d in self.d_values:
                        run = dict(common, method=method, d=d, t=t, seed=seed)
                        if method.startswith("lottery"):
                            run["basis"] = "lottery"
                            # the trajectory (and so the basis) depends on its length
                            run["lottery_d_max"] = max(self.d_values)
                        run["key"] = run_key(run)
                        out.append(run)
        return out


#: identifying fields that only some runs have; they enter the key only when present, so
#: adding one never changes the keys (and resumability) of runs without it
OPTIONAL_RUN_FIELDS = ("lottery_d_max",)


def run_key(run: dict) -> str:
    """A stable hash of a run's identifying fields (:data:`RUN_FIELDS`, plus any of
    :data:`OPTIONAL_RUN_FIELDS` the run has, e.g. the lottery trajectory's length)."""
    fields = {k: run.get(k) for k in RUN_FIELDS}
    fields.update({k: run[k] for k in OPTIONAL_RUN_FIELDS if run.get(k) is not None})
    payload = json.dumps(fields, sort_keys=True, default=str)
    return hashlib.sha1(payload.encode()).hexdigest()[:16]


def run_rng(seed: int, method: str, d: int, t: int):
    """``(basis_key, data_key)`` of run (method, d, t) of seed ``seed`` (see module docstring)."""
    root = jax.random.PRNGKey(seed)
    k = jax.random.fold_in(jax.random.fold_in(jax.random.fold_in(jax.random.fold_in(root, 2),
                                                                   _METHOD_IDS[method]), d), t)
    k_basis, k_data = jax.random.split(k)
    return k_basis, k_data


def seed_keys(seed: int):
    """``(init_key, burn_in_key)`` of seed ``seed``: w_0, and the burn-in / trajectory batches."""
    root = jax.random.PRNGKey(seed)
    return jax.random.fold_in(root, 0), jax.random.fold_in(root, 1)


class _SeedState:
    """Per-seed cache: w_0, burn-in points w_t (shared across d) and the lottery subspace."""

    def __init__(self, config, model, data, seed):
        self.config, self.model, self.data, self.seed = config, model, data, seed
        k_init, self.k_burn = seed_keys(seed)
        self.w0 = init_model_params(model, k_init, data.x_train.shape[1:])
        self.layout = ParamLayout.of(self.w0)
        self._burn, self._lottery = {0: self.w0}, None

    def w_t(self, t):
        if t not in self._burn:
            c = self.config
            self._burn[t] = burn_in(self.model, self.w0, self.data, key=self.k_burn, t=t,
                                    batch_size=c.batch_size, optimizer=optim.momentum_sgd(c.burn_in_lr, c.momentum))
        return self._burn[t]

    def lottery(self):
        if self._lottery is None:
            from .lottery import lottery_subspace
            c = self.config
            self._lottery = lottery_subspace(
                self.model, self.w0, self.data, key=self.k_burn, d_max=max(c.d_values), every=c.lottery_every,
                batch_size=c.batch_size, optimizer=optim.momentum_sgd(c.burn_in_lr, c.momentum),
                snapshot_steps=(0,) + tuple(t for t in c.t_values if t <= max(c.d_values) * c.lottery_every))
        return self._lottery

    def centre_and_basis(self, run):
        method, d, t = run["method"], run["d"], run["t"]
        if method in ("random_affine", "burn_in"):
            k_basis, _ = run_rng(self.seed, method, d, t)
            return self.w_t(t), make_basis(self.config.basis, k_basis, self.layout.D, d)
        lot = self.lottery()
        if t not in lot.snapshots:
            raise ValueError(f"t={t} is beyond the lottery trajectory ({max(self.config.d_values)} x "
                             f"{self.config.lottery_every} steps)")
        return lot.snapshots[t], lot.basis(d)


def _record(run, result_metrics, D, wall_time):
    rec = {k: v for k, v in run.items()}
    rec.update(result_metrics)
    rec["D"] = D
    rec["wall_time"] = wall_time
    return rec


def run_sweep(config: SweepConfig, records_path, *, progress: bool = True, max_runs: int | None = None,
              model=None, data=None, callback: Callable[[dict], None] | None = None) -> list[dict]:
    """Train every run of ``config`` not yet in ``records_path``; return this config's records.

    Each finished run is appended at once (crash-safe); rerunning after an interruption
    skips the runs already recorded and gives the same records as an uninterrupted sweep
    (``wall_time`` aside). A diverged run (NaN / inf loss) is recorded with
    ``status="diverged"``; a run that cannot be built (e.g. a dense basis too large for
    memory) with ``status="error"`` and the message; the sweep goes on in both cases.
    ``max_runs`` stops after that many new runs; ``callback(record)`` is called after each
    append. ``model`` / ``data`` override the model and dataset built from the config's
    names (tests, or a dataset already in memory).
    """
    if max_runs is not None:
        check_int("max_runs", max_runs, min_value=0)
    if model is None:
        from .models import model_for
        model, _ = model_for(config.model, config.dataset, config.pool)
    if data is None:
        from .data import load_dataset
        data = load_dataset(config.dataset, n_train=config.n_train)
    runs = config.runs()
    pending = pending_runs(runs, records_path)
    strategy = pick_strategy(config.strategy)
    states: dict = {}  # seed -> _SeedState (w_0, burn-in points, lottery subspace)
    with RunWriter(records_path, total=len(runs), done=len(runs) - len(pending), desc="sweep", progress=progress,
                   max_runs=max_runs, callback=callback,
                   describe=lambda r: f"{r['method']} d={r['d']} t={r['t']} seed={r['seed']} {r['status']}") as out:
        for group in _groups(pending, config.batch_runs if strategy == "vmap" else 1):
            if out.room == 0:
                break
            group = group[:out.room]
            if strategy == "loop":  # seed-major order: keep only the current seed's cache
                for seed in [k for k in states if k != group[0]["seed"]]:
                    del states[seed]
            for rec in _train_group(config, model, data, group, states):
                out.write(rec)
    return records_of(runs, records_path)


def _groups(pending, size):
    """Consecutive runs that share (method, d, t) and can train together, at most ``size`` each.

    With size 1 (the loop strategy) the execution order is the config's order.
    """
    if size == 1:
        return [[r] for r in pending]
    buckets: dict = {}
    for r in pending:
        buckets.setdefault((r["method"], r["d"], r["t"]), []).append(r)
    out = []
    for rs in buckets.values():
        out.extend(rs[i:i + size] for i in range(0, len(rs), size))
    return out


def _seed_state(states, config, model, data, seed):
    if seed not in states:
        states[seed] = _SeedState(config, model, data, seed)
    return states[seed]


def _train_group(config, model, data, group, states):
    """Train a group of runs (one at a time, or together with vmap); returns their records.

    ``states`` caches each seed's w_0, burn-in points and lottery subspace (filled here).
    """
    c = config
    opt = optim.adam(c.lr, variant=c.adam_variant)
    if len(group) == 1:
        run = group[0]
        seed_state = _seed_state(states, c, model, data, run["seed"])
        t0 = time.perf_counter()
        try:
            centre, basis = seed_state.centre_and_basis(run)
            _, k_data = run_rng(run["seed"], run["method"], run["d"], run["t"])
            res = train_subspace(model, centre, basis, data, key=k_data, d=run["d"], epochs=c.epochs,
                                 batch_size=c.batch_size, optimizer=opt, eval_init=c.eval_init,
                                 eval_chunk=c.eval_chunk)
            metrics = res.metrics
        except (MemoryError, FloatingPointError) as err:
            metrics = {"status": "error", "error": f"{type(err).__name__}: {err}"}
        return [_record(run, metrics, seed_state.layout.D, time.perf_counter() - t0)]
    # batched: every run of the group shares (method, d, t); seeds differ
    centres, bases, keys = [], [], []
    t0 = time.perf_counter()
    for run in group:
        st = _seed_state(states, c, model, data, run["seed"])
        centre, basis = st.centre_and_basis(run)
        centres.append(centre)
        bases.append(basis)
        keys.append(run_rng(run["seed"], run["method"], run["d"], run["t"])[1])
    results = train_subspace_batched(model, centres, bases, data, keys=keys, d=group[0]["d"], epochs=c.epochs,
                                     batch_size=c.batch_size, optimizer=opt, eval_init=c.eval_init,
                                     eval_chunk=c.eval_chunk)
    wall = (time.perf_counter() - t0) / len(group)
    D = states[group[0]["seed"]].layout.D
    return [_record(run, res.metrics, D, wall) for run, res in zip(group, results)]
