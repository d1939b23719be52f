"""Axis-aligned subspaces (Table 1, top row): lottery tickets and random weight pruning.

A pruning *mask* keeps some of the D parameters and fixes the others at exactly 0; the
kept coordinates span an axis-aligned subspace of dimension d = number of kept
parameters, the counterpart of the general subspaces of :mod:`sweep`. Four methods, so
that one records frame holds all eight cells of the paper's Table 1 next to the sweep's
``random_affine``, ``burn_in``, ``lottery_subspace`` and ``lottery_subspace_t``:

- ``random_pruning``     a uniformly random mask, applied to w_0;
- ``random_pruning_t``   a uniformly random mask, applied to w_t;
- ``lottery_ticket``     one-shot magnitude pruning of the weights after
                         ``pretrain_epochs`` epochs of full training, rewound to w_0
                         (Frankle & Carbin 2019);
- ``lottery_ticket_t``   the same mask rewound to the trajectory's point w_t
                         (Frankle et al. 2020).

The masked network is retrained with momentum SGD for ``epochs`` epochs by
:func:`train.train_full`, starting at ``w_rewind * mask``; the optimiser is wrapped by
:func:`masked_optimizer`, which multiplies gradients and updates by the mask, so the
pruned parameters stay exactly 0.

Magnitude pruning is ``global`` (one threshold over all D parameters, biases included,
as the original code did) or ``layerwise`` (the same fraction kept in every parameter
array). Global pruning can remove an entire layer at high compression: *layer collapse*
(:func:`collapsed_layers`), after which no signal reaches the output.

Randomness of seed s (shared with :mod:`sweep`, so w_0 and w_t are the same points as
the sweep's burn-in and lottery-subspace runs of that seed): w_0 from
``fold_in(PRNGKey(s), 0)``; the pretraining trajectory (and w_t on it) from the batches
of ``fold_in(PRNGKey(s), 1)``; run (method, d, t) from
``fold_in(fold_in(fold_in(fold_in(PRNGKey(s), 3), method), d), t)``, split into the
random-mask key and the retraining key.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from . import optim
from .records import RunWriter, append_record, load_records, pending_runs, records_of
from .subspace import ParamLayout
from .validation import check_choice, check_float, check_int

#: the keep fractions of the original lottery-ticket experiments (fraction of D kept)
KEEP_FRACTIONS = (1, .5, .25, .1, .05, .025, .01, .005, .0025, .001, 5e-4, 2.5e-4, 1e-4)
PRUNING_METHODS = ("lottery_ticket", "lottery_ticket_t", "random_pruning", "random_pruning_t")
SCOPES = ("global", "layerwise")
_METHOD_IDS = {m: i for i, m in enumerate(PRUNING_METHODS)}
#: record fields that identify a pruning run (its key is a hash of them)
RUN_FIELDS = ("dataset", "model", "pool", "method", "keep_fraction", "t", "seed", "epochs", "batch_size",
              "n_train", "scope", "pretrain_epochs", "lr", "pretrain_lr", "momentum")


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


# ----------------------------------------------------------------------------- config
@dataclasses.dataclass(frozen=True)
class PruningConfig:
    """A grid of pruning runs (validated on construction).

    ``keep_fractions`` (each in (0, 1]) set the kept count d = round(fraction * D);
    ``t_values`` are the rewind steps of ``lottery_ticket_t`` and ``random_pruning_t``
    (each t >= 1, at most the pretraining length). The pretraining (for the magnitudes
    and for w_t) is ``pretrain_epochs`` epochs of momentum SGD (``pretrain_lr``,
    ``momentum``); retraining is ``epochs`` epochs of momentum SGD (``lr``, ``momentum``).
    """
    dataset: str
    model: str
    keep_fractions: tuple = KEEP_FRACTIONS
    seeds: tuple = (0,)
    methods: tuple = ("lottery_ticket",)
    t_values: tuple = ()
    epochs: int = 3
    pool: str = "max"
    batch_size: int = 128
    n_train: int | None = None
    scope: str = "global"
    pretrain_epochs: int = 2
    lr: float = 5e-2
    pretrain_lr: float = 5e-2
    momentum: float = 0.9
    eval_chunk: int = 1000

    def __post_init__(self):
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        for name in ("keep_fractions", "seeds", "methods", "t_values"):
            value = getattr(self, name)
            if isinstance(value, (str, int, float)):
                value = (value,)
            set_(name, tuple(value))
        if not self.methods:
            raise ValueError("methods=() is not valid; give at least one of " + ", ".join(PRUNING_METHODS))
        for m in self.methods:
            check_choice("method", m, PRUNING_METHODS)
        if not self.keep_fractions:
            raise ValueError("keep_fractions=() is not valid; give at least one fraction in (0, 1], e.g. "
                             "pruning.KEEP_FRACTIONS")
        set_("keep_fractions", tuple(check_keep_fraction(f) for f in self.keep_fractions))
        if not self.seeds:
            raise ValueError("seeds=() is not valid; give at least one seed")
        set_("seeds", tuple(check_int("seed", s, min_value=0) for s in self.seeds))
        set_("t_values", tuple(check_int("t", t, min_value=1) for t in self.t_values))
        needs_t = [m for m in self.methods if m.endswith("_t")]
        if needs_t and not self.t_values:
            raise ValueError(f"methods {needs_t} need t_values (rewind steps t >= 1)")
        check_int("epochs", self.epochs, min_value=1)
        check_int("batch_size", self.batch_size, min_value=1)
        if self.n_train is not None:
            check_int("n_train", self.n_train, min_value=1)
        check_choice("scope", self.scope, SCOPES)
        check_int("pretrain_epochs", self.pretrain_epochs, min_value=1)
        check_float("lr", self.lr, min_value=0.0, open_min=True)
        check_float("pretrain_lr", self.pretrain_lr, min_value=0.0, open_min=True)
        check_float("momentum", self.momentum, min_value=0.0, max_value=1.0, open_max=True)
        check_int("eval_chunk", self.eval_chunk, min_value=1)
        from .data import DATASET_NAMES
        from .models import MODEL_NAMES, POOL_MODES
        check_choice("dataset", self.dataset, DATASET_NAMES)
        check_choice("model", self.model, MODEL_NAMES)
        check_choice("pool", self.pool, POOL_MODES)

    def pretrain_steps(self, n_train: int) -> int:
        """Steps of the pretraining: ``pretrain_epochs * (n_train // batch_size)``."""
        return self.pretrain_epochs * (n_train // self.batch_size)

    def runs(self) -> list[dict]:
        """Every run's identifying fields and key, in execution order (seed, method, t, fraction)."""
        common = {k: getattr(self, k) for k in RUN_FIELDS if k not in ("method", "keep_fraction", "t", "seed")}
        out = []
        for seed in self.seeds:
            for method in self.methods:
                for t in (self.t_values if method.endswith("_t") else (0,)):
                    for f in self.keep_fractions:
                        run = dict(common, method=method, keep_fraction=f, t=t, seed=seed)
                        run["key"] = run_key(run)
                        out.append(run)
        return out


def run_key(run: dict) -> str:
    """A stable hash of a pruning run's identifying fields (:data:`RUN_FIELDS`)."""
    payload = json.dumps({k: run.get(k) for k in RUN_FIELDS}, sort_keys=True, default=str)
    return "p" + hashlib.sha1(payload.encode()).hexdigest()[:15]


def run_keys(seed: int, method: str, d: int, t: int):
    """``(mask_key, train_key)`` of pruning run (method, d, t) of seed ``seed``."""
    k = jax.random.fold_in(jax.random.PRNGKey(seed), 3)
    for v in (_METHOD_IDS[method], d, t):
        k = jax.random.fold_in(k, v)
    return tuple(jax.random.split(k))


# ----------------------------------------------------------------------------- per-seed state
class _SeedState:
    """w_0, the pretrained point w_T and the rewind points w_t of one seed (computed lazily)."""

    def __init__(self, config: PruningConfig, model, data, seed: int):
        from .sweep import seed_keys
        from .train import init_model_params
        self.config, self.model, self.data, self.seed = config, model, data, seed
        k_init, self.k_traj = seed_keys(seed)
        self.w0 = init_model_params(model, k_init, data.x_train.shape[1:])
        self.layout = ParamLayout.of(self.w0)
        self._points = {0: self.w0}
        self._masks = {}

    def point(self, t: int):
        """w_t on the pretraining trajectory (the same trajectory as the sweep's burn-in)."""
        if t not in self._points:
            from .train import burn_in
            c = self.config
            self._points[t] = burn_in(self.model, self.w0, self.data, key=self.k_traj, t=t,
                                      batch_size=c.batch_size,
                                      optimizer=optim.momentum_sgd(c.pretrain_lr, c.momentum))
        return self._points[t]

    def pretrained(self):
        return self.point(self.config.pretrain_steps(self.data.x_train.shape[0]))

    def mask(self, method: str, fraction: float, t: int):
        c = self.config
        if method.startswith("lottery_ticket"):
            cache_key = ("magnitude", fraction)
            if cache_key not in self._masks:
                self._masks[cache_key] = magnitude_mask(self.pretrained(), fraction, c.scope)
            return self._masks[cache_key]
        d_guess = n_kept(self.layout.D, fraction)
        k_mask, _ = run_keys(self.seed, method, d_guess, t)
        return random_mask(k_mask, self.w0, fraction, c.scope)


def _train_one(config, model, data, run, state: _SeedState) -> dict:
    from .train import train_full
    c = config
    method, f, t = run["method"], run["keep_fraction"], run["t"]
    t0 = time.perf_counter()
    T = c.pretrain_steps(data.x_train.shape[0])
    if t > T:
        raise ValueError(f"t={t} is not valid; the rewind step must be at most the pretraining length "
                         f"({c.pretrain_epochs} epochs = {T} steps)")
    mask = state.mask(method, f, t)
    d = mask_count(mask)
    collapsed = collapsed_layers(mask)
    start = apply_mask(state.point(t), mask)
    _, k_train = run_keys(run["seed"], method, n_kept(state.layout.D, f), t)
    opt = masked_optimizer(optim.momentum_sgd(c.lr, c.momentum), mask)
    res = train_full(model, data, key=k_train, epochs=c.epochs, batch_size=c.batch_size, optimizer=opt,
                     params=start, eval_chunk=c.eval_chunk)
    rec = dict(run)
    rec.update(res.metrics)
    rec.update(D=state.layout.D, d=d, basis="mask", collapsed_layers=collapsed, n_collapsed=len(collapsed),
               layer_keep=layer_keep_fractions(mask), compression=state.layout.D / d,
               wall_time=time.perf_counter() - t0)
    return rec


def run_pruning(config: PruningConfig, records_path, *, progress: bool = True, max_runs: int | None = None,
                model=None, data=None, callback: Callable[[dict], None] | None = None) -> list[dict]:
    """Train every pruning run of ``config`` not yet in ``records_path``; return this config's records.

    Same contract as :func:`sweep.run_sweep`: each finished run is appended at once, a
    rerun skips what is recorded and gives the same records (``wall_time`` aside),
    ``max_runs`` stops after that many new runs, ``callback(record)`` follows each append.
    Records carry the sweep's fields (method, dataset, model, D, d = kept parameters, t,
    seed, per-epoch and best metrics, status, key) plus ``keep_fraction``, ``scope``,
    ``compression`` (D / d), ``collapsed_layers`` and ``layer_keep`` (kept fraction of
    every parameter array).
    """
    if max_runs is not None:
        check_int("max_runs", max_runs, min_value=0)
    if model is None:
        from .models import model_for
        model, _ = model_for(config.model, config.dataset, config.pool)
    if data is None:
        from .data import load_dataset
        data = load_dataset(config.dataset, n_train=config.n_train)
    T = config.pretrain_steps(data.x_train.shape[0])
    bad = [t for t in config.t_values if t > T]
    if bad:
        raise ValueError(f"t_values={list(config.t_values)} is not valid; each rewind step must be at most the "
                         f"pretraining length ({config.pretrain_epochs} epochs = {T} steps)")
    runs = config.runs()
    pending = pending_runs(runs, records_path)
    state = None
    with RunWriter(records_path, total=len(runs), done=len(runs) - len(pending), desc="pruning", progress=progress,
                   max_runs=max_runs, callback=callback,
                   describe=lambda r: (f"{r['method']} keep={r['keep_fraction']:g} t={r['t']} seed={r['seed']} "
                                       f"{r['status']}")) as out:
        for run in pending:
            if out.room == 0:
                break
            if state is None or state.seed != run["seed"]:
                state = _SeedState(config, model, data, run["seed"])
            out.write(_train_one(config, model, data, run, state))
    return records_of(runs, records_path)


# ----------------------------------------------------------------------------- lottery-subspace spectra
def lottery_spectrum(model, data, seed: int, *, d_max: int, every: int = 5, batch_size: int = 128,
                     lr: float = 5e-2, momentum: float = 0.9) -> np.ndarray:
    """Singular values of seed ``seed``'s lottery-subspace trajectory (Appendix A.2, Figures 10-11).

    Recomputes the trajectory exactly as :class:`sweep.SweepConfig` does for
    ``lottery_subspace`` runs of that seed (same w_0, same batches, same optimiser), so the
    spectrum belongs to the subspaces those runs trained in. (The sweep keeps its
    :class:`lottery.LotterySubspace` private and does not record the spectrum.)
    """
    from .lottery import lottery_subspace
    from .sweep import seed_keys
    from .train import init_model_params
    k_init, k_traj = seed_keys(check_int("seed", seed, min_value=0))
    w0 = init_model_params(model, k_init, data.x_train.shape[1:])
    lot = lottery_subspace(model, w0, data, key=k_traj, d_max=d_max, every=every, batch_size=batch_size,
                           optimizer=optim.momentum_sgd(lr, momentum))
    return np.asarray(lot.singular_values, dtype=np.float64)


def run_spectra(sweep_config, records_path, *, model=None, data=None) -> list[dict]:
    """One record per seed of ``sweep_config`` with its lottery-subspace singular values.

    Resumable like the sweeps (a seed already in ``records_path`` is skipped). Record
    fields: dataset, model, seed, d_max, every, ``singular_values`` (descending), key.
    """
    c = sweep_config
    if model is None:
        from .models import model_for
        model, _ = model_for(c.model, c.dataset, c.pool)
    if data is None:
        from .data import load_dataset
        data = load_dataset(c.dataset, n_train=c.n_train)
    d_max = max(c.d_values)
    done = {r.get("key") for r in load_records(records_path)}
    keys = []
    for seed in c.seeds:
        ident = dict(kind="lottery_spectrum", dataset=c.dataset, model=c.model, pool=c.pool, seed=seed,
                     d_max=d_max, every=c.lottery_every, batch_size=c.batch_size, n_train=c.n_train,
                     lr=c.burn_in_lr, momentum=c.momentum)
        key = "s" + hashlib.sha1(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:15]
        keys.append(key)
        if key in done:
            continue
        t0 = time.perf_counter()
        s = lottery_spectrum(model, data, seed, d_max=d_max, every=c.lottery_every, batch_size=c.batch_size,
                             lr=c.burn_in_lr, momentum=c.momentum)
        append_record(records_path, dict(ident, singular_values=s.tolist(), key=key,
                                         wall_time=time.perf_counter() - t0))
    return [r for r in load_records(records_path) if r.get("key") in set(keys)]


# ----------------------------------------------------------------------------- analysis helpers
#: the eight cells of Table 1, in the order of the table (rows: axis-aligned, general)
TABLE1_METHODS = ("random_pruning", "random_pruning_t", "lottery_ticket", "lottery_ticket_t",
                  "random_affine", "burn_in", "lottery_subspace", "lottery_subspace_t")
NESTED_METHODS = ("lottery_subspace", "lottery_subspace_t")


def taxonomy_frame(subspace_records, pruning_records, *, t: int | None = None, metric: str = "train_acc",
                   running_max_nested: bool = True):
    """One tidy frame of all eight Table-1 methods: method, t, seed, D, d, compression, best metric.

    ``t`` keeps only that step for the four "at step t" methods (default: all). For the
    nested lottery subspaces the metric is the running best over d within a seed (the
    paper's convention, Appendix A.2) when ``running_max_nested``.
    """
    import pandas as pd
    from .thresholds import running_best
    col = "best_" + metric
    frames = []
    for recs in (subspace_records, pruning_records):
        f = pd.DataFrame(list(recs)) if not isinstance(recs, pd.DataFrame) else recs.copy()
        if len(f):
            frames.append(f)
    frame = pd.concat(frames, ignore_index=True)
    frame = frame[frame["method"].isin(TABLE1_METHODS)]
    if t is not None:
        frame = frame[(frame["t"] == 0) | (frame["t"] == t)]
    if running_max_nested:
        nested = frame[frame["method"].isin(NESTED_METHODS)]
        if len(nested):
            nested = running_best(nested, metric)
            frame = pd.concat([frame[~frame["method"].isin(NESTED_METHODS)], nested], ignore_index=True)
    frame = frame.assign(compression=frame["D"] / frame["d"])
    keep = ["method", "t", "seed", "D", "d", "compression", col] + (["keep_fraction"] if "keep_fraction" in frame
                                                                    else [])
    return frame[keep].sort_values(["method", "t", "d", "seed"]).reset_index(drop=True)


def mean_curves(frame, metric: str = "train_acc"):
    """Per (method, t, d): mean and standard deviation of the best metric over seeds."""
    col = "best_" + metric
    g = frame.groupby(["method", "t", "d"], sort=True)[col]
    out = g.agg(["mean", "std", "count"]).reset_index()
    out["compression"] = frame.groupby(["method", "t", "d"], sort=True)["D"].first().to_numpy() / out["d"]
    return out


def paper_delta(n_runs: int) -> float:
    """The paper's delta: 0.1 for 10 or more runs; for fewer, all but one run must succeed
    (delta = 1 / n); a single run must succeed (0.5)."""
    n_runs = check_int("n_runs", n_runs, min_value=1)
    if n_runs == 1:
        return 0.5
    return 0.1 if n_runs >= 10 else 1.0 / n_runs


def threshold_table(frame, levels, *, metric: str = "train_acc", delta: float | None = None):
    """d* per (method, t) and accuracy level (rows: levels, columns: method labels).

    ``frame`` is from :func:`taxonomy_frame` (running max already applied to nested
    subspaces). ``delta`` defaults to :func:`paper_delta` of the number of seeds.
    """
    from .thresholds import success_probability, threshold_dimension
    n = int(frame.groupby(["method", "t", "d"])["seed"].nunique().min())
    delta = paper_delta(n) if delta is None else delta
    table = success_probability(frame, metric, levels, by=("method", "t"))
    ds = threshold_dimension(table, delta=delta)
    ds["curve"] = [m if t == 0 else f"{m} (t={t})" for m, t in zip(ds["method"], ds["t"])]
    return ds.pivot_table(index="level", columns="curve", values="d_star", aggfunc="first", dropna=False), delta


# ----------------------------------------------------------------------------- the chapter's grid
def chapter_configs(*, dataset: str, model: str, pool: str, n_train, epochs: int, seeds, subspace_d, lottery_d,
                    t: int, keep_fractions, pretrain_epochs: int, scope: str, adam_variant: str, lr: float,
                    ticket_lr: float, batch_size: int = 128):
    """The three grids of the lottery chapter (all eight Table-1 methods, one t for every
    "at step t" cell): ``(random_cfg, lottery_cfg, pruning_cfg)``.

    ``random_cfg`` -- random affine and burn-in subspaces over ``subspace_d``;
    ``lottery_cfg`` -- lottery subspaces rewound to w_0 and to w_t over ``lottery_d``
    (its trajectory has ``max(lottery_d) * 5`` steps); ``pruning_cfg`` -- tickets and
    random pruning over ``keep_fractions``. All share dataset, model, seeds and epochs.
    """
    common = dict(dataset=dataset, model=model, pool=pool, n_train=n_train, epochs=epochs, seeds=tuple(seeds),
                  batch_size=batch_size)
    check_int("t", t, min_value=1)
    random_cfg = _sweep_config(common, d_values=tuple(subspace_d), methods=("random_affine", "burn_in"),
                               t_values=(t,), adam_variant=adam_variant, lr=lr)
    lottery_cfg = _sweep_config(common, d_values=tuple(lottery_d), methods=("lottery_subspace", "lottery_subspace_t"),
                                t_values=(t,), adam_variant=adam_variant, lr=lr)
    pruning_cfg = PruningConfig(**common, keep_fractions=tuple(keep_fractions), methods=PRUNING_METHODS,
                                t_values=(t,), scope=scope, pretrain_epochs=pretrain_epochs, lr=ticket_lr)
    return random_cfg, lottery_cfg, pruning_cfg


def _sweep_config(common, **kw):
    from .sweep import SweepConfig
    return SweepConfig(**common, **kw)


def subset_test(data, n_test):
    """``data`` with only its first ``n_test`` test examples (None keeps all)."""
    if n_test is None or n_test >= len(data.y_test):
        return data
    n_test = check_int("n_test", n_test, min_value=1)
    return dataclasses.replace(data, x_test=data.x_test[:n_test], y_test=data.y_test[:n_test])


def records_paths(directory, tag: str) -> dict:
    """Where the chapter's three record files live: subspaces, pruning, spectra."""
    from pathlib import Path
    directory = Path(directory)
    return {k: directory / f"{tag}_{k}.jsonl" for k in ("subspaces", "pruning", "spectra")}


def run_taxonomy(random_cfg, lottery_cfg, pruning_cfg, paths: dict, *, data, progress: bool = False,
                 log: Callable[[str], None] | None = None) -> dict:
    """Run all eight methods seed by seed (so an interrupted run leaves whole seeds behind).

    Every part resumes from its records; returns ``{"subspaces", "pruning", "spectra"}``
    lists of this grid's records.
    """
    from .models import model_for
    from .sweep import run_sweep
    model, _ = model_for(random_cfg.model, random_cfg.dataset, random_cfg.pool)
    log = log or (lambda s: None)
    for seed in random_cfg.seeds:
        one = lambda c: dataclasses.replace(c, seeds=(seed,))  # noqa: E731
        t0 = time.perf_counter()
        run_spectra(one(lottery_cfg), paths["spectra"], model=model, data=data)
        run_sweep(one(lottery_cfg), paths["subspaces"], progress=progress, model=model, data=data)
        log(f"seed {seed}: lottery subspaces done ({time.perf_counter() - t0:.0f} s)")
        run_pruning(one(pruning_cfg), paths["pruning"], progress=progress, model=model, data=data)
        log(f"seed {seed}: pruning done ({time.perf_counter() - t0:.0f} s)")
        run_sweep(one(random_cfg), paths["subspaces"], progress=progress, model=model, data=data)
        log(f"seed {seed}: random and burn-in subspaces done ({time.perf_counter() - t0:.0f} s)")
    keys = {r["key"] for c in (random_cfg, lottery_cfg) for r in c.runs()}
    pkeys = {r["key"] for r in pruning_cfg.runs()}
    return {"subspaces": [r for r in load_records(paths["subspaces"]) if r.get("key") in keys],
            "pruning": [r for r in load_records(paths["pruning"]) if r.get("key") in pkeys],
            "spectra": [r for r in load_records(paths["spectra"]) if r.get("seed") in set(random_cfg.seeds)
                        and r.get("d_max") == max(lottery_cfg.d_values) and r.get("n_train") == lottery_cfg.n_train]}


def chapter_parameters(preset: str | None = None) -> dict:
    """The lottery chapter's parameters: its ``parameters`` cell, then the preset's overrides."""
    import ast
    from .paths import repo_root
    from .runner import load_preset, notebook_from_source, preset_path, resolve_chapter
    src = resolve_chapter("06_lottery")
    nb = notebook_from_source(src)
    cell = next(c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", []))
    params = {}
    for node in ast.parse(cell.source).body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                params[target.id] = ast.literal_eval(node.value)
    if preset:
        params.update(load_preset(preset_path(src, preset, repo_root())))
    return params


def main(argv=None) -> int:
    """``python -m dof_helpers.pruning [--preset cpu-large]``: run the lottery chapter's grid
    (the long part of the chapter) outside the notebook, seed by seed, resumable."""
    import argparse
    parser = argparse.ArgumentParser(prog="python -m dof_helpers.pruning")
    parser.add_argument("--preset", default=None)
    args = parser.parse_args(argv)
    p = chapter_parameters(args.preset)
    from .data import load_dataset
    from .paths import repo_root
    cfgs = chapter_configs(**{k: p[k] for k in CHAPTER_CONFIG_KEYS})
    data = subset_test(load_dataset(p["dataset"], n_train=p["n_train"]), p["n_test"])
    directory = repo_root() / p["records_dir"] / "06_lottery"
    paths = records_paths(directory, p["tag"])
    t0 = time.perf_counter()
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    out = run_taxonomy(*cfgs, paths, data=data, progress=False,
                       log=lambda s: print(time.strftime("%H:%M:%S"), s, flush=True))
    wall = time.perf_counter() - t0
    print(f"{len(out['subspaces'])} subspace, {len(out['pruning'])} pruning runs in {wall:.0f} s", flush=True)
    write_settings(directory / f"{p['tag']}_settings.json", p, cfgs, out, started=started, wall_s=wall)
    return 0


def write_settings(path, params: dict, cfgs, out: dict, **extra) -> None:
    """Record what a grid was run with and how much of it completed (JSON next to its records)."""
    import platform
    planned = {"subspaces": len(cfgs[0].runs()) + len(cfgs[1].runs()), "pruning": len(cfgs[2].runs()),
               "spectra": len(cfgs[1].seeds)}
    info = dict(parameters=params, planned_runs=planned, completed_runs={k: len(v) for k, v in out.items()},
                jax=jax.__version__, devices=[str(d) for d in jax.devices()], machine=platform.machine(),
                cpu_count=__import__("os").cpu_count(), **extra)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(info, fh, indent=1, sort_keys=True, default=str)
        fh.write("\n")


CHAPTER_CONFIG_KEYS = ("dataset", "model", "pool", "n_train", "epochs", "seeds", "subspace_d", "lottery_d", "t",
                       "keep_fractions", "pretrain_epochs", "scope", "adam_variant", "lr", "ticket_lr")

if __name__ == "__main__":
    raise SystemExit(main())


# ----------------------------------------------------------------------------- chapter summaries
def full_model_accuracy(pruning_records, metric: str = "train_acc") -> float:
    """Mean best ``metric`` of the unpruned network (``lottery_ticket`` at keep fraction 1:
    all D parameters trained from w_0 by momentum SGD for the same epochs), or NaN."""
    vals = [r["best_" + metric] for r in pruning_records
            if r["method"] == "lottery_ticket" and r["keep_fraction"] == 1.0 and r.get("best_" + metric) is not None]
    return float(np.mean(vals)) if vals else float("nan")


def collapse_table(pruning_records):
    """Per (method, t, keep fraction): d, D/d, mean best train accuracy, and how many seeds
    had a collapsed layer (which layers, over all seeds)."""
    import pandas as pd
    f = pd.DataFrame(list(pruning_records))
    rows = []
    for (m, t, kf), g in f.groupby(["method", "t", "keep_fraction"], sort=True):
        layers = sorted({name for ls in g["collapsed_layers"] for name in ls})
        rows.append(dict(method=m, t=t, keep_fraction=kf, d=int(g["d"].iloc[0]),
                         compression=float(g["D"].iloc[0] / g["d"].iloc[0]),
                         train_acc=float(g["best_train_acc"].mean()),
                         seeds_collapsed=int((g["n_collapsed"] > 0).sum()), n_seeds=len(g),
                         collapsed_layers=", ".join(layers) or "-"))
    out = pd.DataFrame(rows)
    return out.sort_values(["method", "t", "keep_fraction"], ascending=[True, True, False]).reset_index(drop=True)


def first_collapse(pruning_records, method: str = "lottery_ticket") -> dict:
    """The largest keep fraction at which ``method`` collapsed a layer in some seed:
    ``{"keep_fraction", "compression", "layers"}`` (NaN / empty if it never did)."""
    check_choice("method", method, PRUNING_METHODS)
    tab = collapse_table(pruning_records)
    hit = tab[(tab["method"] == method) & (tab["seeds_collapsed"] > 0)]
    if not len(hit):
        return {"keep_fraction": float("nan"), "compression": float("nan"), "layers": ""}
    row = hit.sort_values("keep_fraction", ascending=False).iloc[0]
    return {"keep_fraction": float(row["keep_fraction"]), "compression": float(row["compression"]),
            "layers": row["collapsed_layers"]}


def layer_keep_table(pruning_records, method: str = "lottery_ticket", seed: int = 0, kernels_only: bool = True):
    """``(keep_fractions, {layer: kept fraction at each})`` of one seed's masks."""
    check_choice("method", method, PRUNING_METHODS)
    recs = sorted((r for r in pruning_records if r["method"] == method and r["seed"] == seed and "layer_keep" in r),
                  key=lambda r: -r["keep_fraction"])
    if not recs:
        raise ValueError(f"no {method} records of seed {seed} with layer_keep")
    names = [n for n in recs[0]["layer_keep"] if not kernels_only or n.endswith("kernel")]
    return ([r["keep_fraction"] for r in recs],
            {n.rsplit("/", 1)[0] if kernels_only else n: [r["layer_keep"][n] for r in recs] for n in names})
