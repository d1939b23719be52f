"""The experiment engine: any model, any data, every method, run keys that cannot go stale.

Public API::

    from dof_helpers import data, engine, thresholds
    ds = data.from_arrays(x_train, y_train, x_test, y_test, name="mine")
    record = engine.train_run(MyModule(), ds, method="random_affine", d=64, epochs=5)
    config = engine.SweepConfig(methods=("random_affine", "burn_in"), d_values=(8, 64, 512),
                                t_values=(8,), seeds=(0, 1, 2), epochs=5)
    records = engine.run_sweep(config, MyModule(), ds, "runs/mine.jsonl")

Modules: :mod:`~.methods` (the nine methods), :mod:`~.config` (:class:`SweepConfig`),
:mod:`~.keys` (fingerprints, run keys, the random-number scheme), :mod:`~.state` (one
seed's w_0 and trajectory), :mod:`~.runs` (training runs into records),
:mod:`~.sweep` (planning, resuming, writing), :mod:`~.executors` (where runs train),
:mod:`~.dask_executor` (runs on a Dask cluster: ``executor_from(workers=2)``),
:mod:`~.lock` (one driver per records folder).
"""
from .config import SweepConfig
from .clusters import add_executor_arguments, executor_from, executor_from_args
from .dask_executor import Dask
from .executors import InProcess
from .keys import Context, make_context, model_fingerprint, run_key, run_rng, seed_keys
from .methods import (AT_STEP_T, METHODS, NESTED_METHODS, PRUNING_METHODS, SUBSPACE_METHODS, TABLE1_METHODS,
                      curve_label, family)
from .lock import LOCK_NAME, RecordsLocked, records_lock, refresh_or_read
from .sweep import check_records_file, plan_runs, run_sweep, train_run

__all__ = ["SweepConfig", "InProcess", "Context", "make_context", "model_fingerprint", "run_key", "run_rng",
           "seed_keys", "AT_STEP_T", "METHODS", "NESTED_METHODS", "PRUNING_METHODS", "SUBSPACE_METHODS",
           "TABLE1_METHODS", "curve_label", "family", "check_records_file", "plan_runs", "run_sweep", "train_run",
           # many processes (issue 14)
           "Dask", "executor_from", "executor_from_args", "add_executor_arguments", "LOCK_NAME", "RecordsLocked",
           "records_lock", "refresh_or_read"]
