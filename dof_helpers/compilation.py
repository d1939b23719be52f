"""How the training steps are compiled: ``jax.jit`` with per-backend XLA options.

:func:`backend_jit` wraps a step function so that it compiles, at its first call, with
:func:`compiler_options` of the backend JAX runs on: :data:`CPU_COMPILER_OPTIONS` on CPU,
nothing elsewhere. Nothing is set globally.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp


#: XLA options for the jitted steps on the CPU backend. jaxlib 0.10 hands convolutions,
#: dots and reductions to YNNPACK "library fusions" by default; on this 2-core CPU that
#: made a Conv-2 SGD step 1.5x slower (18.6 vs 12.2 ms), a Conv-3 step 1.8x and a ResNet20
#: step 1.4x, and left the MLP within noise (Conv-2 / Conv-3: ``benchmarks/conv_step.py``,
#: "reference" vs "reference, cpu options"; ResNet20 and the MLP were timed once the same
#: way, batch 128). An empty list of fusion types switches them off for these
#: computations only (nothing global is set).
CPU_COMPILER_OPTIONS = {"xla_cpu_experimental_ynn_fusion_type": ""}
_accepted_options: dict = {}


def compiler_options(backend: str | None = None) -> dict:
    """The XLA compiler options the training steps use on ``backend`` (default: JAX's).

    :data:`CPU_COMPILER_OPTIONS` on CPU if this jaxlib accepts them (checked once by
    compiling a tiny function; an older or newer XLA without the option gets ``{}``),
    nothing on other backends.
    """
    backend = backend or jax.default_backend()
    if backend != "cpu":
        return {}
    if backend not in _accepted_options:
        try:
            jax.jit(lambda v: v + 1, compiler_options=CPU_COMPILER_OPTIONS).lower(jnp.float32(0)).compile()
            _accepted_options[backend] = dict(CPU_COMPILER_OPTIONS)
        except Exception:  # noqa: BLE001 -- an XLA that does not know the option
            _accepted_options[backend] = {}
    return dict(_accepted_options[backend])


class _BackendJit:
    """``jax.jit(fun, **kwargs)`` compiled with :func:`compiler_options` of the backend.

    The backend is looked up at the first call (not at import, which would initialise
    JAX before a user can configure it). ``lower`` is forwarded for benchmarks.
    """

    def __init__(self, fun, **jit_kwargs):
        functools.update_wrapper(self, fun)
        self._fun, self._kwargs, self._jitted = fun, jit_kwargs, None

    def _get(self):
        if self._jitted is None:
            self._jitted = jax.jit(self._fun, compiler_options=compiler_options() or None, **self._kwargs)
        return self._jitted

    def __call__(self, *args, **kwargs):
        return self._get()(*args, **kwargs)

    def lower(self, *args, **kwargs):
        return self._get().lower(*args, **kwargs)


def backend_jit(**jit_kwargs):
    """Decorator: :class:`_BackendJit` with the given ``jax.jit`` keyword arguments."""
    return lambda fun: _BackendJit(fun, **jit_kwargs)
