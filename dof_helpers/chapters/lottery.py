"""Chapter 06: lottery subspaces, lottery tickets and the whole Table-1 taxonomy (Sec. 4, Figs. 3, 6, 10, 11).

The chapter's parameters become two engine grids on the same data, model and seeds:

- ``subspaces``: random affine and burn-in subspaces over ``subspace_d``;
- ``trajectory``: the lottery subspaces (rewound to w_0 and to w_t) over ``lottery_d`` and the
  four pruning methods over ``keep_fractions`` -- one grid, so that the lottery trajectory
  (``max(lottery_d) * 5`` momentum-SGD steps, the original code's length) and the ticket
  pretraining are the same walk of each seed's state, and the four "at step t" cells share w_t;
- ``matched`` (when ``lottery_steps_cap`` is not None): the same two lottery subspaces built
  from a trajectory capped at ``lottery_steps_cap`` steps ("full": the full model's
  ``epochs * (n_train // batch_size)`` steps), over the d of ``lottery_d`` that such a
  trajectory has directions for (one every 5 steps). It is the compute-matched comparison:
  the original lottery trajectory may take more SGD steps than the full model trains for.

All write into one records file (:mod:`.lottery_records`: its path, how it splits into the
chapter's curves, the settings beside it, the committed grids). Command line (resumable, seed by seed)::

    python -m dof_helpers.chapters.lottery --preset cpu-large
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ..engine import (SweepConfig, add_executor_arguments, executor_from_args, records_lock, refresh_or_read,
                      run_sweep)
from ..engine.methods import LOTTERY_SUBSPACES, PRUNING_METHODS, SUBSPACE_METHODS
from ..validation import check_int
from .common import STATES, DataSpec, chapter_parameters, is_complete, utc_now, write_json
from .lottery_records import records_path, split_records, write_settings

CHAPTER = "06_lottery"
#: the grids of :func:`chapter_grids`, in the order each seed runs them
GRID_NAMES = ("trajectory", "subspaces", "matched")
#: the accepted non-integer values of ``lottery_steps_cap`` (an integer >= 1 is a step count)
STEPS_CAPS = (None, "full")


def full_model_steps(p: dict) -> int:
    """SGD steps of the full model (and of every run): ``epochs * (n_train // batch_size)``."""
    return int(p["epochs"]) * (int(p["n_train"]) // int(p.get("batch_size", 128)))


def original_lottery_steps(p: dict, lottery_every: int = 5) -> int:
    """Steps of the original code's lottery trajectory: ``lottery_every * max(lottery_d)``."""
    return lottery_every * max(p["lottery_d"])


def matched_lottery_steps(p: dict) -> int | None:
    """The compute-matched lottery trajectory's length from ``lottery_steps_cap`` (None: no such grid).

    ``"full"`` caps it at :func:`full_model_steps`, an integer at that many steps; it never
    exceeds the original length (a cap does not lengthen the trajectory).
    """
    cap = p.get("lottery_steps_cap")
    if cap is None:
        return None
    if isinstance(cap, str):
        if cap != "full":
            raise ValueError(f"lottery_steps_cap={cap!r} is not valid; accepted values: None, 'full' "
                             "(the full model's training steps) or an integer >= 1 (SGD steps)")
        steps = full_model_steps(p)
    else:
        try:
            steps = check_int("lottery_steps_cap", cap, min_value=1)
        except ValueError:
            raise ValueError(f"lottery_steps_cap={cap!r} is not valid; accepted values: None, 'full' "
                             "(the full model's training steps) or an integer >= 1 (SGD steps)") from None
    return min(steps, original_lottery_steps(p))


def matched_d_values(p: dict, lottery_every: int = 5) -> tuple:
    """The d of ``lottery_d`` that the capped trajectory has directions for (one per ``lottery_every`` steps)."""
    steps = matched_lottery_steps(p)
    if steps is None:
        return ()
    return tuple(d for d in p["lottery_d"] if d <= steps // lottery_every)


def chapter_grids(p: dict) -> dict:
    """``{"subspaces": SweepConfig, "trajectory": SweepConfig}`` from the chapter's parameters."""
    common = dict(seeds=tuple(p["seeds"]), epochs=p["epochs"], t_values=(p["t"],), adam_variant=p["adam_variant"],
                  lr=p["lr"], batch_size=p.get("batch_size", 128))
    grids = {"subspaces": SweepConfig(methods=("random_affine", "burn_in"), d_values=tuple(p["subspace_d"]), **common),
             "trajectory": SweepConfig(methods=LOTTERY_SUBSPACES + PRUNING_METHODS, d_values=tuple(p["lottery_d"]),
                                       keep_fractions=tuple(p["keep_fractions"]), pretrain_epochs=p["pretrain_epochs"],
                                       scope=p["scope"], ticket_lr=p["ticket_lr"], **common)}
    steps, d_values = matched_lottery_steps(p), matched_d_values(p)
    if steps is not None and d_values and steps < grids["trajectory"].lottery_length():
        grids["matched"] = SweepConfig(methods=LOTTERY_SUBSPACES, d_values=d_values, lottery_steps=steps, **common)
    return grids


def data_spec(p: dict) -> DataSpec:
    return DataSpec(p["dataset"], p["n_train"], p["n_test"])


def run_taxonomy(p: dict, path, *, data, progress: bool = False, log=None, executor=None, reuse_from=(),
                 callback=None, only=None) -> dict:
    """All eight methods, seed by seed (an interrupted run leaves whole seeds behind).

    Resumes from ``path``; returns :func:`split_records` of this grid's records.
    ``reuse_from``: records files whose runs of this grid (same key) are copied instead of
    trained (:func:`engine.sweep.reusable_records`; e.g. chapter 05's paper-protocol records
    hold this chapter's random affine and burn-in runs at the paper's protocol).
    ``callback(record)`` follows every new record (e.g. :func:`refresh_settings`). ``only``:
    the names of the grids to run in this call (default: all of :func:`chapter_grids`), e.g.
    ``("trajectory", "matched")`` while the records that ``reuse_from`` would copy for the
    ``subspaces`` grid are still being written elsewhere.
    """
    grids = chapter_grids(p)
    if only is not None:
        bad = sorted(set(only) - set(GRID_NAMES))
        if bad:
            raise ValueError(f"only={list(only)!r} is not valid: {bad} not among the grids {list(GRID_NAMES)}")
        grids = {k: v for k, v in grids.items() if k in only}
        if not grids:
            raise ValueError(f"only={list(only)!r} is not valid: this parameter set has no such grid "
                             f"(it has {list(chapter_grids(p))})")
    log = log or (lambda s: None)
    mine = []
    for seed in p["seeds"]:
        t0 = time.perf_counter()
        for name in GRID_NAMES:
            if name not in grids:
                continue
            one = grids[name].replace(seeds=(seed,))
            mine += run_sweep(one, p["model"], data, path, progress=progress, executor=executor, pool=p["pool"],
                              reuse_from=reuse_from, callback=callback)
            log(f"seed {seed}: {name} done ({time.perf_counter() - t0:.0f} s)")
    return split_records(mine)


def trajectory_budget(p: dict) -> dict:
    """SGD steps behind each lottery subspace of a parameter set: ``original`` (the original
    code's ``5 * max(lottery_d)``), ``full_model`` (``epochs * (n_train // batch_size)``),
    ``matched`` (the capped trajectory, None without one), ``matched_directions`` (its
    columns, one per 5 steps) and ``matched_d`` (the d it is run at)."""
    steps = matched_lottery_steps(p)
    return {"original": original_lottery_steps(p), "full_model": full_model_steps(p), "matched": steps,
            "matched_directions": None if steps is None else steps // 5, "matched_d": list(matched_d_values(p))}


def budget_from_records(grid: dict) -> dict:
    """The same as :func:`trajectory_budget`, read off a grid's records (:func:`split_records`):
    the trajectories' ``lottery_steps`` and the full model's ``steps`` (the unpruned ticket)."""
    def one(recs, field):
        vals = sorted({int(r[field]) for r in recs if r.get(field) is not None})
        if len(vals) > 1:
            raise ValueError(f"records disagree on {field}: {vals}")
        return vals[0] if vals else None
    lottery = [r for r in grid["subspaces"] if r["method"] in LOTTERY_SUBSPACES]
    full = [r for r in grid["pruning"] if r["method"] == "lottery_ticket" and r["keep_fraction"] == 1.0]
    matched = one(grid["matched"], "lottery_steps")
    return {"original": one(lottery, "lottery_steps"), "full_model": one(full, "steps"), "matched": matched,
            "matched_directions": None if matched is None else matched // one(grid["matched"], "lottery_every"),
            "matched_d": sorted({int(r["d"]) for r in grid["matched"]})}


def budget_sentence(budget: dict) -> str:
    """One printed sentence from :func:`trajectory_budget` or :func:`budget_from_records`."""
    head = (f"the original lottery trajectory takes {budget['original']} SGD steps (5 x the largest d), the full "
            f"model trains for {budget['full_model']} steps")
    if budget["matched"] is None or not budget["matched_d"]:
        return head + "; no compute-matched trajectory (lottery_steps_cap None, or too short for any d of lottery_d)"
    return (head + f"; the compute-matched trajectory is capped at {budget['matched']} steps "
            f"({budget['matched_directions']} direction(s), one per 5 steps) and run at d = {budget['matched_d']}")


def gap_sentence(train, test, name: str) -> str:
    """The gap compute-matched minus original (tables of :func:`compute_matched_table`) in words."""
    if not len(train):
        return f"{name}: no compute-matched lottery runs to compare"
    parts = []
    for split, tab in (("train", train), ("test", test)):
        better = int((tab["gap"] > 0).sum())
        parts.append(f"{split} accuracy: compute-matched higher at {better} of {len(tab)} (method, d) cells, "
                     f"gap from {tab['gap'].min():+.3f} to {tab['gap'].max():+.3f} (mean {tab['gap'].mean():+.3f})")
    return f"{name}: " + "; ".join(parts)


def compute_matched_table(grid: dict, metric: str = "train_acc"):
    """Original against compute-matched lottery subspaces at every d both were run at.

    Per (method, d): mean and standard deviation over seeds of the best ``metric``
    (running maximum over d, as for every nested subspace) with the original trajectory and
    with the capped one, and the gap ``matched - original``. Empty without matched records.
    """
    import pandas as pd
    from ..taxonomy import mean_curves, taxonomy_frame
    cols = ["method", "t", "d", "original", "original_std", "matched", "matched_std", "gap"]
    lottery = [r for r in grid["subspaces"] if r["method"] in LOTTERY_SUBSPACES]
    if not grid["matched"] or not lottery:
        return pd.DataFrame(columns=cols)
    orig = mean_curves(taxonomy_frame(lottery, [], metric=metric), metric)
    cap = mean_curves(taxonomy_frame(grid["matched"], [], metric=metric), metric)
    both = orig.merge(cap, on=["method", "t", "d"], suffixes=("_o", "_m"))
    out = pd.DataFrame({"method": both["method"], "t": both["t"], "d": both["d"], "original": both["mean_o"],
                        "original_std": both["std_o"], "matched": both["mean_m"], "matched_std": both["std_m"],
                        "gap": both["mean_m"] - both["mean_o"]})
    return out[cols].sort_values(["method", "d"]).reset_index(drop=True)


def completion(p: dict, records, context) -> dict:
    """How much of the chapter's grids ``records`` hold, by run key (:func:`engine.plan_runs`).

    ``done``/``expected`` over all grids, ``per_grid`` ("recorded/planned" per grid of
    :func:`chapter_grids`), ``seeds_complete`` (the seeds whose every run of every grid is
    recorded: the ones a partial grid can be shown with), ``reused`` (records copied from
    other records files, ``reused_from``) and ``wall_s_trained`` (the wall time of the runs
    trained into this file, reused ones excluded)."""
    from ..engine import plan_runs
    have = {r["key"]: r for r in records}
    per_grid, missing_seeds, mine, expected = {}, set(), [], 0
    for name, grid in chapter_grids(p).items():
        runs = plan_runs(grid, context)
        hit = [have[r["key"]] for r in runs if r["key"] in have]
        missing_seeds |= {r["seed"] for r in runs if r["key"] not in have}
        per_grid[name] = f"{len(hit)}/{len(runs)}"
        mine, expected = mine + hit, expected + len(runs)
    done = len(mine)
    return {"done": done, "expected": expected, "per_grid": per_grid,
            "seeds_complete": [int(s) for s in p["seeds"] if s not in missing_seeds],
            "reused": sum(1 for r in mine if r.get("reused_from")),
            "wall_s_trained": round(sum(r.get("wall_time", 0.0) for r in mine if not r.get("reused_from")), 1)}


def refresh_settings(path, p: dict, records_path, context, *, preset: str | None = None,
                     state: str | None = None) -> dict:
    """Bring a grid's settings file (``path``) up to date with its records: ``completion``
    (:func:`completion`), ``state`` (:data:`STATES`; default "complete" when every run is
    recorded, else "partial"), ``updated_utc`` and, unless complete, the command that resumes
    it. The command line calls it after every record, so a grid stopped from outside (a
    session's end) leaves settings at most one run behind its records."""
    from ..records import load_records
    from ..validation import check_choice
    path = Path(path)
    info = json.loads(path.read_text()) if path.exists() else {}
    done = completion(p, load_records(records_path), context)
    state = state or ("complete" if is_complete(done) else "partial")
    check_choice("state", state, STATES)
    info.update(completion=done, state=state, updated_utc=utc_now())
    if state == "complete":
        info.pop("resume", None)
    else:
        info["resume"] = (f"python -m dof_helpers.chapters.lottery --preset {preset or p.get('tag')}"
                          + "".join(f" --reuse-from {s}" for s in info.get("reuse_from", []))
                          + " (it skips recorded runs)")
    write_json(path, info)
    return info


def main(argv=None) -> int:
    """Run the chapter's grid of a preset outside the notebook, seed by seed, resumable.

    The settings file next to the records (``<tag>_settings.json``) is brought up to date
    after every record (:func:`refresh_settings`); ``--status`` only does that, for a grid
    stopped from outside, or, while a driver runs, prints the settings that driver keeps
    (:func:`~dof_helpers.engine.lock.refresh_or_read`)."""
    from ..engine import make_context
    from ..paths import repo_root
    parser = argparse.ArgumentParser(prog="python -m dof_helpers.chapters.lottery")
    parser.add_argument("--preset", default=None)
    parser.add_argument("--reuse-from", action="append", default=[], metavar="RECORDS",
                        help="a records file whose runs of this grid (same key) are copied, not trained again; "
                             "repeatable (e.g. results/05_phase_transition/paper/records.jsonl for --preset paper)")
    parser.add_argument("--grids", nargs="+", choices=GRID_NAMES, default=None,
                        help="run only these grids in this call (default: all), e.g. 'trajectory matched' while the "
                             "records --reuse-from would copy for 'subspaces' are still being written")
    parser.add_argument("--status", action="store_true",
                        help="only bring the grid's settings file up to date with its records, then print them "
                             "(while a driver runs: the settings it keeps, and the driver)")
    add_executor_arguments(parser)
    args = parser.parse_args(argv)
    p = chapter_parameters(CHAPTER, args.preset)
    data = data_spec(p).load()
    context = make_context(p["model"], data, pool=p["pool"])
    directory = repo_root() / p["records_dir"] / CHAPTER
    directory.mkdir(parents=True, exist_ok=True)
    path, settings = records_path(directory, p["tag"]), directory / f"{p['tag']}_settings.json"
    refresh = lambda state=None: refresh_settings(settings, p, path, context, preset=args.preset,  # noqa: E731
                                                  state=state)
    if args.status:
        info = refresh_or_read(directory, settings, refresh)
        print(json.dumps({k: info[k] for k in ("state", "completion", "updated_utc", "driver") if k in info}, indent=1))
        return 0
    t0, started = time.perf_counter(), utc_now()
    before = sum(1 for _ in open(path)) if path.exists() else 0
    with records_lock(directory):
        before_info = json.loads(settings.read_text()) if settings.exists() else {}
        write_settings(settings, p, chapter_grids(p), started=before_info.get("started", started),
                       reuse_from=sorted(set(before_info.get("reuse_from", [])) | set(args.reuse_from)))
        refresh("running")
        out = run_taxonomy(p, path, data=data, executor=executor_from_args(args), reuse_from=args.reuse_from,
                           log=lambda s: print(time.strftime("%H:%M:%S"), s, flush=True),
                           callback=lambda record: refresh("running"), only=args.grids)
        wall = time.perf_counter() - t0
        new = sum(1 for _ in open(path)) - before
        print(f"{len(out['subspaces'])} subspace, {len(out['pruning'])} pruning, {len(out['matched'])} compute-matched "
              f"lottery runs ({new} new) in {wall:.0f} s", flush=True)
        write_settings(settings, p, chapter_grids(p), session=dict(started=started, wall_s=round(wall, 1),
                                                                          new_runs=new))
        refresh()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
