"""Where a record was computed: the platform fields every run record carries.

"Same seed, same numbers" holds bit for bit on one machine type. XLA compiles the CPU
program for the widest vector instructions the processor has (AVX-512, AVX2, ...), and
vectors of another width add floating-point numbers in another order; a training run of
a thousand steps turns those last-bit differences into differences in the third decimal
of its accuracy (``benchmarks/isa_numerics.py`` measures them, the Reproducing page shows
the report). The same holds between a CPU and a GPU.

So every record says where it came from (:func:`platform_info`), and none of this is part
of a run key (:mod:`engine.keys`): a committed record computed on another machine is the
same experiment, reused by key, and its ``platform`` field says why its last digits may
differ from a reader's rerun.
"""
from __future__ import annotations

import functools
import os
import platform as _platform

#: x86 vector extensions, widest first: the first one a CPU lists is what XLA targets by default
ISA_ORDER = ("avx512f", "avx2", "avx", "sse4_2")


def cpu_isa(flags: str) -> str:
    """The widest of :data:`ISA_ORDER` in a space-separated CPU flag list ("unknown" if none)."""
    have = set(flags.split())
    return next((isa for isa in ISA_ORDER if isa in have), "unknown")


def _cpuinfo() -> tuple[str, str]:
    """(model name, flags) of the first processor in /proc/cpuinfo; ("", "") where there is none."""
    name = flags = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and not name:
                    name = value.strip()
                elif key == "flags" and not flags:
                    flags = value.strip()
                if name and flags:
                    break
    except OSError:
        pass
    return name, flags


@functools.lru_cache(maxsize=1)
def platform_info() -> dict:
    """jax and jaxlib versions, backend, device kind, CPU model, the widest vector extension
    the CPU lists (:func:`cpu_isa`) and ``XLA_FLAGS`` (``--xla_cpu_max_isa`` there narrows
    what XLA targets) of this process: the fields of a record's ``platform``."""
    import jax
    import jaxlib
    name, flags = _cpuinfo()
    return {"jax": jax.__version__, "jaxlib": jaxlib.__version__, "backend": jax.default_backend(),
            "device_kind": jax.devices()[0].device_kind, "cpu": name or _platform.processor() or _platform.machine(),
            "cpu_isa": cpu_isa(flags), "xla_flags": os.environ.get("XLA_FLAGS", "")}
