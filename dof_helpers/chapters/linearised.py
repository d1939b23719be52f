"""Chapter 07: the linearised network (Appendix A.1, Figure 9) and d* predicted from curvature.

The chapter's parameters become a :class:`Linearisation`: the data, the network, the full
training that finds two optima from one w_0, the engine's :class:`engine.SweepConfig` of
the random affine sweeps, and the curvature and prediction settings. This module orders
the work and keeps a results folder; the pieces live in the package by concept
(:mod:`dof_helpers.linearised`, :mod:`dof_helpers.fixed_start`, :mod:`dof_helpers.landscape`,
:mod:`dof_helpers.curvature`, :mod:`dof_helpers.lanczos`, :mod:`dof_helpers.basin`,
:mod:`dof_helpers.least_squares`; the figures in :mod:`.linearised_figures`).

Command line (from the repository root; resumable, run it again to continue)::

    python -m dof_helpers.chapters.linearised run --preset cpu-large --out results/07_linearised
    python -m dof_helpers.chapters.linearised figures results/07_linearised

A results folder holds ``settings.json`` (the experiment, host, timings), ``optima.npz``
(w_0, the two optima), ``plane.npz`` (the landscape cuts), one records file per sweep
curve (``network.jsonl``, ``linearised.jsonl``, ``linearised_se.jsonl``),
``curvature.npz`` (spectra and eigen-coordinates), ``lstsq.npz`` (exact least-squares
subspace minima) and ``predictions.csv``. Each step is skipped when its file exists and
belongs to the same experiment (the settings file says which).
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import resource
import time
from pathlib import Path

import numpy as np

from ..engine import SweepConfig, records_lock, run_sweep
from ..validation import check_choice, check_float, check_int
from .common import DataSpec, chapter_parameters, host_description, read_settings, utc_now, write_json

CHAPTER = "07_linearised"
SETTINGS_FILE, OPTIMA_FILE, PLANE_FILE = "settings.json", "optima.npz", "plane.npz"
CURVATURE_FILE, LSTSQ_FILE, PREDICTIONS_FILE = "curvature.npz", "lstsq.npz", "predictions.csv"
#: the three sweep curves: records file stem -> (model, loss)
CURVES = {"network": ("network", "cross_entropy"), "linearised": ("linearised", "cross_entropy"),
          "linearised_se": ("linearised", "squared_error")}
#: comparisons of the prediction: case -> (records curve, curvature matrix the prediction uses)
CASES = {"(i) linearised, squared error": ("linearised_se", "se"),
         "(ii) linearised, cross-entropy": ("linearised", "ce"),
         "(iii) network, cross-entropy": ("network", "ce")}
ROUTES = ("auto", "dense", "kernel", "both")
#: eigenvalues below this fraction of lambda_max are flat: about 8 float32 epsilons, the
#: rounding noise of a float32 eigendecomposition (benchmarks/curvature_cost.py)
FLAT_RTOL = 1e-6
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


# ----------------------------------------------------------------------------- step 4: curvature
class _Clock:
    """Wall time and peak resident memory (GiB, since process start) of a step."""

    def __init__(self, log: dict, name: str):
        self.log, self.name = log, name

    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20
        self.log[self.name] = {"seconds": round(time.perf_counter() - self.t0, 2), "peak_rss_gib": round(peak, 2)}


def _route(exp: Linearisation, n: int, D: int, rows_per_example: int) -> str:
    if exp.route != "auto":
        return exp.route
    return "kernel" if n * rows_per_example <= D else "dense"


def ce_spectrum(exp: Linearisation, module, w_opt, subset, dw, timings: dict, previous: dict | None = None) -> dict:
    """G = J^T H_ce J / N at w_opt: its eigenvalues (all D) and V^T (w_0 - w_opt), by ``exp.route``.

    The kernel route works in float64 (the spectrum the predictions use when it is computed,
    so that the smallest non-zero eigenvalues, whose long axes shape the cone, are resolved); the dense route diagonalises the whole D x D matrix in float32 (kept as
    ``lams_dense``; with ``route="both"`` its largest deviation from the kernel spectrum is
    reported). ``previous``: an earlier result of the same experiment whose dense spectrum is
    reused instead of recomputed.
    """
    from .. import curvature
    D, out = dw.size, {}
    route = _route(exp, subset.n, D, 9)
    if route in ("dense", "both"):
        if previous is not None and "lams_dense" in previous:
            out.update({k: previous[k] for k in ("lams_dense", "z0_dense", "trace")})
        else:
            with _Clock(timings, "G, dense D x D (build)"):
                G = curvature.gauss_newton_matrix(module, w_opt, subset)
            out["trace"] = float(np.trace(G, dtype=np.float64))
            with _Clock(timings, "G, dense eigh (eigenvalues and vectors)"):
                lams, V = curvature.dense_spectrum(G, overwrite=True)
            del G
            out["lams_dense"], out["z0_dense"] = lams, (V.T @ dw.astype(np.float32)).astype(np.float64)
            del V
        out["lams"], out["z0"] = out["lams_dense"], out["z0_dense"]
    if route in ("kernel", "both"):
        with _Clock(timings, "G, kernel route in float64 (factor, K = M M^T, eigh)"):
            spec = curvature.kernel_spectrum(curvature.ggn_factor(module, w_opt, subset).astype(np.float64))
        if "lams_dense" in out:
            out["kernel_vs_dense"] = float(np.max(np.abs(spec.lams - out["lams_dense"])) / spec.lams[0])
        out["lams"], out["z0"] = spec.lams, curvature.eigen_coordinates(spec, dw, rtol=FLAT_RTOL)
        out.setdefault("trace", float(np.sum(spec.lams, dtype=np.float64)))
    out["route"] = route
    return out


def se_spectrum(lin, w_0, subset, timings: dict) -> dict:
    """The squared-error loss of the linearised network, exactly quadratic: the eigenvalues of
    J^T J / N, the displacement z0 of w_0 from the least-squares minimum in that eigenbasis
    and the minimum L*.

    With N C <= D (kernel route, float64 in the kernel's eigenbasis) z0_j = u_j^T r_0 /
    sqrt(lambda_j) and L* = (||r_0||^2 - sum_j (u_j^T r_0)^2) / 2 over the non-flat j; with
    N C > D the D x D matrix is diagonalised and (z0, L*) come from the gradient at w_0
    (:func:`basin.quadratic_from_gradient`).
    """
    from .. import curvature
    from ..basin import quadratic_from_gradient
    from ..least_squares import weighted_residual
    from ..subspace import ParamLayout
    r0 = weighted_residual(lin, w_0, subset)
    D = ParamLayout.of(w_0).D
    if r0.size > D:
        with _Clock(timings, "J^T J / N, dense D x D (build and eigh)"):
            lams, V = curvature.dense_spectrum(curvature.gauss_newton_matrix(lin.model, lin.params_opt, subset,
                                                                             loss="squared_error"), overwrite=True)
        loss0, g = curvature.loss_and_gradient(lin, w_0, subset, loss="squared_error")
        lams = np.where(np.abs(lams) <= FLAT_RTOL * lams[0], 0.0, lams).astype(np.float64)
        z0, L_star = quadratic_from_gradient(lams, V.T @ g.astype(np.float32), loss0)
        return {"lams": lams, "z0": z0, "L_star": L_star, "loss_w0": loss0}
    with _Clock(timings, "J^T J / N, kernel route in float64 (squared error)"):
        spec = curvature.kernel_spectrum(curvature.ggn_factor(lin.model, lin.params_opt, subset,
                                                              loss="squared_error").astype(np.float64))
    R = spec.U.shape[0]
    lam = spec.lams[:R].astype(np.float64)
    c = spec.U.T.astype(np.float64) @ r0  # u_j^T r_0
    pos = lam > FLAT_RTOL * lam[0]
    z0 = np.zeros(spec.lams.size)
    z0[:R] = np.where(pos, c / np.sqrt(np.where(pos, lam, 1.0)), 0.0)
    L_star = 0.5 * float(r0 @ r0 - np.sum(c[pos] ** 2))
    return {"lams": spec.lams.astype(np.float64), "z0": z0, "L_star": L_star, "loss_w0": 0.5 * float(r0 @ r0)}


def matrix_free(exp: Linearisation, module, w_opt, subset, lams_exact, timings: dict) -> dict:
    """Lanczos on G (checked against the exact top eigenvalues), Lanczos and SLQ on the true Hessian."""
    import jax
    from .. import curvature, lanczos
    D = lams_exact.size
    key = jax.random.fold_in(jax.random.PRNGKey(exp.seed), 11)
    ggn = curvature.ggn_operator(module, w_opt, subset)
    with _Clock(timings, f"Lanczos on G ({exp.lanczos_order} products)"):
        top_g = lanczos.top_eigenpairs(ggn, D, 20, key=key, order=exp.lanczos_order)
    hvp = curvature.hessian_operator(curvature.plain_layers(module), w_opt, subset)
    with _Clock(timings, f"Lanczos on H ({exp.lanczos_order} products)"):
        ritz_h = lanczos.ritz_pairs(lanczos.lanczos(hvp, D, exp.lanczos_order, key=key))
    with _Clock(timings, f"SLQ of H ({exp.slq_probes} x {exp.slq_order} products)"):
        nodes, weights = lanczos.slq(hvp, D, order=exp.slq_order, n_probes=exp.slq_probes,
                                     key=jax.random.fold_in(key, 1))
    return {"lanczos_g_top": np.asarray(top_g), "ritz_h": np.asarray(ritz_h), "slq_nodes": np.asarray(nodes),
            "slq_weights": np.asarray(weights)}


#: version of the curvature file's contents: 2 = kernel spectra in float64 (version 1 had them
#: in float32); an older file is brought up to date, reusing its dense spectrum and
#: matrix-free results
CURVATURE_VERSION = 2


def curvature_analysis(exp: Linearisation, optima: dict, data, timings: dict, previous: dict | None = None) -> dict:
    """Everything of step 4 (see the functions above) as one dict of arrays and numbers.

    ``previous``: the contents of an older curvature file of the same experiment; its dense
    spectrum and its Lanczos / SLQ results are reused (they do not depend on the version).
    """
    from .. import curvature
    from ..linearised import Linearised
    from ..models import model_for
    module, _ = model_for(exp.model, exp.data.dataset)
    subset = curvature.fixed_subset(data.x_train, data.y_train)
    layout = optima["layout"]
    dw = np.asarray(layout.flatten(optima["w_0"]) - layout.flatten(optima["opt1"]), np.float64)
    L_opt, g_opt = curvature.loss_and_gradient(module, optima["opt1"], subset)
    dense_before = None
    if previous is not None and str(previous.get("ce_route")) in ("dense", "both"):
        dense_before = {"lams_dense": previous.get("ce_lams_dense", previous["ce_lams"]),
                        "z0_dense": previous.get("ce_z0_dense", previous["ce_z0"]), "trace": float(previous["ce_trace"])}
    ce = ce_spectrum(exp, module, optima["opt1"], subset, dw, timings, previous=dense_before)
    se = se_spectrum(Linearised(module, optima["opt1"]), optima["w_0"], subset, timings)
    mf_keys = ("lanczos_g_top", "ritz_h", "slq_nodes", "slq_weights")
    if previous is not None and all(k in previous for k in mf_keys):
        mf = {k: previous[k] for k in mf_keys}
    else:
        mf = matrix_free(exp, module, optima["opt1"], subset, ce["lams"], timings)
    out = {"ce_lams": ce["lams"], "ce_z0": ce["z0"], "ce_trace": ce["trace"], "ce_route": ce["route"],
           "ce_L_star": L_opt, "grad_norm_opt": float(np.linalg.norm(g_opt)), "dw_norm": float(np.linalg.norm(dw)),
           "se_lams": se["lams"], "se_z0": se["z0"], "se_L_star": se["L_star"], "se_loss_w0": se["loss_w0"],
           "version": CURVATURE_VERSION, **mf}
    for k in ("kernel_vs_dense", "lams_dense", "z0_dense"):
        if k in ce:
            out[{"lams_dense": "ce_lams_dense", "z0_dense": "ce_z0_dense"}.get(k, k)] = ce[k]
    return out


# ----------------------------------------------------------------------------- step 5: least squares
def least_squares_system(exp: Linearisation, optima: dict, data, timings: dict):
    """The squared-error least-squares system of the linearised network around w_0 on the
    training set (:class:`least_squares.LeastSquares`; its Jacobian is built once)."""
    from .. import curvature
    from ..least_squares import LeastSquares
    from ..linearised import Linearised
    from ..models import model_for
    module, _ = model_for(exp.model, exp.data.dataset)
    with _Clock(timings, "least squares: the weighted Jacobian J (N C x D)"):
        return LeastSquares(Linearised(module, optima["opt1"]), optima["w_0"],
                            curvature.fixed_subset(data.x_train, data.y_train))


def lstsq_minima(exp: Linearisation, system, timings: dict) -> np.ndarray:
    """(draws, d_max + 1): exact squared-error subspace minima of the linearised network on
    nested Gaussian subspaces, one draw per key (:meth:`least_squares.LeastSquares.nested_minima`)."""
    import jax
    d_max = min(exp.lstsq_d_max, system.r0.size)
    root = jax.random.fold_in(jax.random.PRNGKey(exp.seed), 13)
    with _Clock(timings, f"exact least-squares minima ({exp.lstsq_draws} draws, d <= {d_max})"):
        rows = [system.nested_minima(jax.random.fold_in(root, k), d_max) for k in range(exp.lstsq_draws)]
    return np.stack(rows)


def adam_vs_exact(exp: Linearisation, system, se_records, timings: dict) -> np.ndarray:
    """(runs, 4) rows (d, seed, Adam's best training loss, exact minimum) for every squared-error
    sweep run with d <= ``lstsq_d_max``: the exact minimum in the very subspace Adam trained in
    (the engine's basis of that run, :func:`engine.state.random_basis`)."""
    from ..engine.state import random_basis
    from ..subspace import materialize
    D = system.layout.D
    rows = []
    with _Clock(timings, f"exact minima in the squared-error runs' own subspaces (d <= {exp.lstsq_d_max})"):
        for r in sorted(se_records, key=lambda r: (r["d"], r["seed"])):
            if r["d"] > exp.lstsq_d_max or r.get("status") != "ok":
                continue
            A = materialize(random_basis(exp.se_config(), r["seed"], "random_affine", r["d"], 0, D), D, r["d"])
            rows.append((r["d"], r["seed"], r["best_train_loss"], system.subspace_minimum(A)))
    return np.array(rows, float).reshape(-1, 4)


# ----------------------------------------------------------------------------- step 6: predictions
def loss_levels(L_star: float, loss_w0: float, fractions) -> np.ndarray:
    """epsilon_k = L* + f_k (L_q(w_0) - L*): loss levels a fraction f_k of the way up from the minimum."""
    return L_star + np.asarray(fractions, float) * (loss_w0 - L_star)


def quadratic_model(curv: dict, which: str) -> dict:
    """The quadratic well of a case: cleaned eigenvalues, z0, L* and its loss at w_0."""
    from ..basin import clean_spectrum
    lams = np.asarray(curv[which + "_lams"], float)
    clean = clean_spectrum(np.where(np.abs(lams) <= FLAT_RTOL * lams[0], 0.0, lams))
    z0 = np.where(clean > 0, np.asarray(curv[which + "_z0"], float), 0.0)
    L_star = float(curv["ce_L_star"] if which == "ce" else curv["se_L_star"])
    return {"lams": clean, "z0": z0, "L_star": L_star, "loss_w0": L_star + 0.5 * float(np.sum(clean * z0 ** 2)),
            "n_flat": int(np.sum(clean == 0))}


def measured_d_star(records, levels, delta: float) -> np.ndarray:
    """d*(epsilon) of Definition 2.1 from sweep records on training-loss levels (NaN: no d of the grid)."""
    from ..thresholds import success_probability, threshold_dimension
    ok = [r for r in records if r.get("status") == "ok"]
    table = success_probability(ok if ok else records, "train_loss", levels=list(levels), running_max=False)
    dstar = threshold_dimension(table, delta)
    by_level = {round(float(lv), 9): float(ds) for lv, ds in zip(dstar["level"], dstar["d_star"])}
    return np.array([by_level.get(round(float(lv), 9), np.nan) for lv in levels])


def lstsq_d_star(minima: np.ndarray, levels, delta: float) -> np.ndarray:
    """d*(epsilon) at unit resolution from exact nested minima (draws x (d_max + 1)): the smallest
    d at which a fraction >= 1 - delta of the draws reach the level (NaN beyond d_max)."""
    out = []
    for eps in levels:
        p = np.mean(minima <= eps, axis=0)
        hit = np.nonzero(p >= 1.0 - delta - 1e-12)[0]
        out.append(float(hit[0]) if hit.size else np.nan)
    return np.array(out)


#: where a case's loss levels come from: fractions of the way from L* up to the quadratic
#: model's value at w_0 ("quadratic"), or up to the model's true training loss at w_0 ("true")
LEVEL_SOURCES = ("quadratic", "true")


def losses_at_w0(exp: Linearisation, optima: dict, data) -> dict:
    """The true training loss at w_0 of each curve's model (network and linearised network,
    cross-entropy; linearised network, squared error): what the loss levels are measured against."""
    from .. import curvature
    from ..linearised import Linearised
    from ..models import model_for
    module, _ = model_for(exp.model, exp.data.dataset)
    subset = curvature.fixed_subset(data.x_train, data.y_train)
    lin = Linearised(module, optima["opt1"])
    out = {}
    for stem, (model_name, loss) in CURVES.items():
        model = module if model_name == "network" else lin
        out[stem] = float(curvature.loss_and_gradient(model, optima["w_0"], subset, loss=loss)[0])
    return out


def predictions(exp: Linearisation, curv: dict, records: dict, minima: np.ndarray | None, timings: dict,
                true_w0: dict | None = None):
    """The comparison table: per case (:data:`CASES`), level source (:data:`LEVEL_SOURCES`) and
    loss level, eq. 3.4, the cone prediction (its centre, the 50% point, and its 1 - delta
    threshold), the measured d at P_s >= 1/2 and d* at 1 - delta (Adam sweeps; case (i) also
    exact least squares), and the median best loss the sweep reached at its largest d. ``true_w0``: :func:`losses_at_w0` (without it, only the
    quadratic levels). For case (i) the quadratic is exact, so its true levels are the same
    and are not repeated."""
    import pandas as pd
    from ..basin import angular_threshold
    rows = []
    with _Clock(timings, "predictions (cones, all cases)"):
        for case, (curve, which) in CASES.items():
            q = quadratic_model(curv, which)
            d_max = max(r["d"] for r in records[curve])
            reached = float(np.median([r["best_train_loss"] for r in records[curve] if r["d"] == d_max]))
            sources = {"quadratic": q["loss_w0"]}
            if true_w0 is not None and which != "se":
                sources["true"] = true_w0[curve]
            for source, top in sources.items():
                eps = loss_levels(q["L_star"], top, exp.level_fractions)
                pred = angular_threshold(q["lams"], q["z0"], q["L_star"], eps, delta=exp.delta,
                                         n_samples=exp.cone_samples, seed=exp.seed)
                meas = measured_d_star(records[curve], eps, exp.delta)
                meas50 = measured_d_star(records[curve], eps, 0.5)
                has_exact = which == "se" and minima is not None
                exact = lstsq_d_star(minima, eps, exp.delta) if has_exact else np.full(len(eps), np.nan)
                exact50 = lstsq_d_star(minima, eps, 0.5) if has_exact else np.full(len(eps), np.nan)
                for k, f in enumerate(exp.level_fractions):
                    rows.append({"case": case, "levels from": source, "fraction": f, "epsilon": float(eps[k]),
                                 "L_star": q["L_star"], "loss_w0_quadratic": q["loss_w0"],
                                 "loss_w0_true": true_w0[curve] if true_w0 is not None else np.nan,
                                 "eq34": float(pred.eq34[k]), "predicted_centre": float(pred.centre[k]),
                                 "predicted_d_star": float(pred.d_star[k]), "sigma": float(pred.sigma[k]),
                                 "measured_d_star": float(meas[k]), "exact_d_star": float(exact[k]),
                                 "measured_median_d": float(meas50[k]), "exact_median_d": float(exact50[k]),
                                 "loss_reached_at_d_max": reached, "d_max": d_max, "n_flat": q["n_flat"]})
    return pd.DataFrame(rows)


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
        with _Clock(timings, "two optima (full training)"):
            save_optima(folder / OPTIMA_FILE, train_optima(exp, data))
        save()
    optima = load_optima(folder / OPTIMA_FILE, exp, data)
    models = sweep_models(exp, optima)
    if not (folder / PLANE_FILE).exists():
        with _Clock(timings, f"landscape planes ({exp.plane_points}^2 points, 2 models)"):
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
    curv = dict(np.load(folder / CURVATURE_FILE))
    table = predictions(exp, curv, records, np.load(folder / LSTSQ_FILE)["minima"], timings,
                        true_w0=settings["losses_at_w0"])
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
