"""Chapter 07: the linearised network (Appendix A.1, Figure 9) and d* predicted from curvature.

The chapter's parameters become a :class:`Linearisation`: the data, the network, the full
training that finds two optima from one w_0, the engine's :class:`engine.SweepConfig` of
the random affine sweeps, and the curvature and prediction settings. This module orders
the work and keeps a results folder; the pieces live in the package by concept
(:mod:`dof_helpers.linearised`, :mod:`dof_helpers.fixed_start`, :mod:`dof_helpers.landscape`,
:mod:`dof_helpers.curvature`, :mod:`dof_helpers.lanczos`, :mod:`dof_helpers.basin`,
:mod:`dof_helpers.least_squares`); the chapter's steps 1-3 (optima, planes, sweeps) are here,
step 4 (curvature) in :mod:`.linearised_curvature`, steps 5-6 (exact least squares and
the prediction table) in :mod:`.linearised_predictions`, the claims in
:mod:`.linearised_claims` and the figures in :mod:`.linearised_figures`.

Command line (from the repository root; resumable, run it again to continue)::

    python -m dof_helpers.chapters.linearised run --preset cpu-large --out results/07_linearised
    python -m dof_helpers.chapters.linearised figures results/07_linearised

A results folder holds ``settings.json`` (the experiment, host, timings), ``optima.npz``
(w_0, the two optima), ``plane.npz`` (the landscape cuts), one records file per sweep
curve (``network.jsonl``, ``linearised.jsonl``, ``linearised_se.jsonl``),
``curvature.npz`` (spectra and eigen-coordinates), ``lstsq.npz`` (exact least-squares
subspace minima), ``start_model.npz`` (the Gauss-Newton model at w_0 and its exact subspace
minima) and ``predictions.csv``. Each step is skipped when its file exists and
belongs to the same experiment (the settings file says which).
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np

from ..engine import SweepConfig, records_lock, run_sweep
from ..validation import check_choice, check_float, check_int
from .common import DataSpec, StepClock, chapter_parameters, host_description, read_settings, utc_now, write_json
from .linearised_curvature import CURVATURE_VERSION, ROUTES, curvature_analysis
from .linearised_predictions import (CURVES, adam_vs_exact, least_squares_system, losses_at_w0, lstsq_minima,
                                     predictions, start_model_minima)

CHAPTER = "07_linearised"
SETTINGS_FILE, OPTIMA_FILE, PLANE_FILE = "settings.json", "optima.npz", "plane.npz"
CURVATURE_FILE, LSTSQ_FILE, PREDICTIONS_FILE = "curvature.npz", "lstsq.npz", "predictions.csv"
START_FILE = "start_model.npz"
_GRID = ("d_values", "seeds", "epochs", "batch_size", "basis", "lr")


@dataclasses.dataclass(frozen=True)
class Linearisation:
    """Chapter 07's experiment (the parameters cell, validated).

    ``data``/``model``: what is trained; ``seed``: w_0 (the engine's w_0 of that seed) and
    the two optima's batch orders; ``opt_epochs``/``opt_lr``: momentum-SGD training to each
    optimum; ``config``: the random affine sweeps (cross-entropy; the squared-error curve
    uses ``se_lr``); ``plane_points``/``plane_margin``: the landscape grid; ``route``: how
    G's spectrum is computed (:data:`ROUTES`); ``lanczos_order``, ``slq_probes``,
    ``slq_order``: the matrix-free spectra; ``lstsq_draws``/``lstsq_d_max``: exact
    least-squares subspace minima; ``level_fractions``: the loss levels, as fractions of
    the way from L* to the quadratic model's loss at w_0; ``delta``; ``cone_samples``.
    """
    data: DataSpec
    model: str
    seed: int
    opt_epochs: int
    opt_lr: float
    config: SweepConfig
    se_lr: float
    plane_points: int
    plane_margin: float
    route: str
    lanczos_order: int
    slq_probes: int
    slq_order: int
    lstsq_draws: int
    lstsq_d_max: int
    level_fractions: tuple
    delta: float
    cone_samples: int

    def __post_init__(self):
        from ..models import MODEL_NAMES
        check_choice("model", self.model, MODEL_NAMES)
        check_choice("route", self.route, ROUTES)
        check_int("seed", self.seed, min_value=0)
        check_int("opt_epochs", self.opt_epochs, min_value=1)
        check_float("opt_lr", self.opt_lr, min_value=0.0, open_min=True)
        check_float("se_lr", self.se_lr, min_value=0.0, open_min=True)
        check_int("plane_points", self.plane_points, min_value=3)
        check_float("plane_margin", self.plane_margin, min_value=0.0)
        check_int("lanczos_order", self.lanczos_order, min_value=20)
        check_int("slq_probes", self.slq_probes, min_value=1)
        check_int("slq_order", self.slq_order, min_value=2)
        check_int("lstsq_draws", self.lstsq_draws, min_value=1)
        check_int("lstsq_d_max", self.lstsq_d_max, min_value=1)
        check_float("delta", self.delta, min_value=0.0, max_value=1.0, open_min=True, open_max=True)
        check_int("cone_samples", self.cone_samples, min_value=10)
        if not self.level_fractions or any(not 0 < f < 1 for f in self.level_fractions):
            raise ValueError(f"level_fractions={list(self.level_fractions)} is not valid; expected fractions in (0, 1)")
        if self.data.n_train is None:
            raise ValueError("n_train=None is not valid here; give a count (the curvature is computed on every "
                             "training example)")

    def se_config(self) -> SweepConfig:
        """The squared-error sweep: the same grid with ``loss="squared_error"`` and ``se_lr``."""
        return self.config.replace(loss="squared_error", lr=self.se_lr)

    def as_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["data"], out["config"] = dataclasses.asdict(self.data), self.config.as_dict()
        out["level_fractions"] = list(self.level_fractions)
        return out

    @classmethod
    def from_dict(cls, d: dict) -> "Linearisation":
        d = dict(d)
        d["data"], d["config"] = DataSpec(**d["data"]), SweepConfig(**d["config"])
        d["level_fractions"] = tuple(d["level_fractions"])
        return cls(**d)

    def digest(self) -> str:
        """A short hash of the experiment: names its working folder under ``runs/``."""
        return hashlib.sha1(json.dumps(self.as_dict(), sort_keys=True).encode()).hexdigest()[:10]


def from_parameters(params: dict) -> Linearisation:
    """The chapter's :class:`Linearisation` from its parameters cell (names as in the notebook)."""
    grid = {k: (tuple(params[k]) if isinstance(params[k], list) else params[k]) for k in _GRID}
    config = SweepConfig(methods=("random_affine",), **grid)
    keys = ("seed", "opt_epochs", "opt_lr", "se_lr", "plane_points", "plane_margin", "route", "lanczos_order",
            "slq_probes", "slq_order", "lstsq_draws", "lstsq_d_max", "delta", "cone_samples")
    return Linearisation(DataSpec(params["dataset"], params["n_train"], params["n_test"]), params["model"],
                         config=config, level_fractions=tuple(params["level_fractions"]),
                         **{k: params[k] for k in keys})


def preset_experiment(preset: str | None) -> Linearisation:
    """The chapter's defaults overridden by ``presets/07_linearised/<preset>.yaml``."""
    return from_parameters(chapter_parameters(CHAPTER, preset))


# ----------------------------------------------------------------------------- step 1: optima
def data_keys(seed: int):
    """The batch-order keys of the two optima (same w_0, different data orders)."""
    import jax
    root = jax.random.fold_in(jax.random.PRNGKey(seed), 7)
    return jax.random.fold_in(root, 1), jax.random.fold_in(root, 2)


def train_optima(exp: Linearisation, data) -> dict:
    """w_0 (the engine's w_0 of ``exp.seed``) and two optima trained from it with momentum SGD
    on two batch orders; with their final train/test loss and accuracy."""
    from .. import optim
    from ..engine.keys import seed_keys
    from ..models import model_for
    from ..subspace import ParamLayout
    from ..train import init_model_params, train_full
    module, _ = model_for(exp.model, exp.data.dataset)
    w_0 = init_model_params(module, seed_keys(exp.seed)[0], data.input_shape)
    out = {"w_0": w_0}
    for name, key in zip(("opt1", "opt2"), data_keys(exp.seed)):
        res = train_full(module, data, key=key, params=w_0, epochs=exp.opt_epochs,
                         optimizer=optim.momentum_sgd(exp.opt_lr, exp.config.momentum), batch_size=exp.config.batch_size)
        out[name] = res.params
        out[name + "_metrics"] = {k: float(res.metrics[k][-1]) for k in ("train_loss", "train_acc", "test_loss",
                                                                          "test_acc")}
    layout = ParamLayout.of(w_0)
    out["layout"] = layout
    return out


def save_optima(path, optima: dict) -> None:
    layout = optima["layout"]
    np.savez(path, **{k: np.asarray(layout.flatten(optima[k])) for k in ("w_0", "opt1", "opt2")},
             metrics=json.dumps({k: optima[k + "_metrics"] for k in ("opt1", "opt2")}))


def load_optima(path, exp: Linearisation, data) -> dict:
    """The optima saved by :func:`save_optima`, as parameter pytrees of the chapter's model."""
    import jax.numpy as jnp
    from ..models import init_params, model_for
    from ..subspace import ParamLayout
    import jax
    module, _ = model_for(exp.model, exp.data.dataset)
    layout = ParamLayout.of(init_params(module, jax.random.PRNGKey(0), data.input_shape))
    z = np.load(path)
    out = {k: layout.unravel(jnp.asarray(z[k])) for k in ("w_0", "opt1", "opt2")}
    metrics = json.loads(str(z["metrics"]))
    out.update({k + "_metrics": v for k, v in metrics.items()}, layout=layout)
    return out


def sweep_models(exp: Linearisation, optima: dict) -> dict:
    """The two models the sweeps train, both started at w_0 for every seed: ``network`` and
    ``linearised`` (around opt1)."""
    from ..fixed_start import FixedStart
    from ..linearised import Linearised
    from ..models import model_for
    module, _ = model_for(exp.model, exp.data.dataset)
    return {"network": FixedStart(module, optima["w_0"]),
            "linearised": FixedStart(Linearised(module, optima["opt1"]), optima["w_0"])}


# ----------------------------------------------------------------------------- step 2: planes
def landscape_planes(exp: Linearisation, optima: dict, models: dict, data) -> dict:
    """Test loss and accuracy on the plane through w_0, opt1, opt2 for the network and the
    linearised network (the paper's Figure 9, first two columns)."""
    from ..landscape import plane_grid, plane_losses, plane_through
    plane = plane_through(optima["w_0"], optima["opt1"], optima["opt2"])
    a, b = plane_grid(plane, exp.plane_points, exp.plane_margin)
    out = {"a": a, "b": b, "coords": plane.coords}
    for name in ("network", "linearised"):
        model = models[name].model  # the wrapped model (FixedStart only changes init)
        out[name + "_loss"], out[name + "_acc"] = plane_losses(model, plane, a, b, data.x_test, data.y_test)
        # the three points themselves, evaluated exactly (not read off the grid)
        pts = [plane_losses(model, plane, [c[0]], [c[1]], data.x_test, data.y_test) for c in plane.coords]
        out[name + "_points_loss"] = np.array([p[0][0, 0] for p in pts])
    return out


# ----------------------------------------------------------------------------- step 3: sweeps
def run_curves(exp: Linearisation, folder: Path, models: dict, data, *, progress: bool = False) -> dict:
    """The random affine sweeps of the three curves (:data:`CURVES`) into ``folder``."""
    out = {}
    for stem, (model_name, loss) in CURVES.items():
        config = exp.config if loss == "cross_entropy" else exp.se_config()
        out[stem] = run_sweep(config, models[model_name], data, folder / f"{stem}.jsonl", progress=progress)
    return out


# ----------------------------------------------------------------------------- the folder
def run_to_folder(exp: Linearisation, folder, *, preset: str | None = None, progress: bool = False) -> dict:
    """Every step into ``folder`` (skipping finished ones; one writer per folder: it is locked)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with records_lock(folder):
        return _run_to_folder(exp, folder, preset, progress)


def _run_to_folder(exp: Linearisation, folder: Path, preset, progress) -> dict:
    path = folder / SETTINGS_FILE
    settings = json.loads(path.read_text()) if path.exists() else {}
    if settings and settings.get("experiment") != exp.as_dict():
        raise ValueError(f"{path} holds another experiment ({settings.get('experiment')}); use another folder")
    timings = settings.get("timings", {})
    settings.update(experiment=exp.as_dict(), preset=preset, host=host_description(),
                    started_utc=settings.get("started_utc") or utc_now())
    write_json(path, settings)
    data = exp.data.load()

    def save():
        settings["timings"] = timings
        write_json(path, settings)

    if not (folder / OPTIMA_FILE).exists():
        with StepClock(timings, "two optima (full training)"):
            save_optima(folder / OPTIMA_FILE, train_optima(exp, data))
        save()
    optima = load_optima(folder / OPTIMA_FILE, exp, data)
    models = sweep_models(exp, optima)
    if not (folder / PLANE_FILE).exists():
        with StepClock(timings, f"landscape planes ({exp.plane_points}^2 points, 2 models)"):
            np.savez(folder / PLANE_FILE, **landscape_planes(exp, optima, models, data))
        save()
    records = run_curves(exp, folder, models, data, progress=progress)
    timings["random affine sweeps (sum of run wall times)"] = {
        "seconds": round(sum(r.get("wall_time", 0.0) for rs in records.values() for r in rs), 1)}
    save()
    previous = dict(np.load(folder / CURVATURE_FILE)) if (folder / CURVATURE_FILE).exists() else None
    if previous is None or int(previous.get("version", 1)) < CURVATURE_VERSION:
        np.savez(folder / CURVATURE_FILE, **curvature_analysis(exp, optima, data, timings, previous=previous))
        save()
    if not (folder / LSTSQ_FILE).exists():
        system = least_squares_system(exp, optima, data, timings)
        np.savez(folder / LSTSQ_FILE, minima=lstsq_minima(exp, system, timings),
                 adam_vs_exact=adam_vs_exact(exp, system, records["linearised_se"], timings))
        del system
        save()
    if "losses_at_w0" not in settings:
        settings["losses_at_w0"] = losses_at_w0(exp, optima, data)
        save()
    if not (folder / START_FILE).exists():
        np.savez(folder / START_FILE, **start_model_minima(exp, optima, data, timings))
        save()
    curv = dict(np.load(folder / CURVATURE_FILE))
    table = predictions(exp, curv, records, np.load(folder / LSTSQ_FILE)["minima"], timings,
                        true_w0=settings["losses_at_w0"], start=dict(np.load(folder / START_FILE)))
    table.to_csv(folder / PREDICTIONS_FILE, index=False)
    settings.update(finished_utc=utc_now())
    save()
    return settings


def finished(folder) -> bool:
    """Whether ``folder`` holds a finished run (its settings file carries ``finished_utc``)."""
    path = Path(folder) / SETTINGS_FILE
    return path.exists() and "finished_utc" in json.loads(path.read_text())


def load_results(folder) -> dict:
    """Everything a results folder holds: ``exp``, ``settings``, ``optima`` metrics, ``plane``,
    ``records`` (per curve), ``curvature``, ``minima``, ``adam_vs_exact``, ``predictions``."""
    import pandas as pd
    from ..records import load_records
    folder = Path(folder)
    settings = read_settings(folder, "linearised")
    z = np.load(folder / OPTIMA_FILE)
    return {"exp": Linearisation.from_dict(settings["experiment"]), "settings": settings,
            "optima_metrics": json.loads(str(z["metrics"])), "plane": dict(np.load(folder / PLANE_FILE)),
            "records": {stem: load_records(folder / f"{stem}.jsonl") for stem in CURVES},
            "curvature": dict(np.load(folder / CURVATURE_FILE)), **dict(np.load(folder / LSTSQ_FILE)),
            "start": dict(np.load(folder / START_FILE)) if (folder / START_FILE).exists() else None,
            "predictions": pd.read_csv(folder / PREDICTIONS_FILE)}


def save_result_figures(folder, out=None) -> list[Path]:
    """Draw the chapter's figures from a results folder and save them there as PNG."""
    from .. import plotting
    from . import linearised_figures as figs
    res = load_results(folder)
    out = Path(out or folder)
    plotting.use_house_style()
    made = {"fig09_planes.png": figs.figure_planes(res["plane"]),
            "fig09_thresholds.png": figs.figure_curves(res["records"], res["exp"].delta)[0],
            "spectra.png": figs.figure_spectra(res["curvature"]),
            "predicted_vs_measured.png": figs.figure_predictions(res["predictions"])}
    return [plotting.save_figure(fig, out / name) for name, fig in made.items()]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m dof_helpers.chapters.linearised", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run (or resume) the experiment of a preset into a results folder")
    run.add_argument("--preset", default=None, help="presets/07_linearised/<preset>.yaml (default: the defaults)")
    run.add_argument("--out", required=True, help="results folder")
    fig = sub.add_parser("figures", help="draw the figures of a results folder")
    fig.add_argument("folder")
    args = parser.parse_args(argv)
    if args.command == "run":
        settings = run_to_folder(preset_experiment(args.preset), args.out, preset=args.preset, progress=True)
        save_result_figures(args.out)
        print(json.dumps(settings.get("timings", {}), indent=1))
    else:
        for p in save_result_figures(args.folder):
            print(p)


if __name__ == "__main__":
    main()
