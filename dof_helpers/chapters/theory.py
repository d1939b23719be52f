"""Chapters 02-04 (Gaussian width, Gordon's escape theorem, the quadratic well): their
parameters cells checked into frozen configs, each bad value named in a ValueError."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..validation import check_float, check_int

def _int_list(name: str, value, *, min_value: int, max_value: int | None = None) -> tuple:
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError(f"{name}={value!r} is not valid; expected a non-empty list of integers")
    return tuple(check_int(f"{name}[{i}]", v, min_value=min_value, max_value=max_value) for i, v in enumerate(value))


def _float_list(name: str, value, *, min_value: float, max_value: float | None = None) -> tuple:
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError(f"{name}={value!r} is not valid; expected a non-empty list of numbers")
    return tuple(check_float(f"{name}[{i}]", v, min_value=min_value, max_value=max_value) for i, v in enumerate(value))


@dataclass(frozen=True)
class GaussianWidthConfig:
    """Validated parameters of the Gaussian-width chapter."""

    D: int
    n_samples: int
    radius: float
    ball_dims: tuple
    power_exponents: tuple
    cap_angles_deg: tuple
    n_points: tuple
    seed: int


def gaussian_width_config(*, D, n_samples, radius, ball_dims, power_exponents, cap_angles_deg, n_points,
                          seed) -> GaussianWidthConfig:
    """Check the Gaussian-width chapter's parameters (ValueError naming the parameter)."""
    D = check_int("D", D, min_value=2, max_value=5000)
    return GaussianWidthConfig(
        D=D,
        n_samples=check_int("n_samples", n_samples, min_value=10),
        radius=check_float("radius", radius, min_value=0.0, open_min=True),
        ball_dims=_int_list("ball_dims", ball_dims, min_value=1, max_value=D),
        power_exponents=_float_list("power_exponents", power_exponents, min_value=0.0),
        cap_angles_deg=_float_list("cap_angles_deg", cap_angles_deg, min_value=0.0, max_value=90.0),
        n_points=_int_list("n_points", n_points, min_value=1, max_value=100000),
        seed=check_int("seed", seed, min_value=0),
    )


@dataclass(frozen=True)
class EscapeConfig:
    """Validated parameters of the escape-theorem chapter."""

    D: int
    n_trials: int
    cap_angle_deg: float
    n_caps: int
    D_orthant: int
    orthant_dims: tuple
    affine_n: int
    ball_radius: float
    R_values: tuple
    n_width_samples: int
    seed: int


def escape_config(*, D, n_trials, cap_angle_deg, n_caps, D_orthant, orthant_dims, affine_n, ball_radius, R_values,
                  n_width_samples, seed) -> EscapeConfig:
    """Check the escape-theorem chapter's parameters (ValueError naming the parameter)."""
    D = check_int("D", D, min_value=4, max_value=5000)
    ball_radius = check_float("ball_radius", ball_radius, min_value=0.0, open_min=True)
    R_values = _float_list("R_values", R_values, min_value=0.0)
    if min(R_values) <= ball_radius:
        raise ValueError(f"R_values={R_values!r} is not valid; every distance R must exceed ball_radius={ball_radius:g} "
                         "(the initialisation must lie outside the ball)")
    return EscapeConfig(
        D=D,
        n_trials=check_int("n_trials", n_trials, min_value=10),
        cap_angle_deg=check_float("cap_angle_deg", cap_angle_deg, min_value=0.0, max_value=90.0, open_min=True),
        n_caps=check_int("n_caps", n_caps, min_value=1),
        D_orthant=check_int("D_orthant", D_orthant, min_value=4, max_value=2000),
        orthant_dims=_int_list("orthant_dims", orthant_dims, min_value=4, max_value=100000),
        affine_n=check_int("affine_n", affine_n, min_value=0, max_value=D),
        ball_radius=ball_radius,
        R_values=R_values,
        n_width_samples=check_int("n_width_samples", n_width_samples, min_value=10),
        seed=check_int("seed", seed, min_value=0),
    )

@dataclass(frozen=True)
class QuadraticWellConfig:
    """Validated parameters of the quadratic-well chapter."""

    D: int
    lam_hi: float
    lam_lo: float
    R_values: tuple
    eps_min: float
    eps_max: float
    n_eps: int
    n_runs: int
    delta: float
    adam_runs: int
    adam_steps: int
    adam_lr: float
    adam_n_d: int
    n_width_samples: int
    n_width_eps: int
    n_width_inits: int
    seed: int

    @property
    def epsilons(self) -> np.ndarray:
        """Loss thresholds epsilon, log-spaced from ``eps_min`` to ``eps_max``."""
        return np.geomspace(self.eps_min, self.eps_max, self.n_eps)


def quadratic_well_config(*, D, lam_hi, lam_lo, R_values, eps_min, eps_max, n_eps, n_runs, delta,
                          adam_runs, adam_steps, adam_lr, adam_n_d, n_width_samples, n_width_eps,
                          n_width_inits, seed) -> QuadraticWellConfig:
    """Check the chapter's parameters (ValueError naming the parameter) and freeze them."""
    lam_hi_v = check_float("lam_hi", lam_hi, min_value=0.0, open_min=True)
    R_vals = tuple(float(r) for r in R_values) if isinstance(R_values, (list, tuple)) else None
    if not R_vals or any(r <= 0 for r in R_vals):
        raise ValueError(f"R_values={R_values!r} is not valid; expected a non-empty list of positive distances")
    eps_min_v = check_float("eps_min", eps_min, min_value=0.0, open_min=True)
    n_runs_v = check_int("n_runs", n_runs, min_value=2)
    return QuadraticWellConfig(
        D=check_int("D", D, min_value=4, max_value=4000),
        lam_hi=lam_hi_v,
        lam_lo=check_float("lam_lo", lam_lo, min_value=0.0, max_value=lam_hi_v, open_min=True),
        R_values=R_vals,
        eps_min=eps_min_v,
        eps_max=check_float("eps_max", eps_max, min_value=eps_min_v, open_min=True),
        n_eps=check_int("n_eps", n_eps, min_value=2),
        n_runs=n_runs_v,
        delta=check_float("delta", delta, min_value=0.0, max_value=1.0, open_min=True, open_max=True),
        adam_runs=check_int("adam_runs", adam_runs, min_value=1, max_value=n_runs_v),
        adam_steps=check_int("adam_steps", adam_steps, min_value=1),
        adam_lr=check_float("adam_lr", adam_lr, min_value=0.0, open_min=True),
        adam_n_d=check_int("adam_n_d", adam_n_d, min_value=2),
        n_width_samples=check_int("n_width_samples", n_width_samples, min_value=2),
        n_width_eps=check_int("n_width_eps", n_width_eps, min_value=2),
        n_width_inits=check_int("n_width_inits", n_width_inits, min_value=1, max_value=n_runs_v),
        seed=check_int("seed", seed, min_value=0),
    )
