"""The linearised network around an optimum (paper Appendix A.1, Figure 9).

For a model f(w, x) (logits) and an optimum w_opt found by full training, the paper's
Appendix A.1 replaces the network by its first-order Taylor expansion in the weights,

    f_lin(w, x) = f(w_opt, x) + J(w_opt, x) (w - w_opt),        J = d f / d w,

which is exactly linear in w, agrees with f at w_opt and has a single basin. We then go
back to w_0 and train f_lin in random affine subspaces like the full network.

:class:`Linearised` is such a model. It satisfies the model protocol of the training
engine: it is hashable (by identity), ``init(key, x)`` returns the base model's
initialisation (so training starts from the same w_0), ``apply({"params": w}, x)``
returns f_lin(w, x), and ``fingerprint()`` names the base model and a content hash of
w_opt. J is never materialised: the product J (w - w_opt) is a Jacobian-vector product.

Two ways to get that product (``tangent``):

- ``"jvp"``: forward mode, ``jax.jvp`` / ``jax.linearize`` of the logits at w_opt;
- ``"transpose"``: the transpose of the reverse-mode map, J t = (J^T)^T t, via
  ``jax.vjp`` then ``jax.linear_transpose``. Needed for models with ``jax.custom_vjp``
  layers, which forward mode cannot enter (the book's fused Conv-2 / Conv-3 stages,
  :func:`dof_helpers.models.conv3x3_relu_pool`). On the fused Conv-2 it was also the
  faster of the two here (``benchmarks/linearised_step.py``).
- ``"auto"`` (default) takes ``"jvp"`` when forward mode works on the model and
  ``"transpose"`` otherwise (:func:`resolve_tangent`).

Losses: :func:`cross_entropy` (the paper's) and :func:`squared_error`,
L(w) = (1/N) sum_i 1/2 ||f(w, x_i) - onehot(y_i)||^2, the normalisation the engine's
``loss="squared_error"`` uses; for a linear-in-w model its Hessian is J^T J / N.
"""
from __future__ import annotations

import hashlib

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .validation import check_choice

TANGENT_MODES = ("auto", "jvp", "transpose")
LOSSES = ("cross_entropy", "squared_error")
_FORWARD_OK: dict = {}  # (model, x shape, x dtype) -> bool, filled by resolve_tangent


# ----------------------------------------------------------------------------- losses
def squared_error(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Mean squared error to one-hot targets: (1/N) sum_i 1/2 ||f_i - onehot(y_i)||^2.

    The 1/2 and the mean over examples (not over classes) are the engine's normalisation,
    so the Hessian of a linear-in-w model is J^T J / N with J the (N C) x D Jacobian.
    """
    return jnp.mean(per_example_loss("squared_error", logits, labels))


def cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Mean softmax cross-entropy of integer ``labels`` (the paper's loss)."""
    return jnp.mean(per_example_loss("cross_entropy", logits, labels))


def per_example_loss(loss: str, logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Loss of each example, shape (N,): softmax cross-entropy or 1/2 ||f_i - onehot(y_i)||^2."""
    check_choice("loss", loss, LOSSES)
    if loss == "cross_entropy":
        return optax.softmax_cross_entropy_with_integer_labels(logits, labels)
    target = jax.nn.one_hot(labels, logits.shape[-1], dtype=logits.dtype)
    return 0.5 * jnp.sum((logits - target) ** 2, axis=-1)


# ----------------------------------------------------------------------------- tangent maps
def _shape_struct(tree):
    return jax.tree_util.tree_map(lambda a: jax.ShapeDtypeStruct(jnp.shape(a), jnp.result_type(a)), tree)


def resolve_tangent(model, params, x, tangent: str = "auto") -> str:
    """``"jvp"`` or ``"transpose"``: how Jacobian-vector products of ``model`` are taken.

    ``"auto"`` traces ``jax.jvp`` of the logits once per (model, input shape) with
    ``jax.make_jaxpr`` (nothing runs) and picks ``"transpose"`` if the trace holds a
    ``custom_lin`` primitive: the linearisation of a ``jax.custom_vjp`` layer, which can be
    transposed but not evaluated forward.
    """
    check_choice("tangent", tangent, TANGENT_MODES)
    if tangent != "auto":
        return tangent
    key = (model, tuple(jnp.shape(x)), str(jnp.result_type(x)))
    if key not in _FORWARD_OK:
        f = lambda p, t, xx: jax.jvp(lambda q: model.apply({"params": q}, xx), (p,), (t,))  # noqa: E731
        p = _shape_struct(params)
        jaxpr = jax.make_jaxpr(f)(p, p, jax.ShapeDtypeStruct(jnp.shape(x), jnp.result_type(x)))
        _FORWARD_OK[key] = "custom_lin" not in set(_primitive_names(jaxpr.jaxpr))
    return "jvp" if _FORWARD_OK[key] else "transpose"


def _primitive_names(jaxpr):
    """Names of every primitive in ``jaxpr`` and its sub-jaxprs (jit, scan, cond bodies...)."""
    for eqn in jaxpr.eqns:
        yield eqn.primitive.name
        for value in eqn.params.values():
            for sub in value if isinstance(value, (list, tuple)) else (value,):
                sub = getattr(sub, "jaxpr", sub)  # ClosedJaxpr -> Jaxpr
                if hasattr(sub, "eqns"):
                    yield from _primitive_names(sub)


def logits_linearisation(model, params, x, tangent: str = "auto"):
    """``(f0, jvp_fn, vjp_fn)`` of the logits map p -> f(p, x) at ``params``.

    f0 = f(params, x) (batch, classes); ``jvp_fn(t) = J t`` for a parameter pytree t;
    ``vjp_fn(u) = J^T u`` (a pytree) for u of f0's shape. Both are linear and reuse one
    forward pass. ``tangent`` is one of :data:`TANGENT_MODES` (see :func:`resolve_tangent`).
    """
    mode = resolve_tangent(model, params, x, tangent)
    f = lambda p: model.apply({"params": p}, x)  # noqa: E731
    if mode == "jvp":
        f0, jvp_fn = jax.linearize(f, params)
        return f0, jvp_fn, lambda u: jax.linear_transpose(jvp_fn, params)(u)[0]
    f0, vjp_fn = jax.vjp(f, params)
    jvp_t = jax.linear_transpose(vjp_fn, f0)
    return f0, lambda t: jvp_t((t,))[0], lambda u: vjp_fn(u)[0]


# ----------------------------------------------------------------------------- fingerprints
def params_hash(params) -> str:
    """SHA-256 of a parameter pytree's structure, shapes, dtypes and bytes (hex, 16 chars)."""
    h = hashlib.sha256()
    leaves, treedef = jax.tree_util.tree_flatten(params)
    h.update(str(treedef).encode())
    for leaf in leaves:
        arr = np.ascontiguousarray(np.asarray(leaf))
        h.update(f"{arr.shape}{arr.dtype}".encode())
        h.update(arr.tobytes())
    return h.hexdigest()[:16]


def wrapped_identity(model) -> str:
    """The identity of a model that :class:`Linearised` or :class:`fixed_start.FixedStart` wraps,
    inside their own ``fingerprint()`` (to which :func:`engine.keys.model_fingerprint` adds the
    computation): ``model.fingerprint()`` if it has one, else its class path and ``repr``."""
    fp = getattr(model, "fingerprint", None)
    if callable(fp):
        return str(fp())
    cls = type(model)
    return f"{cls.__module__}.{cls.__qualname__}:{model!r}".replace("\n", " ")


# ----------------------------------------------------------------------------- the model
def check_model_and_point(model, params, name: str):
    """Validate a model of the protocol (``init`` / ``apply``) and a point ``name`` (a non-empty
    pytree of floating-point arrays); returns the point with every leaf a jax array."""
    if not callable(getattr(model, "apply", None)) or not callable(getattr(model, "init", None)):
        raise ValueError(f"model={model!r} is not valid; expected an object with init(key, x) and "
                         "apply({'params': params}, x) (e.g. a flax.linen.Module)")
    leaves = jax.tree_util.tree_leaves(params)
    if not leaves or not all(jnp.issubdtype(jnp.result_type(a), jnp.floating) for a in leaves):
        raise ValueError(f"{name} is not valid; expected a non-empty pytree of floating-point arrays")
    return jax.tree_util.tree_map(jnp.asarray, params)


class Linearised:
    """f_lin(w, x) = f(w_opt, x) + J(w_opt, x)(w - w_opt) (Appendix A.1), a model of the protocol.

    ``model`` is the base model (``init`` / ``apply`` as a Flax module), ``params_opt``
    the parameter pytree w_opt. Hashing and equality are by identity (the engine passes
    models to ``jax.jit`` as static arguments); w_opt is closed over, so it enters
    compiled steps as a constant (80 KB for Conv-2). ``tangent``: :data:`TANGENT_MODES`.
    """

    def __init__(self, model, params_opt, *, tangent: str = "auto"):
        check_choice("tangent", tangent, TANGENT_MODES)
        self.params_opt = check_model_and_point(model, params_opt, "params_opt")
        self.model = model
        self.tangent = tangent
        self._hash = params_hash(self.params_opt)

    def init(self, key, x):
        """The base model's initialisation ``{"params": w_0}`` (same key, same w_0)."""
        return self.model.init(key, x)

    def apply(self, variables, x):
        """f_lin(w, x) for ``variables = {"params": w}``: logits (batch, classes)."""
        dw = jax.tree_util.tree_map(jnp.subtract, variables["params"], self.params_opt)
        f0, jvp_fn, _ = logits_linearisation(self.model, self.params_opt, x, self.tangent)
        return f0 + jvp_fn(dw)

    def fingerprint(self) -> str:
        """Determines the outputs: ``linearised(<base fingerprint>; w_opt=<content hash>)``."""
        return f"linearised({wrapped_identity(self.model)}; w_opt={self._hash})"

    def __repr__(self):
        return f"Linearised({type(self.model).__name__}, w_opt={self._hash}, tangent={self.tangent!r})"


def linearise(model, params_opt, *, tangent: str = "auto") -> Linearised:
    """The linearised model of ``model`` around ``params_opt`` (see :class:`Linearised`)."""
    return Linearised(model, params_opt, tangent=tangent)
