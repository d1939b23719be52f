"""Chapter 05: the phase transition in random affine and burn-in subspaces (Sec. 2, Figs. 2, 3, 12).

The chapter's parameters become a :class:`Phase` -- which data (:class:`common.DataSpec`),
which model, and the engine's :class:`engine.SweepConfig` of the grid -- plus the
analysis settings (delta, level spacing, baseline learning rates). Everything runs
through the engine; this module only orders it, keeps the files of a results folder
and draws the figures from them.

Command line (from the repository root; resumable, run it again to continue; ``--workers N``
or ``--scheduler tcp://host:port`` trains on a Dask cluster, see ``book/reproducing.md``)::

    python -m dof_helpers.chapters.phase_transition run --preset cpu-large --out results/05_phase_transition
    python -m dof_helpers.chapters.phase_transition figures results/05_phase_transition
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

from ..engine import (SweepConfig, add_executor_arguments, executor_from_args, records_lock, refresh_or_read,
                      run_sweep)
from ..validation import check_choice, check_float
from .common import (STATES, DataSpec, chapter_parameters, host_description, is_complete, read_settings, utc_now,
                     write_json)

CHAPTER = "05_phase_transition"
#: file names inside a records folder
SWEEP_FILE, BASELINE_FILE, CENTRES_FILE, SETTINGS_FILE = ("records.jsonl", "baseline.jsonl", "burn_in.jsonl",
                                                          "settings.json")
_GRID = ("d_values", "seeds", "t_values", "epochs", "batch_size", "basis", "adam_variant", "lr", "full_lr",
         "momentum")


@dataclasses.dataclass(frozen=True)
class Phase:
    """The chapter's experiment: ``data``, ``model`` (+ ``pool``), the engine ``config``
    (random affine and burn-in subspaces), and the analysis settings: ``delta`` of
    Definition 2.1, ``level_step`` of the accuracy thresholds, the full model's
    ``baseline_lrs``."""
    data: DataSpec
    model: str
    pool: str
    config: SweepConfig
    baseline_lrs: tuple = (5e-2, 1e-2)
    delta: float = 0.1
    level_step: float = 0.01

    def __post_init__(self):
        from ..models import MODEL_NAMES, POOL_MODES
        check_choice("model", self.model, MODEL_NAMES)
        check_choice("pool", self.pool, POOL_MODES)
        check_float("delta", self.delta, min_value=0.0, max_value=1.0, open_min=True, open_max=True)
        check_float("level_step", self.level_step, min_value=0.0, max_value=0.5, open_min=True)
        if not self.baseline_lrs:
            raise ValueError("baseline_lrs=() is not valid; give at least one learning rate > 0")

    @property
    def methods(self) -> tuple:
        return self.config.methods

    def as_dict(self) -> dict:
        return {"data": dataclasses.asdict(self.data), "model": self.model, "pool": self.pool,
                "config": self.config.as_dict(), "baseline_lrs": list(self.baseline_lrs), "delta": self.delta,
                "level_step": self.level_step}

    @classmethod
    def from_dict(cls, d: dict) -> "Phase":
        return cls(DataSpec(**d["data"]), d["model"], d["pool"], SweepConfig(**d["config"]),
                   tuple(d["baseline_lrs"]), d["delta"], d["level_step"])


def phase_from_parameters(params: dict) -> Phase:
    """The chapter's :class:`Phase` from its parameters cell (names as in the notebook)."""
    t_values = tuple(params["t_values"])
    config = SweepConfig(methods=("random_affine", "burn_in") if t_values else ("random_affine",),
                         **{k: (tuple(params[k]) if isinstance(params[k], list) else params[k]) for k in _GRID})
    return Phase(DataSpec(params["dataset"], params["n_train"], params["n_test"]), params["model"],
                 params["pool"], config, tuple(params["baseline_lrs"]), params["delta"], params["level_step"])


def preset_phase(preset: str | None) -> Phase:
    """The chapter's defaults overridden by ``presets/05_phase_transition/<preset>.yaml``."""
    return phase_from_parameters(chapter_parameters(CHAPTER, preset))


# ----------------------------------------------------------------------------- running
def run_grid(phase: Phase, records_path, *, data, progress: bool = False, max_runs=None, executor=None,
             callback=None):
    """The sweep over (method, t, d, seed), coarse-to-fine in d (a stopped sweep still spans d);
    ``callback(record)`` follows each new record."""
    return run_sweep(phase.config, phase.model, data, records_path, order="coarse_to_fine", progress=progress,
                     max_runs=max_runs, executor=executor, pool=phase.pool, callback=callback)


def run_baseline(phase: Phase, records_path, *, data) -> list[dict]:
    """The full model at the same settings (momentum SGD, the better of ``baseline_lrs``), seed 0."""
    from ..baselines import run_baselines
    c = phase.config
    return run_baselines(phase.model, data, records_path, learning_rates=phase.baseline_lrs, seeds=c.seeds[:1],
                         epochs=c.epochs, batch_size=c.batch_size, momentum=c.momentum, pool=phase.pool)


def centre_points(phase: Phase, records_path, *, data) -> list[dict]:
    """Train and test accuracy of every centre w_t (t = 0 and each burn-in t) per seed: the
    "d = 0" values of Figure 12 (:func:`engine.centres.run_centres`)."""
    from ..engine.centres import run_centres
    return run_centres(phase.config, phase.model, data, records_path, pool=phase.pool)


def full_model_accuracy(base_records, split: str) -> float:
    """The full model's best ``split`` ("train" or "test") accuracy at its better learning rate."""
    from ..baselines import baseline_accuracy
    return baseline_accuracy(base_records, f"best_{split}_acc")


# ----------------------------------------------------------------------------- a results folder
def load_results(folder):
    """``(phase, settings, sweep records, baseline records, centre records)`` of a results folder."""
    from ..records import load_records
    folder = Path(folder)
    settings = read_settings(folder, "phase_transition")
    return (Phase.from_dict(settings["phase"]), settings, load_records(folder / SWEEP_FILE),
            load_records(folder / BASELINE_FILE), load_records(folder / CENTRES_FILE))


def complete_cells(phase: Phase, records) -> tuple[list[dict], list[int]]:
    """``(records, dropped d)``: only the d at which every curve has all of the grid's seeds.

    A sweep stopped part-way leaves some d with fewer runs than others; P_s over fewer
    runs is a different estimator (another effective delta), so such d are left out.
    """
    c = phase.config
    curves = {(m, t) for m in c.methods for t in c.ts(m)}
    count: dict = {}
    for r in records:
        key = (r["method"], int(r["t"]), int(r["d"]))
        count[key] = count.get(key, 0) + 1
    full = [d for d in c.d_values if all(count.get((m, t, d), 0) == len(c.seeds) for m, t in curves)]
    return [r for r in records if int(r["d"]) in full], [d for d in c.d_values if d not in full]


def completion(phase: Phase, records) -> dict:
    """How much of the grid the records cover: runs done / expected, per curve; ``d_complete``
    (the d at which every curve has all of the grid's seeds: :func:`complete_cells`, the d the
    chapter shows) and ``d_started`` (the d with at least one run)."""
    from ..engine.methods import curve_label
    c = phase.config
    per = {curve_label(m, t): [0, len(c.d_values) * len(c.seeds)] for m in c.methods for t in c.ts(m)}
    for r in records:
        per[curve_label(r["method"], r["t"])][0] += 1
    return {"done": len(records), "expected": sum(b for _, b in per.values()),
            "per_curve": {k: f"{a}/{b}" for k, (a, b) in per.items()},
            "d_complete": sorted({int(r["d"]) for r in complete_cells(phase, records)[0]}),
            "d_started": sorted({int(r["d"]) for r in records})}


def run_to_folder(phase: Phase, folder, *, preset: str | None = None, progress: bool = True, executor=None) -> dict:
    """Baseline, centres and the sweep into ``folder`` (resumable; one driver per folder: the
    folder is locked while this runs); writes its settings file."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with records_lock(folder):
        return _run_to_folder(phase, folder, preset, progress, executor)


def _run_to_folder(phase: Phase, folder: Path, preset, progress, executor) -> dict:
    path = folder / SETTINGS_FILE
    settings = json.loads(path.read_text()) if path.exists() else {}
    if settings and settings.get("phase") != phase.as_dict():
        raise ValueError(f"{path} holds another experiment ({settings.get('phase')}); use another folder")
    settings.update(phase=phase.as_dict(), preset=preset, host=host_description(),
                    started_utc=settings.get("started_utc") or utc_now())
    write_json(path, settings)
    data = phase.data.load()
    t0 = time.perf_counter()
    run_baseline(phase, folder / BASELINE_FILE, data=data)
    centre_points(phase, folder / CENTRES_FILE, data=data)
    refresh_settings(folder, state="running")
    run_grid(phase, folder / SWEEP_FILE, data=data, progress=progress, executor=executor,
             callback=lambda record: refresh_settings(folder, state="running"))
    settings = refresh_settings(folder)
    settings.update(wall_s_this_session=round(time.perf_counter() - t0, 1), finished_utc=utc_now())
    write_json(path, settings)
    return settings




def refresh_settings(folder, state: str | None = None) -> dict:
    """Bring a results folder's settings file up to date with its records: ``completion``,
    ``wall_s_total`` (the sum of the runs' wall times), ``updated_utc`` and ``state``
    (:data:`STATES`; default: "complete" when every run is recorded, else "partial"), and how
    to resume. The driver calls it after every record, so a sweep ended from outside leaves
    settings that are at most one run behind its records. Returns the settings."""
    from ..records import load_records
    folder = Path(folder)
    path = folder / SETTINGS_FILE
    settings = json.loads(path.read_text())
    phase = Phase.from_dict(settings["phase"])
    records = load_records(folder / SWEEP_FILE)
    done = completion(phase, records)
    state = state or ("complete" if is_complete(done) else "partial")
    check_choice("state", state, STATES)
    settings.update(completion=done, wall_s_total=round(sum(r.get("wall_time", 0.0) for r in records), 1),
                    updated_utc=utc_now(), state=state)
    if state == "complete":
        settings.pop("resume", None)
    else:
        settings["resume"] = (f"python -m dof_helpers.chapters.phase_transition run --preset {settings.get('preset')} "
                              f"--out {folder.as_posix()} (it skips recorded runs)")
    write_json(path, settings)
    return settings


def phase_title(phase: Phase, split: str, *, prefix: str = "", n_train=None) -> str:
    """A phase diagram's title: model, data, split, seeds, size, epochs, basis and delta
    (with how many of the seeds must succeed for d*)."""
    import math
    c = phase.config
    n = len(c.seeds)
    need = math.ceil((1 - phase.delta) * n - 1e-9)
    n_train = phase.data.n_train if n_train is None else n_train
    n_train = "all" if n_train is None else f"{int(n_train):,}"  # None: the whole training set
    return (f"{prefix}{phase.model} on {phase.data.dataset}, {split} accuracy ({n} seeds, n_train = {n_train}, "
            f"{c.epochs} epoch(s), {c.basis} basis; $\\delta$ = {phase.delta:g}: {need} of {n} runs must succeed)")


def d_star_bands(records, split: str, levels, *, delta: float, n_boot: int = 1000, band: float = 0.9,
                 seed: int = 0):
    """:func:`thresholds.d_star_bootstrap` of one split's accuracy at ``levels``: d* with a band
    over seeds (runs that are not "ok" fail)."""
    from ..thresholds import d_star_bootstrap
    return d_star_bootstrap(records, f"{split}_acc", levels, delta=delta, n_boot=n_boot, band=band, seed=seed)


def slice_level(dstar) -> float:
    """The accuracy level a P_s slice shows: the middle one of the levels that every curve
    reaches, and reaches only above the smallest d of the grid (so that every curve's
    transition lies inside the grid); the middle reached level if there is none such."""
    import numpy as np
    from .phase_claims import _common_levels
    common = _common_levels(dstar)
    if not common:
        raise ValueError("no accuracy level is reached by every curve; nothing to slice")
    d_min = float(dstar["d_star"].min())
    inside = [lv for lv in common
              if (dstar[np.isclose(dstar["level"], lv)]["d_star"].astype(float) > d_min).all()]
    pick = inside or common
    return float(pick[len(pick) // 2])


def save_result_figures(folder, out=None) -> list[Path]:
    """Draw the chapter's figures from a results folder and save them there as PNG."""
    import matplotlib.pyplot as plt
    from .. import plotting
    from ..thresholds import curve_tables
    from .phase_claims import dimension_zero_table
    from .phase_figures import figure_dimension_zero, figure_phase_row, figure_success_slices, figure_thresholds
    phase, _, records, base, burn = load_results(folder)
    out = Path(out or folder)
    records, _ = complete_cells(phase, records)
    plotting.use_house_style()
    full = {s: full_model_accuracy(base, s) for s in ("train", "test")}
    paths, dstars, bands, tables = [], {}, {}, {}
    for split in ("train", "test"):
        table, dstar = curve_tables(records, f"{split}_acc", delta=phase.delta, baseline=full[split])
        dstars[split], tables[split] = dstar, table
        bands[split] = d_star_bands(records, split, sorted(table["level"].unique()), delta=phase.delta)
        fig = figure_phase_row(table, dstar, baseline=full[split], metric=f"{split}_acc", ncols=3,
                               title=phase_title(phase, split))
        paths.append(plotting.save_figure(fig, out / f"phase_{split}.png"))
        plt.close(fig)
    figs = {"thresholds.png": figure_thresholds(dstars, baselines=full, bands=bands, band=0.9),
            "success_slices.png": figure_success_slices(tables, {s: slice_level(dstars[s]) for s in dstars}),
            "dimension_zero.png": figure_dimension_zero(
                {s: dimension_zero_table(records, burn, f"{s}_acc") for s in ("train", "test")}, baselines=full)}
    for name, fig in figs.items():
        paths.append(plotting.save_figure(fig, out / name))
        plt.close(fig)
    return paths


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dof_helpers.chapters.phase_transition", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run (or resume) a preset's sweep into a folder")
    run.add_argument("--preset", default=None)
    run.add_argument("--out", required=True)
    add_executor_arguments(run)
    figs = sub.add_parser("figures", help="draw the figures of a results folder into it (PNG)")
    figs.add_argument("folder")
    status = sub.add_parser("status", help="bring a stopped folder's settings up to date with its records; "
                                           "while a driver runs, print the settings it keeps (and the driver)")
    status.add_argument("folder")
    args = parser.parse_args(argv)
    if args.command == "status":
        settings = refresh_or_read(args.folder, Path(args.folder) / SETTINGS_FILE,
                                   lambda: refresh_settings(args.folder))
        print(json.dumps({k: settings[k] for k in ("state", "completion", "updated_utc", "driver") if k in settings},
                         indent=1))
    elif args.command == "figures":
        for path in save_result_figures(args.folder):
            print(f"wrote {path}")
    else:
        phase = preset_phase(args.preset)
        print(phase, flush=True)
        executor = executor_from_args(args)
        print(json.dumps(run_to_folder(phase, args.out, preset=args.preset, executor=executor)["completion"], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
