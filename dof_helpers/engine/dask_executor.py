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

import os
import time
import uuid
import weakref
from collections import Counter
from pathlib import Path

from ..validation import check_choice, check_int
from .clusters import _driver_gpu_memory, gpu_ids, local_cluster
from .dask_worker import _package_dir, _precision_values, _run_task, _worker_backend, code_fingerprint
from .config import STRATEGIES
from .methods import SUBSPACE_METHODS



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
