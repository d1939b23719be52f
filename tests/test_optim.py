"""Optimisers against hand computation."""
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from dof_helpers import optim


def _run(opt, grads, w0):
    w = jnp.asarray(w0, jnp.float32)
    state = opt.init(w)
    out = []
    for g in grads:
        upd, state = opt.update(jnp.asarray(g, jnp.float32), state, w)
        w = optax.apply_updates(w, upd)
        out.append(np.asarray(w))
    return out


def _hand_adam(grads, w0, lr, b1, b2, eps, original):
    w = np.asarray(w0, np.float64)
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    out = []
    for k, g in enumerate(grads, start=1):
        g = np.asarray(g, np.float64)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        c1, c2 = ((1 - b1), (1 - b2)) if original else ((1 - b1 ** k), (1 - b2 ** k))
        w = w - lr * (m / c1) / (np.sqrt(v / c2) + eps)
        out.append(w.copy())
    return out


GRADS = [[0.3, -2.0, 1e-3], [0.1, 0.5, -0.2], [-1.0, 0.2, 0.3], [0.4, 0.4, 0.4]]


@pytest.mark.parametrize("variant", ["standard", "original"])
def test_adam_matches_hand_computation(variant):
    got = _run(optim.adam(variant=variant), GRADS, [1.0, 2.0, 3.0])
    want = _hand_adam(GRADS, [1.0, 2.0, 3.0], 5e-2, 0.9, 0.999, 1e-7, variant == "original")
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_original_adam_first_step_is_lr_sign():
    got = _run(optim.adam(variant="original"), [GRADS[0]], [0.0, 0.0, 0.0])[0]
    np.testing.assert_allclose(got, -5e-2 * np.sign(GRADS[0]), rtol=1e-4)


def test_original_adam_late_steps_are_smaller():
    import jax

    def last_update(opt):
        w = jnp.zeros(1)

        def body(state, _):
            upd, state = opt.update(jnp.ones(1), state, w)
            return state, upd
        _, upds = jax.lax.scan(body, opt.init(w), None, length=10_000)
        return float(upds[-1, 0])

    ratio = last_update(optim.adam(variant="original")) / last_update(optim.adam(variant="standard"))
    assert abs(ratio - np.sqrt(1 - 0.999) / (1 - 0.9)) < 0.01  # ~0.316


def test_momentum_sgd_matches_hand_computation():
    got = _run(optim.momentum_sgd(lr=0.1, momentum=0.9), GRADS, [1.0, 2.0, 3.0])
    w = np.array([1.0, 2.0, 3.0])
    v = np.zeros(3)
    for a, g in zip(got, GRADS):
        v = 0.9 * v + np.asarray(g)
        w = w - 0.1 * v
        np.testing.assert_allclose(a, w, rtol=1e-6)


def test_optimisers_are_memoised_and_validated():
    assert optim.adam() is optim.adam()
    assert optim.make_optimizer("adam", variant="original") is optim.adam(variant="original")
    with pytest.raises(ValueError, match="variant"):
        optim.adam(variant="bias")
    with pytest.raises(ValueError, match="lr"):
        optim.momentum_sgd(lr=0.0)
    with pytest.raises(ValueError, match="optimizer"):
        optim.make_optimizer("rmsprop")
