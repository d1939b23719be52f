"""The Dask executor: a 2-worker local cluster gives the in-process records; a worker
killed mid-sweep loses and duplicates nothing; choosing an executor; pinning GPU workers.

One cluster serves the module (starting worker processes that import JAX is the slow
part); the whole file takes well under a minute on two cores.
"""
import argparse
import json
import os
import signal

import flax.linen as nn
import numpy as np
import pytest

pytest.importorskip("distributed")

from _tiny import tiny_data  # noqa: E402
from dof_helpers import data, engine  # noqa: E402
from dof_helpers.engine import clusters, dask_executor  # noqa: E402
from dof_helpers.records import load_records  # noqa: E402


class TinyMLP(nn.Module):
    """Quicker to compile than a conv net: the workers compile every program again."""
    @nn.compact
    def __call__(self, x):
        return nn.Dense(10)(nn.relu(nn.Dense(8)(x.reshape((x.shape[0], -1)))))


# every family: random subspace, burn-in, lottery subspace (a trajectory), pruning, full
CONFIG = engine.SweepConfig(methods=("random_affine", "burn_in", "lottery_subspace", "random_pruning", "full"),
                            d_values=(4,), keep_fractions=(0.5,), t_values=(3,), seeds=(0, 1), epochs=1,
                            batch_size=32, lottery_every=2)


@pytest.fixture(scope="module")
def ds():
    return tiny_data(n=128, n_test=64)


@pytest.fixture(scope="module")
def compile_cache(tmp_path_factory):
    """One JAX compilation cache for this process and the workers: each program compiles once."""
    import jax
    from jax.experimental.compilation_cache import compilation_cache
    folder = str(tmp_path_factory.mktemp("jax_cache"))
    before = (jax.config.jax_compilation_cache_dir, jax.config.jax_persistent_cache_min_compile_time_secs)
    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    compilation_cache.reset_cache()
    yield folder
    jax.config.update("jax_compilation_cache_dir", before[0])
    jax.config.update("jax_persistent_cache_min_compile_time_secs", before[1])
    compilation_cache.reset_cache()


@pytest.fixture(scope="module")
def dask2(compile_cache):
    ex = engine.Dask(workers=2, gpus=(), chunk_runs=2, compilation_cache=compile_cache, timeout=120)
    yield ex
    ex.close()


def _strip(rec):
    return {k: v for k, v in rec.items() if k != "wall_time"}


def _same(a, b):
    """Equal records up to float tolerance (lists and scalars)."""
    assert a.keys() == b.keys()
    for k in a:
        x, y = a[k], b[k]
        if isinstance(x, (float, list)) and x is not None and not isinstance(x, bool):
            np.testing.assert_allclose(np.asarray(x, float), np.asarray(y, float), rtol=1e-5, atol=1e-6, err_msg=k)
        else:
            assert x == y, k


def test_two_workers_give_the_in_process_records(tmp_path, ds, dask2):
    ref = engine.run_sweep(CONFIG, TinyMLP(), ds, tmp_path / "a" / "r.jsonl", progress=False)
    got = engine.run_sweep(CONFIG, TinyMLP(), ds, tmp_path / "b" / "r.jsonl", progress=False, executor=dask2)
    assert len(ref) == 10 and all(r["status"] == "ok" for r in ref)
    assert sorted(r["key"] for r in got) == sorted(r["key"] for r in ref)
    by_key = {r["key"]: r for r in got}
    for r in ref:
        _same(_strip(json.loads(json.dumps(r))), _strip(by_key[r["key"]]))
    stats = dask2.last_run
    assert stats["worker_processes"] == 2 and stats["written"] == 10
    assert stats["states_built"] <= 2 * len(CONFIG.seeds)  # a seed's state at most once per worker
    assert not (tmp_path / "b" / engine.LOCK_NAME).exists()  # released


def test_joining_a_running_cluster_by_address(tmp_path, ds, dask2):
    with engine.executor_from(scheduler=dask2.cluster.scheduler_address) as joined:
        got = engine.run_sweep(CONFIG.replace(seeds=(2,)), TinyMLP(), ds, tmp_path / "r.jsonl", progress=False,
                               executor=joined)
    assert len(got) == 5 and joined.last_run["written"] == 5
    assert dask2.client.status == "running"  # closing the joined client leaves the cluster up


def test_a_worker_killed_mid_sweep_loses_and_duplicates_nothing(tmp_path, ds, dask2):
    config = CONFIG.replace(methods=("random_affine", "burn_in"), d_values=(3, 5), seeds=(0, 1, 2, 3), epochs=2)
    path = tmp_path / "r.jsonl"
    killed = []

    def kill_a_busy_worker(record):
        if killed:
            return
        busy = [w for w, keys in dask2.client.processing().items() if keys]
        pids = dask2.worker_pids()
        victim = busy[0] if busy else next(iter(pids))
        os.kill(pids[victim], signal.SIGKILL)
        killed.append((pids[victim], bool(busy)))

    records = engine.run_sweep(config, TinyMLP(), ds, path, progress=False, executor=dask2,
                               callback=kill_a_busy_worker)
    planned = {r["key"] for r in engine.plan_runs(config, engine.make_context(TinyMLP(), ds))}
    written = [r["key"] for r in load_records(path)]
    assert killed and killed[0][1], "the kill should hit a worker with tasks"
    assert len(written) == len(set(written)) == len(planned) == 16  # no duplicate
    assert set(written) == planned and len(records) == 16  # nothing missing
    assert killed[0][0] not in dask2.worker_pids().values()


def test_executor_from_and_command_line():
    assert isinstance(engine.executor_from(), engine.InProcess)
    ex = engine.executor_from(workers=2)
    assert isinstance(ex, engine.Dask) and ex.workers == 2 and ex.cluster is None  # nothing started yet
    assert engine.executor_from(scheduler="tcp://10.0.0.5:8786").scheduler == "tcp://10.0.0.5:8786"
    with pytest.raises(ValueError, match="workers=2 and scheduler="):
        engine.executor_from(workers=2, scheduler="tcp://x:1")
    with pytest.raises(ValueError, match="workers=0 is not valid"):
        engine.executor_from(workers=0)
    with pytest.raises(ValueError, match="apply to a Dask executor only"):
        engine.executor_from(chunk_runs=3)
    parser = argparse.ArgumentParser()
    engine.add_executor_arguments(parser)
    args = parser.parse_args(["--workers", "3"])
    assert engine.executor_from_args(args).workers == 3
    assert isinstance(engine.executor_from_args(parser.parse_args([])), engine.InProcess)


def test_plan_tasks_keep_a_seed_together_and_vmap_groups_cross_seeds():
    runs = [{"method": m, "d": d, "t": 0, "seed": s, "key": f"{m}{d}{s}"}
            for s in (0, 1) for m in ("random_affine", "full") for d in (4, 8)]
    loop = dask_executor.plan_tasks(runs, chunk_runs=3)
    assert [len(t) for t in loop] == [3, 1, 3, 1] and all(len({r["seed"] for r in t}) == 1 for t in loop)
    vmap = dask_executor.plan_tasks(runs, vmap=True, chunk_runs=3, batch_runs=8)
    assert sorted(r["key"] for t in vmap for r in t) == sorted(r["key"] for r in runs)
    assert any(len({r["seed"] for r in t}) == 2 for t in vmap)  # one (method, d) over both seeds
    queue = list(range(len(loop)))
    assert dask_executor.pick_task(queue, loop, mine={1}, anyones={0, 1}) == 2  # its own seed first
    assert dask_executor.pick_task(queue, loop, mine=set(), anyones={0}) == 2  # else a seed nobody holds


def test_gpu_workers_are_pinned_one_per_device():
    envs = clusters.worker_envs(3, ["0", "1"])
    assert [e["CUDA_VISIBLE_DEVICES"] for e in envs] == ["0", "1", "0"]
    assert all(e["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false" for e in envs)  # they share GPU 0
    assert clusters.worker_envs(2, ["2", "3"]) == [{"CUDA_VISIBLE_DEVICES": "2"}, {"CUDA_VISIBLE_DEVICES": "3"}]
    assert clusters.worker_envs(2, []) == [{}, {}]
    spec = {"cls": object, "options": {"nthreads": 1, "env": {"A": "1"}}}
    name, got = clusters.worker_spec(spec, envs, taken={"w0"})
    assert name == "w1" and got["options"]["env"] == {"A": "1", "CUDA_VISIBLE_DEVICES": "1",
                                                      "XLA_PYTHON_CLIENT_PREALLOCATE": "false"}
    assert spec["options"]["env"] == {"A": "1"}  # the template is not modified
