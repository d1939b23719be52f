"""A model whose initialisation is one given point w_0, whatever the key.

The engine draws w_0 from each seed's key, so different seeds start from different
points. Appendix A.1 of the paper instead returns to *the* initialisation w_0 from which
the optimum was found and trains random affine subspaces through it: the seeds should vary
the subspace A and the batch order only. The quadratic-well predictions of chapter 07 need
the same, because the displacement w_0 - w_opt they use is that of one w_0.

:class:`FixedStart` wraps any model of the engine's protocol (``init`` / ``apply``, e.g. a
Flax module or :class:`dof_helpers.linearised.Linearised`): ``apply`` is the wrapped
model's, ``init`` returns ``{"params": w_0}``, and ``fingerprint()`` adds a content hash
of w_0, so records of another start never share a run key.
"""
from __future__ import annotations

import jax

from .linearised import check_model_and_point, params_hash, wrapped_identity


class FixedStart:
    """``model`` with ``init(key, x)`` returning ``{"params": params0}`` for every key.

    Hashing and equality are by identity (models are static arguments of compiled steps).
    ``params0`` must have the wrapped model's parameter structure and shapes.
    """

    def __init__(self, model, params0):
        self.params0 = check_model_and_point(model, params0, "params0")
        self.model = model
        self._hash = params_hash(self.params0)

    def init(self, key, x):
        """``{"params": w_0}``; checks that w_0 fits the wrapped model's parameters for ``x``."""
        want = jax.eval_shape(lambda k: self.model.init(k, x), key)["params"]
        got = jax.tree_util.tree_map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), self.params0)
        if jax.tree_util.tree_structure(want) != jax.tree_util.tree_structure(got) or any(
                a.shape != b.shape for a, b in zip(jax.tree_util.tree_leaves(want), jax.tree_util.tree_leaves(got))):
            raise ValueError("params0 is not valid for this model: its structure or shapes differ from "
                             "model.init's parameters")
        return {"params": self.params0}

    def apply(self, variables, x):
        """The wrapped model's output."""
        return self.model.apply(variables, x)

    def fingerprint(self) -> str:
        """``fixed_start(<wrapped fingerprint>; w_0=<content hash>)``."""
        return f"fixed_start({wrapped_identity(self.model)}; w_0={self._hash})"

    def __repr__(self):
        return f"FixedStart({self.model!r}, w_0={self._hash})"
