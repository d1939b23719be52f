"""Sweeps over many processes and machines: the Dask executor.

:class:`Dask` trains a sweep's runs on the workers of a ``dask.distributed`` cluster::

    executor = engine.executor_from(workers=2)            # a local cluster of 2 processes
    executor = engine.executor_from(scheduler="tcp://10.0.0.5:8786")   # a running cluster
    with executor:                                          # closes what it started
        engine.run_sweep(config, "conv2", ds, "runs/x/sweep.jsonl", executor=executor)

``workers=N`` starts N worker processes on this machine: one per GPU, each pinned to
its device with ``CUDA_VISIBLE_DEVICES``, when GPUs are found (``nvidia-smi`` or
``$CUDA_VISIBLE_DEVICES``; workers sharing a GPU get ``XLA_PYTHON_CLIENT_PREALLOCATE=false``);
N CPU processes otherwise. ``scheduler=`` joins a cluster started elsewhere (Slurm with
``dask-jobqueue``, ``dask scheduler`` + ``dask worker``; see ``book/reproducing.md``).

**Tasks.** The runs are cut into tasks: a few runs of one seed (``chunk_runs``; with
``strategy="vmap"``, on accelerators, a vmapped group of one (method, d, t) over seeds).
A worker builds a seed's state (:class:`state.SeedState`: w_0, the trajectory, masks)
from *all* of that seed's pending runs, exactly as the in-process executor does, and
keeps it in a small per-process cache (:data:`_STATES`) while it serves the seed's
other tasks; the driver hands a free worker a task of a seed it already holds first, so
each seed's state is usually built once. The model and data travel once per worker
(``client.scatter(..., broadcast=True)``).

**One writer.** Workers return records; only the driver (:func:`sweep.run_sweep`)
appends them, as each task completes, through the same :class:`records.RunWriter`
(progress bar with ETA) and under the records folder's lock (:mod:`engine.lock`). A
worker that dies mid-task: the scheduler reruns its tasks on other workers (a task that
kills ``distributed.scheduler.allowed-failures`` workers, default 3, fails the sweep);
records are written once per key whatever happens (the driver skips a key it has
already written). The driver killed: running it again resumes from the records.

**Same numbers.** A run's numbers depend on its own coordinates only (:mod:`engine.keys`),
so the records equal the in-process ones (``wall_time`` aside). Each task checks that
the worker runs the same ``dof_helpers`` source as the driver (else its records would
carry keys they do not deserve) and applies the driver's JAX precision settings.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
import warnings
import weakref
from collections import Counter, OrderedDict
from pathlib import Path

from ..validation import check_choice, check_int
from .config import STRATEGIES
from .methods import SUBSPACE_METHODS

#: worker side: SeedStates kept between tasks, most recently used last
_STATES: "OrderedDict[tuple, object]" = OrderedDict()
_STATES_LOCK = threading.Lock()
_CODE_FINGERPRINT: str | None = None


# ---------------------------------------------------------------------------- the executor
class Dask:
    """Train runs on a ``dask.distributed`` cluster (module docstring).

    Give one of ``workers`` (start a local cluster of that many worker processes),
    ``scheduler`` (the address of a running scheduler, e.g. ``"tcp://host:8786"``) or
    ``client`` (a connected ``distributed.Client``). Nothing starts until the first
    sweep; the cluster then stays up for the following sweeps until :meth:`close` (or
    the end of the ``with`` block, or of the process).

    ``chunk_runs``: runs per task (smaller: finer balance and less lost to a dead worker;
    larger: less overhead). ``strategy``: "loop" or "vmap" on the workers ("auto": the
    sweep config's ``strategy``, whose "auto" means vmap when every worker has an
    accelerator, else loop); ``batch_runs``: runs per vmapped task (default the config's).
    ``gpus``: "auto" (detect), or the GPU ids to pin local workers to, or () for none.
    ``state_cache``: seed states a worker keeps. ``compilation_cache``: a folder (shared by
    the workers, e.g. on the cluster's file system) for JAX's persistent compilation
    cache, so each program compiles once for all workers and for restarted ones (None:
    each worker compiles what it runs). ``cluster_options`` go to
    ``distributed.LocalCluster`` (e.g. ``memory_limit``); ``timeout`` (s) bounds waiting
    for a scheduler or its first worker.
    """

    def __init__(self, workers: int | None = None, scheduler: str | None = None, *, client=None,
                 chunk_runs: int = 4, strategy: str = "auto", batch_runs: int | None = None, gpus="auto",
                 threads_per_worker: int = 1, state_cache: int = 4, compilation_cache: str | None = None,
                 cluster_options: dict | None = None, timeout: float = 120.0):
        given = [n for n, v in (("workers", workers), ("scheduler", scheduler), ("client", client)) if v is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of workers=N, scheduler='tcp://host:port' or client=...; got "
                             f"{', '.join(given) or 'none'}")
        if workers is not None:
            workers = check_int("workers", workers, min_value=1)
        if scheduler is not None and (not isinstance(scheduler, str) or not scheduler.strip()):
            raise ValueError(f"scheduler={scheduler!r} is not valid; expected an address such as 'tcp://host:8786'")
        self.workers, self.scheduler = workers, scheduler
        self.chunk_runs = check_int("chunk_runs", chunk_runs, min_value=1)
        self.strategy = check_choice("strategy", strategy, STRATEGIES)
        self.batch_runs = None if batch_runs is None else check_int("batch_runs", batch_runs, min_value=1)
        self.threads_per_worker = check_int("threads_per_worker", threads_per_worker, min_value=1)
        self.state_cache = check_int("state_cache", state_cache, min_value=1)
        if gpus != "auto" and not isinstance(gpus, (list, tuple)):
            raise ValueError(f"gpus={gpus!r} is not valid; expected 'auto', a list of GPU ids, or () for none")
        self.gpus = gpus
        self._gpu_ids = None
        if workers is not None:
            self._gpu_ids = gpu_ids() if gpus == "auto" else [str(g) for g in gpus]
            if self._gpu_ids:
                _driver_gpu_memory()  # now: the sweep's first JAX call (fingerprints) may come before the cluster
        self.compilation_cache = (None if compilation_cache is None
                                  else str(Path(compilation_cache).expanduser().resolve()))
        self.cluster_options = dict(cluster_options or {})
        self.timeout = float(timeout)
        self._client, self._cluster, self._own_client = client, None, False
        self._finalizer = None
        self._backends = None
        self.last_run: dict = {}

    def __repr__(self):
        where = (f"workers={self.workers}" if self.workers is not None else
                 f"scheduler={self.scheduler!r}" if self.scheduler is not None else f"client={self._client!r}")
        return f"engine.Dask({where}, chunk_runs={self.chunk_runs}, strategy={self.strategy!r})"

    # -------------------------------------------------------------- lifecycle
    @property
    def client(self):
        """The ``distributed.Client`` (connecting, or starting the local cluster, on first use)."""
        if self._client is None:
            self._start()
        return self._client

    @property
    def cluster(self):
        """The local cluster this executor started (None when it joined one)."""
        return self._cluster

    def _start(self):
        from distributed import Client
        if self.workers is not None:
            self._cluster = local_cluster(self.workers, gpus=self._gpu_ids, threads_per_worker=self.threads_per_worker,
                                          **self.cluster_options)
            self._client = Client(self._cluster, timeout=self.timeout)
        else:
            try:
                self._client = Client(self.scheduler, timeout=self.timeout)
            except OSError as err:
                raise ConnectionError(f"cannot reach the Dask scheduler at {self.scheduler!r} within "
                                      f"{self.timeout:.0f} s ({err}); is it running, and is the address what "
                                      "`dask scheduler` (or cluster.scheduler_address) printed?") from err
        self._own_client = True
        self._finalizer = weakref.finalize(self, _shutdown, self._client, self._cluster)

    def close(self) -> None:
        """Close the client and the local cluster this executor started (a given client is left open)."""
        if self._finalizer is not None:
            self._finalizer()
            self._finalizer = None
        if self._own_client:
            self._client, self._cluster, self._own_client = None, None, False
        self._backends = None

    def __enter__(self) -> "Dask":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -------------------------------------------------------------- the protocol
    def worker_pids(self) -> dict:
        """``{worker address: pid}`` of the workers now connected."""
        return self.client.run(os.getpid)

    def _wait_for_workers(self):
        try:
            self.client.wait_for_workers(1, timeout=self.timeout)
        except TimeoutError as err:
            raise TimeoutError(f"no Dask worker joined the scheduler {self.client.scheduler.address} within "
                               f"{self.timeout:.0f} s; start some (dask worker ADDRESS, or cluster.scale(...))") from err

    def _use_vmap(self, config) -> bool:
        from ..batched import pick_strategy
        strategy = config.strategy if self.strategy == "auto" else self.strategy
        if strategy != "auto":
            return pick_strategy(strategy) == "vmap"
        if self._backends is None:
            self._backends = set(self.client.run(_worker_backend).values())
        return bool(self._backends) and "cpu" not in self._backends

    def run(self, context, config, runs):
        """Records of ``runs`` as their tasks finish (any order), each key once."""
        from distributed import wait
        runs = list(runs)
        if not runs:
            return
        client = self.client
        self._wait_for_workers()
        t_start = time.perf_counter()
        vmap = self._use_vmap(config)
        tasks = plan_tasks(runs, vmap=vmap, chunk_runs=self.chunk_runs,
                           batch_runs=self.batch_runs or config.batch_runs)
        by_seed: dict = {}
        for r in runs:
            by_seed.setdefault(r["seed"], []).append(r)
        job = {"context": context, "config": config, "precision": _precision_values(),
               "compilation_cache": self.compilation_cache,
               "code": code_fingerprint(), "code_path": str(_package_dir()), "state_cache": self.state_cache,
               "vmap": vmap, "batch_runs": self.batch_runs or config.batch_runs}
        payload = client.scatter(job, broadcast=True, hash=False)
        stamp = uuid.uuid4().hex[:8]
        queue = list(range(len(tasks)))  # task indices, in the plan's order
        in_flight: dict = {}  # future -> (task index, worker it was handed to)
        held: dict = {}  # worker -> seeds whose state it has (or is building)
        written: set = set()
        stats = Counter()
        pids = set()

        def submit(i, worker):
            nonlocal payload
            seeds = sorted({r["seed"] for r in tasks[i]})
            fut = client.submit(_run_task, payload, {s: by_seed[s] for s in seeds}, tasks[i],
                                key=f"dof-runs-{stamp}-{i}-{stats['submitted']}", priority=-i, pure=False,
                                workers=[worker] if worker else None, allow_other_workers=True)
            in_flight[fut] = (i, worker)
            if worker:
                held.setdefault(worker, set()).update(seeds)
            stats["submitted"] += 1

        try:
            while queue or in_flight:
                capacity = client.nthreads()
                if not capacity and not in_flight:
                    self._wait_for_workers()
                    continue
                for gone in set(held) - set(capacity):  # a dead worker's states died with it
                    del held[gone]
                load = Counter(w for _, w in in_flight.values())
                for w, nthreads in sorted(capacity.items(), key=lambda kv: load[kv[0]]):
                    while queue and load[w] < nthreads + 1:  # one task waiting behind each running one
                        i = pick_task(queue, tasks, held.get(w, set()), set().union(*held.values()) if held else set())
                        queue.remove(i)
                        submit(i, w)
                        load[w] += 1
                try:
                    done, _ = wait(list(in_flight), timeout=2.0, return_when="FIRST_COMPLETED")
                except TimeoutError:
                    continue  # look again at the workers (some may have joined or left)
                for fut in done:
                    i, w = in_flight.pop(fut)
                    try:
                        result = fut.result()
                    except Exception as err:  # noqa: BLE001
                        if _lost_data(err) and stats["resubmitted"] < 3 * len(tasks):
                            # the scattered model and data were lost with their workers: send them again
                            payload = client.scatter(job, broadcast=True, hash=False)
                            stats["resubmitted"] += 1
                            held.pop(w, None)
                            submit(i, None)
                            continue
                        raise _explain(err, tasks[i]) from err
                    finally:
                        fut.release()
                    stats["tasks"] += 1
                    stats["states_built"] += result["states_built"]
                    stats["compute_ms"] += int(1000 * result["compute_s"])
                    pids.add((result["host"], result["pid"]))
                    want = {r["key"] for r in tasks[i]}
                    got = {r.get("key") for r in result["records"]}
                    if got != want:
                        raise RuntimeError(f"a worker returned records for keys {sorted(got - want)} and none for "
                                           f"{sorted(want - got)} of its task; its dof_helpers differs from this one")
                    for rec in result["records"]:
                        if rec["key"] in written:
                            stats["duplicates_skipped"] += 1
                            continue
                        written.add(rec["key"])
                        yield rec
        finally:
            if in_flight:
                client.cancel(list(in_flight))
            self.last_run = {"runs": len(runs), "tasks": len(tasks), "written": len(written), "vmap": vmap,
                             "wall_s": time.perf_counter() - t_start, "worker_processes": len(pids),
                             **{k: v for k, v in stats.items() if k != "compute_ms"},
                             "compute_s": stats["compute_ms"] / 1000}
            del payload


def _shutdown(client, cluster):
    for thing in (client, cluster):
        if thing is not None:
            try:
                thing.close()
            except Exception:  # noqa: BLE001  -- closing at exit: nothing useful to do
                pass


def _lost_data(err) -> bool:
    from concurrent.futures import CancelledError as CF
    from asyncio import CancelledError as AC
    return isinstance(err, (CF, AC)) or type(err).__name__ in ("FutureCancelledError", "CancelledError")


def _explain(err, task):
    if type(err).__name__ == "KilledWorker":
        return RuntimeError(f"the task of runs {[r['key'] for r in task]} (seed {task[0]['seed']}, "
                            f"{task[0]['method']}) killed every worker that ran it (out of memory?); the records "
                            "written so far are kept, rerun to resume. Dask said: " + str(err))
    return err


# ---------------------------------------------------------------------------- planning (driver)
def plan_tasks(runs, *, vmap: bool = False, chunk_runs: int = 4, batch_runs: int = 64) -> list[list[dict]]:
    """Cut ``runs`` into tasks, in the runs' order of first appearance.

    Loop (CPU): chunks of at most ``chunk_runs`` runs of one seed. Vmap: the subspace
    runs sharing (method, d, t) over seeds, at most ``batch_runs`` a task
    (:func:`executors.groups_of`); the other runs in chunks of one seed.
    """
    from .executors import groups_of
    tasks: list[list[dict]] = []
    open_chunk: dict = {}

    def add(run):
        chunk = open_chunk.get(run["seed"])
        if chunk is None or len(chunk) >= chunk_runs:
            chunk = open_chunk[run["seed"]] = []
            tasks.append(chunk)
        chunk.append(run)

    if vmap:
        for group in groups_of(runs, batch_runs):
            if len(group) > 1 and group[0]["method"] in SUBSPACE_METHODS:
                tasks.append(group)
            else:
                for r in group:
                    add(r)
    else:
        for r in runs:
            add(r)
    return tasks


def pick_task(queue: list[int], tasks, mine: set, anyones: set) -> int:
    """The next task for a worker holding the states of seeds ``mine``: the first (in
    plan order) whose seeds it holds, else the first whose seeds no worker holds yet,
    else the first."""
    fresh = None
    for i in queue:
        seeds = {r["seed"] for r in tasks[i]}
        if seeds <= mine:
            return i
        if fresh is None and not (seeds & anyones):
            fresh = i
    return queue[0] if fresh is None else fresh


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
    preload = f"import sys; sys.path.insert(0, {str(_package_dir().parent)!r})"
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
