"""A sweep on a Slurm cluster: this process drives and writes, one Dask worker per GPU job.

Run it from the repository root on the cluster's login node (or in a small CPU job
there), in the book's environment with ``dask-jobqueue`` added::

    .venv/bin/pip install dask-jobqueue
    .venv/bin/python examples/cluster_sweep.py --jobs 8 --partition gpu --account myproject \\
        --records runs/cluster/sweep.jsonl

Each worker job asks Slurm for one GPU and runs one Dask worker that trains one task at a
time; jobs can start late or die (preemption, walltime): their tasks go to the other
workers. This driver is the only writer; stop it and run the same command again to resume.

``--print-job-script`` prints the batch script of one worker job and exits (check it
before submitting anything); ``--local N`` stands a local cluster of N processes in for
Slurm (how this script is tried without a cluster). The grid options default to chapter
05's ci sweep (36 runs); give the paper's values for the real thing.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from dof_helpers import data, engine

REPO = Path(__file__).resolve().parent.parent


def slurm_cluster(args):
    """Worker jobs of one GPU and one Dask worker each (dask-jobqueue's SLURMCluster)."""
    from dask_jobqueue import SLURMCluster
    return SLURMCluster(
        queue=args.partition, account=args.account, walltime=args.walltime,
        cores=1, job_cpu=4, processes=1, memory="32GB",  # one worker, one task at a time, 4 CPUs for the host side
        job_extra_directives=["--gres=gpu:1"],
        job_script_prologue=[f"cd {REPO}", "source .venv/bin/activate",  # the driver's checkout and environment
                             f"export PYTHONPATH={REPO}${{PYTHONPATH:+:$PYTHONPATH}}"],
        log_directory=str(REPO / "runs" / "slurm-logs"),
    )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=4, help="Slurm worker jobs (one GPU each)")
    ap.add_argument("--partition", default=None)
    ap.add_argument("--account", default=None)
    ap.add_argument("--walltime", default="04:00:00")
    ap.add_argument("--local", type=int, default=None, metavar="N", help="a local cluster of N processes instead")
    ap.add_argument("--print-job-script", action="store_true")
    ap.add_argument("--records", default="runs/cluster/sweep.jsonl")
    ap.add_argument("--dataset", default="fashion_mnist")
    ap.add_argument("--model", default="conv2")
    ap.add_argument("--n-train", type=int, default=1024)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--d-values", type=int, nargs="+", default=[4, 32, 256])
    ap.add_argument("--t-values", type=int, nargs="+", default=[4, 8, 16])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = ap.parse_args(argv)

    if args.local:
        from distributed import LocalCluster
        cluster = LocalCluster(n_workers=args.local, threads_per_worker=1, dashboard_address=None)
    else:
        cluster = slurm_cluster(args)
        if args.print_job_script:
            print(cluster.job_script())
            cluster.close()
            return
        cluster.scale(jobs=args.jobs)
    print(f"scheduler {cluster.scheduler_address}")

    ds = data.load_dataset(args.dataset, n_train=args.n_train)
    config = engine.SweepConfig(methods=("random_affine", "burn_in"), d_values=args.d_values,
                                t_values=args.t_values, seeds=args.seeds, epochs=args.epochs)
    # join the cluster by its address, as a chapter does with scheduler=...
    with engine.executor_from(scheduler=cluster.scheduler_address, timeout=600) as executor:
        records = engine.run_sweep(config, args.model, ds, args.records, executor=executor,
                                   progress=os.isatty(1))
        print(f"{len(records)} records in {args.records}; {executor.last_run}")
    cluster.close()


if __name__ == "__main__":
    main()
