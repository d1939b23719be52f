"""Resumable sweeps: plan the runs of a :class:`SweepConfig`, train the missing ones,
append each record as soon as it exists.

:func:`run_sweep` is the one entry point behind every sweep of the book (and yours):
it plans every run with its key (:func:`plan_runs`), refuses a records file that holds
records of another model or other data under the same names (:func:`check_records_file`),
skips the runs already recorded, adopts those recorded under the same key in other records
files it is pointed to (``reuse_from``, :func:`reusable_records`), and hands the rest to an executor
(:mod:`engine.executors`), which streams records back; only this process appends them
(:class:`records.RunWriter`, fsynced line by line). An interrupted sweep loses at most
the runs in flight; rerunning it gives the same records as an uninterrupted one
(``wall_time`` aside).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

from ..records import RunWriter, append_record, load_records, pending_runs, records_of
from ..validation import check_choice, check_int
from .config import ORDERS, SweepConfig
from .keys import Context, make_context, run_key
from .lock import records_lock
from .methods import PRUNING_METHODS, family


def plan_runs(config: SweepConfig, context: Context, order: str = "seed") -> list[dict]:
    """Every run of the grid, with its identifying fields and key, in execution ``order``.

    ``"seed"``: seed by seed (method, t, size inside); ``"coarse_to_fine"``: every other
    d (or keep fraction) first, then the rest from the largest down, all seeds of a size
    together -- a sweep stopped part-way then still spans the whole range.
    """
    check_choice("order", order, ORDERS)
    _check_fits_data(config, context)
    runs = []
    for seed in config.seeds:
        for method in config.methods:
            for t in config.ts(method):
                for size in config.sizes(method):
                    run = {"method": method, "t": int(t), "seed": int(seed)}
                    if method in PRUNING_METHODS:
                        run["keep_fraction"] = float(size)
                    elif size is not None:
                        run["d"] = int(size)
                    run.update(config.settings_of(method))
                    run["key"] = run_key(run, context)
                    runs.append(run)
    if order == "coarse_to_fine":
        rank = {}
        for method in config.methods:
            sizes = sorted(s for s in config.sizes(method) if s is not None)
            first = sizes[::2] + ([sizes[-1]] if sizes and sizes[-1] not in sizes[::2] else [])
            rest = sorted((s for s in sizes if s not in first), reverse=True)
            rank.update({(method, s): i for i, s in enumerate(first + rest)})
        runs.sort(key=lambda r: (rank.get((r["method"], _size(r)), 0), r["seed"]))
    return runs


def _size(run):
    return run.get("d", run.get("keep_fraction"))


def _check_fits_data(config: SweepConfig, context: Context) -> None:
    n = int(context.data.x_train.shape[0])
    if config.batch_size > n:
        raise ValueError(f"batch_size={config.batch_size} is not valid; the data have {n} training examples")
    T = config.pretrain_steps(n)
    ticket_t = [m for m in config.methods if m == "lottery_ticket_t"]
    late = [t for t in config.t_values if t > T]
    if ticket_t and late:
        raise ValueError(f"t_values {late} are not valid for lottery_ticket_t: the rewind step must be at most the "
                         f"pretraining length ({config.pretrain_epochs} epochs = {T} steps)")


def check_records_file(path, context: Context) -> None:
    """Refuse a records file holding records of another model or other data under the same names.

    A record whose ``model`` (or ``dataset``) name equals the context's but whose
    fingerprint differs -- or that has none, from an older engine -- was made by
    something else under that name: mixing it in would let figures silently combine two
    experiments, so this raises ``ValueError`` naming both and asking for another file.
    """
    for rec in load_records(path):
        for kind, name, fp in (("model", context.model_name, context.model_fingerprint),
                               ("dataset", context.data_name, context.data_fingerprint)):
            field = "model_fingerprint" if kind == "model" else "data_fingerprint"
            if rec.get(kind) == name and rec.get(field) != fp:
                raise ValueError(
                    f"{path} holds records of {kind} {name!r} with fingerprint {rec.get(field)!r}, but this sweep's "
                    f"{kind} {name!r} has fingerprint {fp!r}: a different {kind} under the same name. Use another "
                    f"records file (or give the {kind} another name) instead of mixing the two. A file under "
                    f"runs/ is only a cache of live runs: deleting it retrains them.")


def check_reuse_from(sources, records_path=None) -> list[Path]:
    """``sources`` as paths, each an existing records file other than ``records_path`` (else ValueError)."""
    if isinstance(sources, (str, Path)):
        sources = [sources]
    out = []
    for src in map(Path, sources):
        if records_path is not None and src.resolve() == Path(records_path).resolve():
            raise ValueError(f"reuse_from={str(src)!r} is not valid: it is this sweep's own records file")
        if not src.is_file():
            raise ValueError(f"reuse_from={str(src)!r} is not valid: no such records file")
        out.append(src)
    return out


def reusable_records(pending: list[dict], sources, context: Context, records_path=None) -> list[dict]:
    """The records of ``pending`` runs that other records files (``sources``) already hold.

    A record is reused only under its run's exact key (a hash of every field that determines
    the result, the model's and the data's fingerprints and the precision settings,
    :func:`keys.run_key`), and only if its identifying fields agree with the run's; each source
    is checked like a records file of this sweep (:func:`check_records_file`). The copies carry
    ``reused_from`` (the source path). Chapter 06's random affine and burn-in runs at the
    paper's protocol, for example, are chapter 05's, key for key.
    """
    want = {r["key"]: r for r in pending}
    out = []
    for src in check_reuse_from(sources, records_path):
        check_records_file(src, context)
        for rec in load_records(src):
            run = want.get(rec.get("key"))
            if run is None:
                continue
            differ = [k for k in run if k != "key" and rec.get(k) != run[k]]
            if differ:
                raise ValueError(f"reuse_from={str(src)!r} holds a record with key {rec['key']} whose fields "
                                 f"{differ} disagree with the run of that key ({ {k: run[k] for k in differ} }); "
                                 "the file was edited or written by another engine: do not reuse it")
            out.append({**rec, "reused_from": str(src)})
            del want[rec["key"]]
    return out


def run_sweep(config: SweepConfig, model, data, records_path, *, order: str = "seed", progress: bool = True,
              max_runs: int | None = None, callback: Callable[[dict], None] | None = None, executor=None,
              reuse_from=(), **model_options) -> list[dict]:
    """Train every run of ``config`` not yet in ``records_path``; return this grid's records.

    ``model``: a registered name ("conv2", ...; ``model_options`` such as ``pool="avg"``
    go to its builder) or any Flax module; ``data``: a :class:`data.Dataset`. ``order``:
    see :func:`plan_runs`. ``max_runs`` stops after that many new runs; ``callback(record)``
    follows each append. ``executor``: None (in this process, :class:`executors.InProcess`)
    or an executor object (e.g. :class:`dask_executor.Dask`, :func:`executor_from`). Only this
    process writes, holding the records folder's lock (:mod:`engine.lock`): a second driver on
    the same folder is refused with :class:`lock.RecordsLocked`. A diverged run is recorded with
    ``status="diverged"``, one that cannot be built (a dense basis too large for memory,
    d beyond a lottery trajectory's rank) with ``status="error"``; the sweep goes on.
    ``reuse_from``: other records files whose records of this grid's runs (same key) are copied
    in instead of trained again (:func:`reusable_records`).
    """
    from .executors import resolve_executor
    if max_runs is not None:
        check_int("max_runs", max_runs, min_value=0)
    reuse_from = check_reuse_from(reuse_from, records_path)
    context = make_context(model, data, **model_options)
    runs = plan_runs(config, context, order)
    check_records_file(records_path, context)
    if not pending_runs(runs, records_path) or max_runs == 0:
        return records_of(runs, records_path)  # nothing to write: no lock (read-only folders work)
    executor = resolve_executor(executor, config)
    describe = lambda r: (f"{r['method']} {'d' if 'd' in r else 'keep'}={_size(r)} t={r['t']} "  # noqa: E731
                          f"seed={r['seed']} {r.get('status')}")
    # one driver per records folder (engine.lock): a second one is refused here, before any work
    with records_lock(Path(records_path).parent):
        pending = pending_runs(runs, records_path)  # again, under the lock
        if reuse_from:
            adopted = reusable_records(pending, reuse_from, context, records_path)
            for rec in adopted:
                append_record(records_path, rec)
            taken = {r["key"] for r in adopted}
            pending = [r for r in pending if r["key"] not in taken]
        with RunWriter(records_path, total=len(runs), done=len(runs) - len(pending), desc="sweep",
                       progress=progress, max_runs=max_runs, callback=callback, describe=describe) as out:
            if pending and out.room != 0:
                todo = pending if out.room is None else pending[:out.room]
                for record in executor.run(context, config, todo):
                    out.write(record)
    return records_of(runs, records_path)


def train_run(model, data, *, method: str = "random_affine", d: int | None = None, keep_fraction: float | None = None,
              t: int = 0, seed: int = 0, **settings) -> dict:
    """Train one run and return its record (nothing is written): one cell of a sweep.

    ``method`` is one of :data:`methods.METHODS`; give ``d`` for a subspace method,
    ``keep_fraction`` for a pruning method, ``t`` for a method at step t; ``settings``
    are :class:`SweepConfig` fields (epochs, lr, basis, ...). Same numbers as the same
    run inside a sweep.
    """
    from .methods import AT_STEP_T
    fam = family(method)
    if t and method not in AT_STEP_T:
        raise ValueError(f"t={t} is not valid for method {method!r} (it starts at t = 0); methods at a step t: "
                         + ", ".join(AT_STEP_T))
    grid = {"methods": (method,), "seeds": (seed,), "t_values": (t,) if t else ()}
    if fam == "subspace":
        if d is None:
            raise ValueError(f"d=None is not valid for method {method!r}; give a training dimension d >= 1")
        grid["d_values"] = (d,)
    elif fam == "pruning":
        if keep_fraction is None or (isinstance(keep_fraction, float) and math.isnan(keep_fraction)):
            raise ValueError(f"keep_fraction=None is not valid for method {method!r}; give a fraction in (0, 1]")
        grid["keep_fractions"] = (keep_fraction,)
    config = SweepConfig(**grid, **settings)
    context = make_context(model, data)
    (run,) = plan_runs(config, context)
    from .executors import InProcess
    (record,) = list(InProcess("loop").run(context, config, [run]))
    return record
