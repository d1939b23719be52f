"""Where a Dask sweep's workers come from, and how a chapter asks for them.

- :func:`local_cluster` -- N worker processes on this machine: one per GPU, each pinned to
  its device with ``CUDA_VISIBLE_DEVICES`` (:func:`gpu_ids`, :func:`worker_envs`), or N
  CPU processes;
- :func:`executor_from` -- the executor a chapter's parameters (``workers``, ``scheduler``)
  or command line (:func:`add_executor_arguments`, :func:`executor_from_args`) ask for:
  in-process, a local cluster, or a running cluster (:class:`dask_executor.Dask`).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import warnings
from pathlib import Path

from ..validation import check_int


# ---------------------------------------------------------------------------- local clusters
def gpu_ids() -> list[str]:
    """GPU ids visible to this process: ``$CUDA_VISIBLE_DEVICES`` if set, else ``nvidia-smi -L``'s."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [g.strip() for g in env.split(",") if g.strip() and g.strip() != "-1"]
    smi = shutil.which("nvidia-smi")
    if not smi:
        return []
    try:
        out = subprocess.run([smi, "--query-gpu=index", "--format=csv,noheader"], capture_output=True, text=True,
                             timeout=20, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip().isdigit()]


def worker_envs(n_workers: int, gpus) -> list[dict]:
    """The extra environment of each of ``n_workers`` local workers: GPU ``gpus[i % len]``
    for worker i (no preallocation when workers share a GPU); nothing on CPU."""
    gpus = [str(g) for g in gpus]
    if not gpus:
        return [{} for _ in range(n_workers)]
    shared = n_workers > len(gpus)
    return [{"CUDA_VISIBLE_DEVICES": gpus[i % len(gpus)],
             **({"XLA_PYTHON_CLIENT_PREALLOCATE": "false"} if shared else {})} for i in range(n_workers)]


def local_cluster(n_workers: int, *, gpus="auto", threads_per_worker: int = 1, **options):
    """A ``distributed.LocalCluster`` of ``n_workers`` processes importing this checkout's
    ``dof_helpers``; on a GPU node worker i is pinned to GPU ``ids[i % len(ids)]``
    (:func:`worker_envs`). A worker that dies is restarted with the same pinning."""
    n_workers = check_int("workers", n_workers, min_value=1)
    ids = gpu_ids() if gpus == "auto" else [str(g) for g in gpus]
    if ids:
        _driver_gpu_memory()
    # workers import the driver's dof_helpers (spawned processes also inherit sys.path)
    package_parent = Path(__file__).resolve().parent.parent.parent
    preload = f"import sys; sys.path.insert(0, {str(package_parent)!r})"
    from distributed.system import MEMORY_LIMIT
    options = {"dashboard_address": None, "processes": True, "preload": [preload],
               "memory_limit": MEMORY_LIMIT // n_workers, **options}
    cluster = _pinned_cluster_class()(worker_envs=worker_envs(n_workers, ids), threads_per_worker=threads_per_worker,
                                      **options)
    cluster.scale(n_workers)
    cluster.wait_for_workers(n_workers, timeout=180)
    return cluster


def worker_spec(template: dict, envs: list[dict], taken) -> tuple[str, dict]:
    """``(name, spec)`` of the next local worker: the first name ``w<i>`` not in ``taken``,
    the spec ``template`` with ``envs[i % len(envs)]`` added to its environment."""
    i = 0
    while f"w{i}" in taken:
        i += 1
    options = dict(template["options"])
    options["env"] = {**(options.get("env") or {}), **envs[i % len(envs)]}
    return f"w{i}", {"cls": template["cls"], "options": options}


_PINNED = None


def _pinned_cluster_class():
    """A ``LocalCluster`` whose worker i gets the environment ``worker_envs[i]`` (as
    ``dask_cuda.LocalCUDACluster`` pins GPUs), built on first use (dask is optional)."""
    global _PINNED
    if _PINNED is None:
        from distributed import LocalCluster

        class PinnedLocalCluster(LocalCluster):
            def __init__(self, *args, worker_envs=(), **kwargs):
                self._worker_envs = list(worker_envs) or [{}]
                super().__init__(*args, n_workers=0, **kwargs)

            def new_worker_spec(self):
                name, spec = worker_spec(self.new_spec, self._worker_envs, self.worker_spec)
                return {name: spec}

        _PINNED = PinnedLocalCluster
    return _PINNED


def _driver_gpu_memory() -> None:
    """The driver uses JAX too (fingerprints): keep it from preallocating GPU memory."""
    try:
        from jax._src import xla_bridge
        initialised = xla_bridge.backends_are_initialized()
    except Exception:  # noqa: BLE001
        initialised = False
    if not initialised:
        os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    elif os.environ.get("XLA_PYTHON_CLIENT_PREALLOCATE") != "false":
        warnings.warn("this process initialised JAX on the GPU before starting GPU workers and may hold most of "
                      "GPU 0's memory; start Python with XLA_PYTHON_CLIENT_PREALLOCATE=false", stacklevel=3)


# ---------------------------------------------------------------------------- choosing
def executor_from(workers: int | None = None, scheduler: str | None = None, **options):
    """The executor a chapter's parameters or command line ask for.

    Both None: :class:`executors.InProcess` (this process; the default). ``workers=N``:
    :class:`Dask` on a local cluster of N processes; ``scheduler="tcp://host:port"``:
    :class:`Dask` on a running cluster. ``options`` go to :class:`Dask`. Pass the result
    as ``executor=`` to every :func:`sweep.run_sweep` of the chapter; the cluster starts
    at the first sweep and stops with the process (or ``.close()``).
    """
    if workers is not None and scheduler is not None:
        raise ValueError(f"workers={workers!r} and scheduler={scheduler!r} are not valid together; give one: "
                         "workers=N starts a local cluster, scheduler= joins a running one")
    if workers is None and scheduler in (None, ""):
        from .executors import InProcess
        if options:
            raise ValueError(f"options {sorted(options)} apply to a Dask executor only; give workers= or scheduler=")
        return InProcess()
    from .dask_executor import Dask
    if workers is not None:
        return Dask(workers=workers, **options)
    return Dask(scheduler=scheduler, **options)


def add_executor_arguments(parser) -> None:
    """Add ``--workers N`` and ``--scheduler ADDRESS`` to an ``argparse`` parser."""
    parser.add_argument("--workers", type=int, default=None,
                        help="train on a local Dask cluster of N worker processes (one per GPU on a GPU node)")
    parser.add_argument("--scheduler", default=None,
                        help="train on a running Dask cluster, e.g. tcp://host:8786 (Slurm: see book/reproducing.md)")


def executor_from_args(args, **options):
    """:func:`executor_from` of the ``--workers`` / ``--scheduler`` of parsed ``args``."""
    return executor_from(workers=getattr(args, "workers", None), scheduler=getattr(args, "scheduler", None),
                         **options)
