"""Cost of the exact Gauss-Newton spectrum, Lanczos and SLQ for Conv-2 on Fashion-MNIST.

    python benchmarks/curvature_cost.py [--n 2048] [--train 10240] [--epochs 4] [--lanczos 30]
                                        [--probes 3] [--order 30] [--predict] [--out FILE]

Why: the linearised-network chapter (Appendix A.1, Figure 9) needs the Hessian of the
linearised loss at w_opt, i.e. the Gauss-Newton matrix G (D = 20,490 for Conv-2), to
predict threshold dimensions from a real spectrum. This script trains Conv-2 to an
optimum with ``train.train_full`` (momentum SGD), fixes N training images and measures,
each with its wall time and its peak resident memory above what was held before it:

1. the exact G = (1/N) sum_i J_i^T H_i J_i (per-example Jacobians in chunks, ``syrk``);
2. its full spectrum, eigenvalues and eigenvectors (LAPACK ``syevd``, float32);
   ``--route kernel`` instead builds the factor M (G = M^T M, R = 9 N rows) and
   diagonalises the R x R kernel M M^T, cheaper when R < D (N = 1024: 95 s instead of
   ~15 min); ``both`` does both (default: ``dense``, ~18 min in all on a quiet machine);
3. ``--lanczos`` Lanczos steps with GGN products, compared with the exact top eigenvalues;
4. ``--lanczos`` Lanczos steps with true Hessian-vector products (extreme eigenvalues, so
   also the most negative curvature);
5. one SLQ density of the true Hessian (``--probes`` x ``--order`` products);
6. with ``--predict``: eq. 3.4 and D - d_local from the exact spectrum, w_0 seen from w_opt.

Peak memory: Linux's VmHWM, reset before each phase through /proc/self/clear_refs.

On a shared, oversubscribed CPU run it with ``OPENBLAS_NUM_THREADS=1``: measured here at
load ~11 on 2 cores, a 2,000 x 2,000 ``syevd`` took 41 s with OpenBLAS's 2 threads and
4.5 s with 1 (the threads' synchronisation in the tridiagonal reduction collapses when
they do not get a core each); a matrix product was equally fast either way.
"""
from __future__ import annotations

import argparse
import os
import time

import jax
import numpy as np

from _report import Report
from dof_helpers import basin, curvature, data, lanczos, models, train
from dof_helpers.subspace import ParamLayout

GIB = 2.0 ** 30
#: eigenvalues below this fraction of lambda_max count as flat: about 8 float32 epsilons,
#: the size of the rounding noise of a float32 eigendecomposition of G
FLAT_RTOL = 1e-6


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class Phase:
    """Context manager: wall time and peak RSS above the RSS at entry (GiB)."""

    def __init__(self, say, name):
        self.say, self.name = say, name

    def __enter__(self):
        try:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")  # reset the peak-RSS counter VmHWM
        except OSError:
            pass
        self.rss0 = _status_kib("VmRSS") * 1024 / GIB
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0
        self.peak = _status_kib("VmHWM") * 1024 / GIB
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        self.say(f"| {self.name} | {self.seconds:8.1f} | {self.peak - self.rss0:6.2f} | {self.peak:6.2f} | {load:4.1f} |")


def train_conv2(args, say):
    ds = data.load_dataset("fashion_mnist", n_train=args.train)
    model, shape = models.model_for("conv2", "fashion_mnist")
    key = jax.random.PRNGKey(args.seed)
    t0 = time.perf_counter()
    res = train.train_full(model, ds, key=key, epochs=args.epochs)
    m = res.metrics
    say(f"Conv-2 trained {args.epochs} epochs on {args.train} images in {time.perf_counter() - t0:.0f} s: "
        f"train loss {m['train_loss'][-1]:.4f}, train acc {m['train_acc'][-1]:.4f}, test acc {m['test_acc'][-1]:.4f}")
    w_0 = train.init_model_params(model, train.split_run_key(key)[0], shape)
    return ds, model, res.params, w_0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2048, help="training images in the fixed subset")
    parser.add_argument("--train", type=int, default=10240, help="training images used to reach w_opt")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--chunk", type=int, default=128, help="examples per Jacobian / product chunk")
    parser.add_argument("--lanczos", type=int, default=30, help="Lanczos steps")
    parser.add_argument("--probes", type=int, default=3, help="SLQ probes")
    parser.add_argument("--order", type=int, default=30, help="Lanczos steps per SLQ probe")
    parser.add_argument("--route", choices=("dense", "kernel", "both"), default="dense",
                        help="G's spectrum from the D x D matrix, from the R x R kernel M M^T, or both")
    parser.add_argument("--predict", action="store_true", help="also predict thresholds from the spectrum")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", default=None, help="save the spectrum and eigen-coordinates (.npz) here")
    parser.add_argument("--out", default=None, help="also write the report to this file")
    args = parser.parse_args(argv)
    say = Report()
    say.header("Curvature cost at Conv-2 size", f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}")
    ds, model, p_opt, w_0 = train_conv2(args, say)
    subset = curvature.fixed_subset(ds.x_train[: args.n], ds.y_train[: args.n], chunk=args.chunk)
    D = ParamLayout.of(p_opt).D
    say(f"fixed subset N = {args.n} (chunks of {args.chunk}), D = {D:,}, C = 10")
    layout = ParamLayout.of(p_opt)
    dw = np.asarray(layout.flatten(w_0) - layout.flatten(p_opt), np.float64)
    lams, z0 = measure(args, say, model, p_opt, subset, D, dw)
    if args.save:
        np.savez(args.save, lams=lams, z0=z0, dw_norm=np.linalg.norm(dw), n=args.n)
    if args.predict:
        predict(say, lams, z0, dw, model, p_opt, subset)
    say.save(args.out)


def measure(args, say, model, p_opt, subset, D, dw):
    """Phases 1-5 (module docstring); returns G's eigenvalues and the coordinates V^T dw."""
    key = jax.random.PRNGKey(args.seed + 1)
    say("")
    say("| phase | seconds | peak GiB above start | peak RSS GiB | load |")
    say("|---|---|---|---|---|")
    lams = None
    if args.route in ("dense", "both"):
        lams, z0, trace = dense_route(args, say, model, p_opt, subset, dw)
    if args.route in ("kernel", "both"):
        with Phase(say, f"kernel route: factor M ({args.n} x 9 Jacobian rows, held)"):
            M = curvature.ggn_factor(model, p_opt, subset)
        with Phase(say, f"kernel route: K = M M^T ({M.shape[0]} x {M.shape[0]}) and its eigh"):
            spec = curvature.kernel_spectrum(M)
        if lams is not None:
            say(f"| (kernel vs dense eigenvalues: max abs difference {np.abs(spec.lams - lams).max():.2g}, "
                f"lambda_max {lams[0]:.4g}) | | | | |")
        lams, z0 = spec.lams, curvature.eigen_coordinates(spec, dw)
        trace = float(np.sum(M.astype(np.float64) ** 2))
        del M, spec
    ggn = curvature.ggn_operator(model, p_opt, subset)
    with Phase(say, f"Lanczos, {args.lanczos} GGN products"):
        top_ggn = lanczos.top_eigenpairs(ggn, D, 10, key=key, order=args.lanczos)
    hvp = curvature.hessian_operator(curvature.plain_layers(model), p_opt, subset)  # same products to 2e-7
    with Phase(say, f"Lanczos, {args.lanczos} true Hessian-vector products"):
        ritz_h = lanczos.ritz_pairs(lanczos.lanczos(hvp, D, args.lanczos, key=key))
    with Phase(say, f"SLQ density of H, {args.probes} probes x {args.order} products"):
        nodes, weights = lanczos.slq(hvp, D, order=args.order, n_probes=args.probes, key=jax.random.fold_in(key, 1))
    report_spectra(say, lams, trace, D, top_ggn, ritz_h, nodes, weights)
    return lams, z0


def dense_route(args, say, model, p_opt, subset, dw):
    """The D x D Gauss-Newton matrix and its full eigendecomposition."""
    with Phase(say, f"exact GGN (float32, {args.n} x 9 Jacobian rows, syrk into D x D)"):
        G = curvature.gauss_newton_matrix(model, p_opt, subset)
    trace = float(np.trace(G))
    with Phase(say, "eigh of G (syevd, float32, with eigenvectors)"):
        lams, V = curvature.dense_spectrum(G, overwrite=True)
    del G
    return lams, V.T @ dw.astype(np.float32), trace


def report_spectra(say, lams, trace, D, top_ggn, ritz_h, nodes, weights):
    say("")
    tol = FLAT_RTOL * lams[0]
    say(f"GGN: top eigenvalues {np.array2string(lams[:5], precision=4)}; trace/D {trace / D:.4g}; "
        f"{int(np.sum(lams > tol))} above the flat tolerance {tol:.2g} ({FLAT_RTOL:g} lambda_max), "
        f"{int(np.sum(lams < -tol))} below -tol, min {lams[-1]:.3g}")
    rel = np.abs(top_ggn - lams[:10]) / lams[:10]
    say(f"Lanczos on G vs exact, top 10 relative error: {np.array2string(rel, precision=1)}")
    say(f"true Hessian, Lanczos Ritz values: top {np.array2string(ritz_h[:5], precision=4)}, "
        f"bottom {np.array2string(ritz_h[-3:], precision=4)}")
    neg = float(np.sum(weights * (nodes < -0.01 * lams[0])) / nodes.shape[0])
    say(f"SLQ of H: mean {lanczos.slq_mean(nodes, weights):.4g} (GGN trace/D {trace / D:.4g}); "
        f"weight on nodes below -1% of lambda_max {neg:.3f}; node range [{nodes.min():.3g}, {nodes.max():.3g}]")
    edges = lams[0] * 10.0 ** -np.arange(0, 9)
    counts = [int(np.sum((lams <= hi) & (lams > lo))) for hi, lo in zip(edges[:-1], edges[1:])]
    say("GGN eigenvalues per decade below lambda_max (1-1e-1, ..., 1e-7-1e-8): " + ", ".join(map(str, counts))
        + f"; <= 1e-8 lambda_max: {int(np.sum(lams <= edges[-1]))}")


def predict(say, lams, z0, dw, model, p_opt, subset):
    """eq. 3.4 and D - d_local for the quadratic model L* + 1/2 z^T diag(lams) z at three levels."""
    L_star, _ = curvature.loss_and_gradient(model, p_opt, subset)
    clean = basin.clean_spectrum(lams, flat_tol=FLAT_RTOL * lams[0])
    z0 = np.where(clean > 0, z0, 0.0)
    L0_quad = L_star + 0.5 * float(np.sum(clean * z0.astype(float) ** 2))
    say(f"quadratic model at w_opt: L* = {L_star:.4f}, ||w_0 - w_opt|| = {np.linalg.norm(dw):.3f} "
        f"({np.linalg.norm(z0):.3f} outside the flat directions), model loss at w_0 {L0_quad:.3f}")
    eps = L_star + np.array([0.01, 0.1, 0.5]) * (L0_quad - L_star)
    t0 = time.perf_counter()
    pred = basin.angular_threshold(clean, z0, L_star, eps, n_samples=200, seed=0)
    say(f"predictions ({time.perf_counter() - t0:.0f} s, 200 samples): " + "; ".join(
        f"eps {e:.3f}: eq34 {q:.0f}, D - d_local + 1/2 {c:.0f}, d*(0.9) {s:.0f}"
        for e, q, c, s in zip(pred.epsilon, pred.eq34, pred.centre, pred.d_star)) + f"; flat {pred.n_flat}")


if __name__ == "__main__":
    main()
