"""Chapter 07, step 4: the curvature at an optimum (the Gauss-Newton matrix G of the
cross-entropy loss, J^T J / N of the squared error, Lanczos and SLQ of the true Hessian).

The quadratic well of the prediction, L_q(w) = L* + (w - w_opt)^T G (w - w_opt) / 2
(Section 3, eq. 3.1 and 3.2 of the paper with G in place of the Hessian), needs G's
eigenvalues and the coordinates z0 = V^T (w_0 - w_opt) of the start in its eigenbasis;
these functions compute them by the route the experiment names and record wall time and
memory of each step. The linear algebra lives in :mod:`dof_helpers.curvature` and
:mod:`dof_helpers.lanczos`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .common import StepClock

if TYPE_CHECKING:
    from .linearised import Linearisation

ROUTES = ("auto", "dense", "kernel", "both")
#: eigenvalues below this fraction of lambda_max are flat: about 8 float32 epsilons, the
#: rounding noise of a float32 eigendecomposition (benchmarks/curvature_cost.py)
FLAT_RTOL = 1e-6


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
            with StepClock(timings, "G, dense D x D (build)"):
                G = curvature.gauss_newton_matrix(module, w_opt, subset)
            out["trace"] = float(np.trace(G, dtype=np.float64))
            with StepClock(timings, "G, dense eigh (eigenvalues and vectors)"):
                lams, V = curvature.dense_spectrum(G, overwrite=True)
            del G
            out["lams_dense"], out["z0_dense"] = lams, (V.T @ dw.astype(np.float32)).astype(np.float64)
            del V
        out["lams"], out["z0"] = out["lams_dense"], out["z0_dense"]
    if route in ("kernel", "both"):
        with StepClock(timings, "G, kernel route in float64 (factor, K = M M^T, eigh)"):
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
        with StepClock(timings, "J^T J / N, dense D x D (build and eigh)"):
            lams, V = curvature.dense_spectrum(curvature.gauss_newton_matrix(lin.model, lin.params_opt, subset,
                                                                             loss="squared_error"), overwrite=True)
        loss0, g = curvature.loss_and_gradient(lin, w_0, subset, loss="squared_error")
        lams = np.where(np.abs(lams) <= FLAT_RTOL * lams[0], 0.0, lams).astype(np.float64)
        z0, L_star = quadratic_from_gradient(lams, V.T @ g.astype(np.float32), loss0)
        return {"lams": lams, "z0": z0, "L_star": L_star, "loss_w0": loss0}
    with StepClock(timings, "J^T J / N, kernel route in float64 (squared error)"):
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
    with StepClock(timings, f"Lanczos on G ({exp.lanczos_order} products)"):
        top_g = lanczos.top_eigenpairs(ggn, D, 20, key=key, order=exp.lanczos_order)
    hvp = curvature.hessian_operator(curvature.plain_layers(module), w_opt, subset)
    with StepClock(timings, f"Lanczos on H ({exp.lanczos_order} products)"):
        ritz_h = lanczos.ritz_pairs(lanczos.lanczos(hvp, D, exp.lanczos_order, key=key))
    with StepClock(timings, f"SLQ of H ({exp.slq_probes} x {exp.slq_order} products)"):
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
