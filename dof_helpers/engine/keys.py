"""Fingerprints, run keys and the one random-number scheme of every sweep.

**Run keys that cannot go stale.** A run's key is a hash of everything that determines
its result: its method, size (d or keep fraction), t and seed; the settings of its
method (:data:`methods.METHOD_FIELDS`); the model's fingerprint (its class, its module
configuration, its parameter shapes and the computation it performs, read off the
jaxpr of ``apply``); the data's fingerprint (name, sizes and a content hash of the four
arrays, :meth:`data.Dataset.fingerprint`); and the numerical precision settings. A record
is reused only under its own key.

**Randomness** of seed s, from ``root = PRNGKey(s)``:

- w_0 from ``fold_in(root, 0)``;
- the full-space trajectory (burn-in points w_t, the lottery trajectory, the ticket
  pretraining: one momentum-SGD walk) from the batches of ``fold_in(root, 1)``;
- run (method, size, t) from ``fold_in(fold_in(fold_in(fold_in(root, stream), index), size), t)``
  with ``stream`` 2 for subspace methods, 3 for pruning, 4 for the full model, ``index``
  the method's position in its family and ``size`` d (pruning: the kept count
  round(keep_fraction * D)); split into the structure key (basis or random mask) and
  the batch-order key.

So a run's numbers depend on its own coordinates only, never on which runs were done
before it, where, or in what order.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import re

import jax
import jax.numpy as jnp

from .methods import PRUNING_METHODS, SUBSPACE_METHODS, family

_STREAMS = {"subspace": 2, "pruning": 3, "full": 4}
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")


def _sha(payload) -> str:
    return hashlib.sha1(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


def seed_keys(seed: int):
    """``(init_key, trajectory_key)`` of seed ``seed``: w_0, and the full-space trajectory's batches."""
    root = jax.random.PRNGKey(seed)
    return jax.random.fold_in(root, 0), jax.random.fold_in(root, 1)


def run_rng(seed: int, method: str, size: int, t: int):
    """``(structure_key, batch_key)`` of run (method, size, t) of seed ``seed`` (module docstring)."""
    fam = family(method)
    index = {"subspace": SUBSPACE_METHODS, "pruning": PRUNING_METHODS, "full": ("full",)}[fam].index(method)
    k = jax.random.fold_in(jax.random.PRNGKey(seed), _STREAMS[fam])
    for v in (index, int(size), int(t)):
        k = jax.random.fold_in(k, v)
    k_structure, k_batches = jax.random.split(k)
    return k_structure, k_batches


def precision_settings() -> dict:
    """The JAX settings that change the numbers a run produces (part of every run key)."""
    return {"x64": bool(jax.config.jax_enable_x64),
            "matmul_precision": str(jax.config.jax_default_matmul_precision)}


def model_fingerprint(model, input_shape) -> str:
    """A hash of the model's class, module configuration, parameter shapes and computation.

    The computation is the jaxpr of ``model.apply`` on one example of ``input_shape``
    (abstract: nothing is run; printed without colour, so the same in a notebook, on a terminal
    and in a log), so two models that differ only in code -- another
    activation, another layer order -- get different fingerprints even when their
    configuration and parameter shapes agree. Objects with their own ``fingerprint()``
    (e.g. a linearised model, whose expansion point is data) add it.
    """
    params = jax.eval_shape(lambda k: model.init(k, jnp.zeros((1,) + tuple(input_shape), jnp.float32)),
                            jax.random.PRNGKey(0))["params"]
    shapes = [(jax.tree_util.keystr(p), tuple(x.shape), str(x.dtype))
              for p, x in jax.tree_util.tree_flatten_with_path(params)[0]]
    x = jax.ShapeDtypeStruct((1,) + tuple(input_shape), jnp.float32)
    # printed without colour: jax colours a jaxpr in Jupyter and on a terminal, and ANSI escapes
    # in the hash would give one model other run keys in a notebook than in a logged sweep
    jaxpr = jax.make_jaxpr(lambda p, xb: model.apply({"params": p}, xb))(params, x).jaxpr.pretty_print(use_color=False)
    own = model.fingerprint() if callable(getattr(model, "fingerprint", None)) else None
    return _sha({"class": f"{type(model).__module__}.{type(model).__qualname__}",
                 "config": _ADDRESS.sub("0x", repr(model)), "shapes": shapes,
                 "jaxpr": hashlib.sha1(_ADDRESS.sub("0x", jaxpr).encode()).hexdigest(), "own": own})


@dataclasses.dataclass(frozen=True, eq=False)
class Context:
    """What every run of a sweep shares: the model, the data and their identities.

    ``model_name`` / ``data_name`` are the names written into records (a registered
    name, or the class name / the name given to :func:`data.from_arrays`);
    ``model_fingerprint`` / ``data_fingerprint`` identify them exactly (run keys).
    ``D`` is the number of parameters.
    """
    model: object
    model_name: str
    data: object
    model_fingerprint: str
    data_fingerprint: str
    D: int

    @property
    def identity(self) -> dict:
        """The fields every record of this context carries."""
        return {"dataset": self.data_name, "model": self.model_name, "model_fingerprint": self.model_fingerprint,
                "data_fingerprint": self.data_fingerprint, "n_train": int(self.data.x_train.shape[0]),
                "n_test": int(self.data.x_test.shape[0])}

    @property
    def data_name(self) -> str:
        return self.data.name


def make_context(model, data, **model_options) -> Context:
    """The :class:`Context` of ``model`` (a registered name or a module) on ``data`` (a
    :class:`data.Dataset`, e.g. from :func:`data.from_arrays` or :func:`data.load_dataset`)."""
    from ..data import Dataset
    from ..models import count_params, resolve_model
    if not isinstance(data, Dataset):
        raise ValueError(f"data={type(data).__name__} is not valid; expected a dof_helpers.data.Dataset "
                         "(data.load_dataset(...) or data.from_arrays(x_train, y_train, x_test, y_test, name=...))")
    module, name = resolve_model(model, data, **model_options)
    fp = model_fingerprint(module, data.input_shape)
    D = count_params(jax.eval_shape(lambda k: module.init(k, jnp.zeros((1,) + data.input_shape, jnp.float32)),
                                    jax.random.PRNGKey(0))["params"])
    return Context(module, name, data, fp, data.fingerprint(), D)


def run_key(run: dict, context: Context | None = None) -> str:
    """The key of a run: a hash of its identifying fields (everything in ``run`` except the
    key itself), the context's fingerprints and the precision settings."""
    fields = {k: v for k, v in run.items() if k != "key"}
    if context is not None:
        fields.update(model_fingerprint=context.model_fingerprint, data_fingerprint=context.data_fingerprint)
    fields["precision"] = precision_settings()
    return _sha(fields)
