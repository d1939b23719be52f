"""Two-dimensional cuts of a loss landscape through three points (the paper's Figure 9).

Three parameter vectors w_0, w_1, w_2 (an initialisation and two optima) span an affine
plane. With origin w_0 and the orthonormal pair

    u = (w_1 - w_0) / ||w_1 - w_0||,
    v = (w_2 - w_0 - ((w_2 - w_0) . u) u) / ||...||              (Gram-Schmidt),

every point of the plane is w(a, b) = w_0 + a u + b v, and the three points sit at
(0, 0), (||w_1 - w_0||, 0) and ((w_2 - w_0) . u, (w_2 - w_0) . v). :func:`plane_grid`
lays a grid over them with a margin; :func:`plane_losses` evaluates a model's mean loss
and accuracy at every grid point on a set of examples (one compiled evaluation, reused).
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .subspace import ParamLayout
from .validation import check_float, check_int


class Plane(NamedTuple):
    """The plane through three points: ``origin`` w_0 (flat, D), orthonormal ``u``, ``v``
    (D each), the points' plane ``coords`` (3, 2) and the ``layout`` to unflatten."""
    origin: np.ndarray
    u: np.ndarray
    v: np.ndarray
    coords: np.ndarray
    layout: ParamLayout

    def point(self, a: float, b: float) -> np.ndarray:
        """w(a, b) = w_0 + a u + b v (flat)."""
        return self.origin + a * self.u + b * self.v


def plane_through(w0, w1, w2) -> Plane:
    """The :class:`Plane` with origin ``w0`` spanned by ``w1 - w0`` and ``w2 - w0`` (module docstring).

    The three arguments are parameter pytrees of one structure; raises ``ValueError`` if the
    points are (numerically) collinear.
    """
    layout = ParamLayout.of(w0)
    p0, p1, p2 = (np.asarray(layout.flatten(w), np.float64) for w in (w0, w1, w2))
    e1, e2 = p1 - p0, p2 - p0
    n1 = np.linalg.norm(e1)
    if n1 == 0:
        raise ValueError("w1 is not valid; it equals w0, so the three points do not span a plane")
    u = e1 / n1
    r = e2 - (e2 @ u) * u
    n2 = np.linalg.norm(r)
    if n2 <= 1e-6 * max(n1, np.linalg.norm(e2)):  # float32 points: rounding ~1e-7
        raise ValueError("w2 is not valid; w0, w1, w2 are collinear, so they do not span a plane")
    v = r / n2
    coords = np.array([[0.0, 0.0], [n1, 0.0], [e2 @ u, e2 @ v]])
    return Plane(p0, u, v, coords, layout)


def plane_grid(plane: Plane, n: int, margin: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """``(a, b)``: ``n`` evenly spaced values along each axis covering the three points plus
    ``margin`` times the span of their coordinates on every side."""
    n = check_int("plane_points", n, min_value=3)
    margin = check_float("plane_margin", margin, min_value=0.0)
    lo, hi = plane.coords.min(axis=0), plane.coords.max(axis=0)
    pad = margin * (hi - lo).max()
    return np.linspace(lo[0] - pad, hi[0] + pad, n), np.linspace(lo[1] - pad, hi[1] + pad, n)


@functools.partial(jax.jit, static_argnames=("model", "layout", "loss"))
def _point_metrics(w, x, y, weight, *, model, layout, loss):
    from .train import example_losses
    logits = model.apply({"params": layout.unravel(w)}, x)
    losses = example_losses(logits, y, loss)
    correct = (jnp.argmax(logits, -1) == y).astype(jnp.float32)
    return jnp.sum(weight * losses), jnp.sum(weight * correct)


def plane_losses(model, plane: Plane, a, b, x, y, *, chunk: int = 1000, loss: str = "cross_entropy"):
    """``(loss, accuracy)``, each of shape (len(b), len(a)): the mean ``loss`` and the accuracy
    of ``model`` at w(a_i, b_j) on the examples ``(x, y)``, row j, column i (so
    ``contourf(a, b, loss)`` draws it)."""
    from .train import padded_chunks
    chunk = check_int("chunk", chunk, min_value=1)
    a, b = np.asarray(a, float), np.asarray(b, float)
    n = int(np.shape(y)[0])
    chunks = list(padded_chunks(np.asarray(x), np.asarray(y), min(chunk, n)))
    out_l, out_a = np.zeros((b.size, a.size)), np.zeros((b.size, a.size))
    for j, bj in enumerate(b):
        for i, ai in enumerate(a):
            w = jnp.asarray(plane.point(ai, bj), jnp.float32)
            tot_l = tot_a = 0.0
            for xc, yc, mc in chunks:
                lsum, asum = _point_metrics(w, xc, yc, mc, model=model, layout=plane.layout, loss=loss)
                tot_l, tot_a = tot_l + float(lsum), tot_a + float(asum)
            out_l[j, i], out_a[j, i] = tot_l / n, tot_a / n
    return out_l, out_a
