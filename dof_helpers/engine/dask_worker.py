"""The worker side of a Dask sweep: one task (a few runs of a seed) and the checks around it.

A worker keeps recently used seed states (:data:`_STATES`, most recently used last) so
that a seed's w_0 and trajectory are built once per worker; it refuses a task from a
driver whose ``dof_helpers`` source differs from its own (:func:`code_fingerprint`) and
applies the driver's JAX precision settings.
"""
from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from collections import OrderedDict
from pathlib import Path

#: worker side: SeedStates kept between tasks, most recently used last
_STATES: "OrderedDict[tuple, object]" = OrderedDict()
_STATES_LOCK = threading.Lock()
_CODE_FINGERPRINT: str | None = None


# ---------------------------------------------------------------------------- the task (worker)
def _run_task(job: dict, seed_runs: dict, task: list[dict]) -> dict:
    """Train the runs ``task`` on this worker; plain-Python records and some accounting."""
    t0 = time.perf_counter()
    _check_same_code(job)
    _apply_precision(job["precision"])
    _use_compilation_cache(job["compilation_cache"])
    from ..records import _to_jsonable
    from .executors import groups_of
    from .runs import train_group_vmapped, train_one
    context, config = job["context"], job["config"]
    built = 0
    states = {}
    for seed in sorted(seed_runs):
        states[seed], new = _seed_state(context, config, seed, seed_runs[seed], job["state_cache"])
        built += new
    records = []
    for group in groups_of(task, job["batch_runs"] if job["vmap"] else 1):
        if len(group) == 1:
            records.append(train_one(context, config, states[group[0]["seed"]], group[0]))
        else:
            records.extend(train_group_vmapped(context, config, states, group))
    return {"records": [_to_jsonable(r) for r in records], "states_built": built, "pid": os.getpid(),
            "host": socket.gethostname(), "compute_s": time.perf_counter() - t0}


def _seed_state(context, config, seed, runs, limit):
    """``(SeedState, 1 if built now else 0)`` from the worker's cache."""
    from .state import SeedState
    sweep = (context.model_fingerprint, context.data_fingerprint, config)
    key = sweep + (int(seed), hashlib.sha1("".join(r["key"] for r in runs).encode()).hexdigest())
    with _STATES_LOCK:
        for old in [k for k in _STATES if k[:3] != sweep]:  # another sweep's: free its model and data
            del _STATES[old]
        if key in _STATES:
            _STATES.move_to_end(key)
            return _STATES[key], 0
    state = SeedState(context, config, seed, runs)
    with _STATES_LOCK:
        _STATES[key] = state
        while len(_STATES) > limit:
            _STATES.popitem(last=False)
    return state, 1


def _worker_backend() -> str:
    import jax
    return jax.default_backend()


def _precision_values() -> dict:
    import jax
    return {"jax_enable_x64": bool(jax.config.jax_enable_x64),
            "jax_default_matmul_precision": jax.config.jax_default_matmul_precision}


def _apply_precision(values: dict) -> None:
    """Use the driver's precision settings here (they are part of every run key)."""
    import jax
    for name, value in values.items():
        if getattr(jax.config, name) != value:
            jax.config.update(name, value)


def _use_compilation_cache(folder: str | None) -> None:
    """Point this worker's JAX persistent compilation cache at ``folder`` (every program)."""
    import jax
    if folder is None or jax.config.jax_compilation_cache_dir == folder:
        return
    from jax.experimental.compilation_cache import compilation_cache
    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    compilation_cache.reset_cache()  # take the folder into account even if a program was compiled before


def _package_dir() -> Path:
    return Path(__file__).resolve().parent.parent


def code_fingerprint() -> str:
    """A hash of the ``dof_helpers`` source files as they were when this process imported
    the engine (so a file edited during a sweep is caught on a worker started after it)."""
    global _CODE_FINGERPRINT
    if _CODE_FINGERPRINT is None:
        root = _package_dir()
        h = hashlib.sha1()
        for path in sorted(root.rglob("*.py")):
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())
        _CODE_FINGERPRINT = h.hexdigest()[:16]
    return _CODE_FINGERPRINT


code_fingerprint()


def _check_same_code(job: dict) -> None:
    if code_fingerprint() != job["code"]:
        raise RuntimeError(
            f"the worker on {socket.gethostname()} (pid {os.getpid()}) imports dof_helpers from {_package_dir()}, "
            f"whose source differs from the driver's ({job['code_path']}); its records would be filed under keys "
            "they do not deserve. Give the workers the same checkout (PYTHONPATH, or pip install -e of it).")
