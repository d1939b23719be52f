"""Chapter 06: lottery subspaces, lottery tickets and the whole Table-1 taxonomy (Sec. 4, Figs. 3, 6, 10, 11).

The chapter's parameters become two engine grids on the same data, model and seeds:

- ``subspaces``: random affine and burn-in subspaces over ``subspace_d``;
- ``trajectory``: the lottery subspaces (rewound to w_0 and to w_t) over ``lottery_d`` and the
  four pruning methods over ``keep_fractions`` -- one grid, so that the lottery trajectory
  (``max(lottery_d) * 5`` momentum-SGD steps) and the ticket pretraining are the same walk
  of each seed's state, and the four "at step t" cells share w_t.

Both write into one records file. Command line (resumable, seed by seed)::

    python -m dof_helpers.chapters.lottery --preset cpu-large
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..engine import SweepConfig, add_executor_arguments, executor_from_args, records_lock, run_sweep
from ..engine.methods import LOTTERY_SUBSPACES, PRUNING_METHODS, SUBSPACE_METHODS
from .common import DataSpec, chapter_parameters, host_description, utc_now, write_json

CHAPTER = "06_lottery"


def chapter_grids(p: dict) -> dict:
    """``{"subspaces": SweepConfig, "trajectory": SweepConfig}`` from the chapter's parameters."""
    common = dict(seeds=tuple(p["seeds"]), epochs=p["epochs"], t_values=(p["t"],), adam_variant=p["adam_variant"],
                  lr=p["lr"], batch_size=p.get("batch_size", 128))
    return {"subspaces": SweepConfig(methods=("random_affine", "burn_in"), d_values=tuple(p["subspace_d"]), **common),
            "trajectory": SweepConfig(methods=LOTTERY_SUBSPACES + PRUNING_METHODS, d_values=tuple(p["lottery_d"]),
                                      keep_fractions=tuple(p["keep_fractions"]), pretrain_epochs=p["pretrain_epochs"],
                                      scope=p["scope"], ticket_lr=p["ticket_lr"], **common)}


def data_spec(p: dict) -> DataSpec:
    return DataSpec(p["dataset"], p["n_train"], p["n_test"])


def records_path(directory, tag: str) -> Path:
    """Where a grid's records live: ``<directory>/<tag>_records.jsonl``."""
    return Path(directory) / f"{tag}_records.jsonl"


def run_taxonomy(p: dict, path, *, data, progress: bool = False, log=None, executor=None) -> dict:
    """All eight methods, seed by seed (an interrupted run leaves whole seeds behind).

    Resumes from ``path``; returns :func:`split_records` of this grid's records.
    """
    grids = chapter_grids(p)
    log = log or (lambda s: None)
    mine = []
    for seed in grids["subspaces"].seeds:
        t0 = time.perf_counter()
        for name in ("trajectory", "subspaces"):
            one = grids[name].replace(seeds=(seed,))
            mine += run_sweep(one, p["model"], data, path, progress=progress, executor=executor, pool=p["pool"])
            log(f"seed {seed}: {name} done ({time.perf_counter() - t0:.0f} s)")
    return split_records(mine)


def split_records(records) -> dict:
    """``{"subspaces", "pruning", "spectra"}``: subspace-method records, pruning records, and
    one lottery spectrum per seed (the singular values of its trajectory, from the lottery
    record with the largest d)."""
    records = list(records)
    spectra = {}
    for r in records:
        if r["method"] in LOTTERY_SUBSPACES and r.get("singular_values"):
            if len(r["singular_values"]) > len(spectra.get(r["seed"], {}).get("singular_values", [])):
                spectra[r["seed"]] = {"seed": r["seed"], "d_max": r["lottery_d_max"],
                                      "singular_values": r["singular_values"]}
    return {"subspaces": [r for r in records if r["method"] in SUBSPACE_METHODS],
            "pruning": [r for r in records if r["method"] in PRUNING_METHODS],
            "spectra": [spectra[s] for s in sorted(spectra)]}


def write_settings(path, params: dict, grids: dict, out: dict, **extra) -> None:
    """What a grid ran with and how much of it completed (JSON next to its records)."""
    info = dict(parameters=params, grids={k: g.as_dict() for k, g in grids.items()},
                planned_runs={k: g.n_runs() for k, g in grids.items()},
                completed_runs={k: len(v) for k, v in out.items()}, host=host_description(), **extra)
    write_json(path, info)


def main(argv=None) -> int:
    """Run the chapter's grid of a preset outside the notebook, seed by seed, resumable."""
    from ..paths import repo_root
    parser = argparse.ArgumentParser(prog="python -m dof_helpers.chapters.lottery")
    parser.add_argument("--preset", default=None)
    add_executor_arguments(parser)
    args = parser.parse_args(argv)
    p = chapter_parameters(CHAPTER, args.preset)
    data = data_spec(p).load()
    directory = repo_root() / p["records_dir"] / CHAPTER
    directory.mkdir(parents=True, exist_ok=True)
    t0, started = time.perf_counter(), utc_now()
    with records_lock(directory):
        out = run_taxonomy(p, records_path(directory, p["tag"]), data=data, executor=executor_from_args(args),
                           log=lambda s: print(time.strftime("%H:%M:%S"), s, flush=True))
    wall = time.perf_counter() - t0
    print(f"{len(out['subspaces'])} subspace, {len(out['pruning'])} pruning runs in {wall:.0f} s", flush=True)
    write_settings(directory / f"{p['tag']}_settings.json", p, chapter_grids(p), out, started=started, wall_s=wall)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
