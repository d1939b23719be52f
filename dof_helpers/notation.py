"""The book's glossary: one table of symbols shared by the prose and the code.

``book/notation.md`` renders :data:`GLOSSARY` (``python -m dof_helpers.notation`` writes
the markdown table), and a test checks that every code name listed here is used in the
package, so prose and code cannot drift apart silently.
"""
from __future__ import annotations

# (symbol in the book, name in code, meaning, where it is defined in the paper)
GLOSSARY: tuple[tuple[str, str, str, str], ...] = (
    ("$D$", "D", "number of trainable parameters of the full network", "Section 2"),
    ("$\\mathbf{w} \\in \\mathbb{R}^D$", "w", "all weights of the network, flattened into one vector", "Section 2"),
    ("$\\mathbf{w}_0$", "w_0", "the random initialisation", "Section 2"),
    ("$t$", "t", "burn-in (or rewind) step: number of full-space SGD steps before the subspace is fixed", "eq. 2.2"),
    ("$\\mathbf{w}_t$", "w_t", "the weights after $t$ full-space steps; the offset of the training subspace", "eq. 2.2"),
    ("$d$", "d", "training dimension: the number of free coordinates inside the subspace", "eq. 2.2"),
    ("$\\boldsymbol{\\theta} \\in \\mathbb{R}^d$", "theta", "coordinates inside the subspace, starting at 0", "eq. 2.2"),
    ("$\\mathbf{A} \\in \\mathbb{R}^{D\\times d}$", "A", "the basis of the subspace: $\\mathbf{w}(\\boldsymbol{\\theta}) = \\mathbf{w}_t + \\mathbf{A}\\boldsymbol{\\theta}$", "eq. 2.2, App. A.4"),
    ("$\\mathcal{L}(\\mathbf{w})$", "loss", "mean training loss (cross-entropy)", "Section 2"),
    ("$\\epsilon$", "epsilon", "a loss level (or, for accuracy, the accuracy threshold)", "eq. 2.1"),
    ("$S(\\epsilon)$", "sublevel set", "all weights with loss at most $\\epsilon$", "eq. 2.1"),
    ("$P_s(d, \\epsilon, t)$", "P_s", "success probability: the chance that the subspace meets $S(\\epsilon)$", "eq. 2.3"),
    ("$\\delta$", "delta", "tolerated failure rate in the definition of $d^*$", "Definition 2.1"),
    ("$d^*(\\epsilon, t, \\delta)$", "d_star", "threshold training dimension: the smallest $d$ with $P_s \\ge 1-\\delta$", "Definition 2.1"),
    ("$w(S)$", "gaussian_width", "Gaussian width of a set: $\\mathbb{E}\\sup_{x\\in S}\\langle g, x\\rangle$", "Definition 3.1"),
    ("$\\mathrm{proj}_{\\mathbf{w}_t}(S)$", "sublevel_cone", "the set $S$ projected radially onto the unit sphere around $\\mathbf{w}_t$ (in code: the cone of directions it spans)", "eq. 3.1"),
    ("$d_{\\mathrm{local}}(S, \\mathbf{w}_t)$", "d_local", "local angular dimension: squared Gaussian width of the projected set", "Definition 3.2"),
    ("$k = D - d$", "k", "co-dimension of the random subspace in Gordon's theorem", "Theorem 3.1"),
    ("$\\mathbf{H}$, $\\lambda_i$", "H, lambda_i", "Hessian of the quadratic well and its eigenvalues", "Section 3.2"),
    ("$r_i$", "r_i", "radii of the ellipsoidal sublevel set, $r_i = \\sqrt{2\\epsilon/\\lambda_i}$", "Section 3.2"),
    ("$R$", "R", "distance from the initialisation to the minimum of the quadratic well", "Section 3.2"),
    ("$\\mathbf{U}_d$", "Q", "top-$d$ left singular vectors of the training trajectory (lottery subspace; in code `SeedState.lottery()[0][:, :d]`)", "Section 4"),
    ("$m \\in \\{0,1\\}^D$", "mask", "a pruning mask: the kept coordinates span an axis-aligned subspace of dimension $d = \\|m\\|_0$", "Table 1"),
    ("$\\eta_{\\mathrm{full}}$", "full_lr", "momentum-SGD learning rate of every full-space phase: burn-in, lottery trajectory, ticket pretraining, full model", "App. A.4"),
    ("run key", "key", "a hash of everything that determines a run's result: method, $d$, $t$, seed, settings, and the model's and data's fingerprints", "(this book)"),
    ("$D/d$", "compression", "compression ratio of a subspace or a pruned network", "Figure 6"),
    ("$\\mathbf{w}_{\\mathrm{opt}}$", "w_opt", "an optimum found by full training from $\\mathbf{w}_0$; the linearisation point (`opt1` in code)", "App. A.1"),
    ("$f_{\\mathrm{lin}}(\\mathbf{w}, x)$", "Linearised", "the network linearised in its weights around $\\mathbf{w}_{\\mathrm{opt}}$: $f(\\mathbf{w}_{\\mathrm{opt}}, x) + J(\\mathbf{w} - \\mathbf{w}_{\\mathrm{opt}})$", "App. A.1"),
    ("$J$", "J", "Jacobian of the logits with respect to the weights at $\\mathbf{w}_{\\mathrm{opt}}$, $(N C) \\times D$", "App. A.1"),
    ("$G$", "gauss_newton_matrix", "Gauss-Newton matrix $J^\\top H_{\\mathrm{ce}} J / N$: the Hessian of the linearised model's loss at $\\mathbf{w}_{\\mathrm{opt}}$", "(this book, ch. 07)"),
    ("$G_0$, $M$, $b$", "GaussNewtonModel", "the Gauss-Newton matrix at $\\mathbf{w}_0$, its factor ($G_0 = M^\\top M$) and the vector $b$ with $M^\\top b$ the gradient at $\\mathbf{w}_0$: the quadratic model taken where training starts (case (iv))", "(this book, ch. 07)"),
    ("$N$, $C$", "N, C", "number of training examples the curvature is computed on, and of classes", "(this book, ch. 07)"),
    ("$z_0$", "z0", "the displacement $\\mathbf{w}_0 - \\mathbf{w}^*$ in the curvature's eigenbasis", "(this book, ch. 04, 07)"),
    ("$L^*$, $L_q(\\mathbf{w}_0)$", "L_star, loss_w0", "a quadratic model's minimum and its value at $\\mathbf{w}_0$; loss levels are $L^* + f\\,(L_q(\\mathbf{w}_0) - L^*)$", "(this book, ch. 07)"),
    ("$d_{\\mathrm{int}90}$", "d_int90", "Li et al.'s intrinsic dimension: first $d$ reaching 90% of the full model's accuracy", "Li et al. 2018"),
)


def glossary_markdown() -> str:
    """The glossary as a markdown table (symbol, name in code, meaning, paper reference)."""
    rows = ["| symbol | in code | meaning | paper |", "|---|---|---|---|"]
    for symbol, code, meaning, where in GLOSSARY:
        rows.append(f"| {symbol} | `{code}` | {meaning} | {where} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(glossary_markdown(), end="")
