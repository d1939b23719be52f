"""Tests of dof_helpers.models: parameter counts, shapes, pooling, on-the-fly BN, checks."""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dof_helpers import models
from dof_helpers.models import (MODEL_NAMES, PAPER_PARAM_COUNTS, POOL_MODES, build_model,
                                count_params, init_params, model_for, pool_2x2)

# The full-space dimension D of the paper (Figs. 3 and 6; REFERENCE.md "Models") and of
# Li et al. (2018) for the MLP. Written out here so a change to the module cannot
# silently change what the test expects.
D_CONV2_MNIST = 20_490
D_CONV2_CIFAR10 = 25_578
D_CONV2_CIFAR100 = 209_988
D_CONV3_MNIST = 61_514
D_CONV3_CIFAR10 = 66_570
D_CONV3_CIFAR100 = 158_820
D_RESNET20_MNIST = 272_186
D_RESNET20_CIFAR10 = 272_474
D_MLP_MNIST = 199_210

EXPECTED_D = {
    ("conv2", "mnist"): D_CONV2_MNIST,
    ("conv2", "fashion_mnist"): D_CONV2_MNIST,
    ("conv2", "cifar10"): D_CONV2_CIFAR10,
    ("conv2", "cifar100"): D_CONV2_CIFAR100,
    ("conv3", "mnist"): D_CONV3_MNIST,
    ("conv3", "fashion_mnist"): D_CONV3_MNIST,
    ("conv3", "cifar10"): D_CONV3_CIFAR10,
    ("conv3", "cifar100"): D_CONV3_CIFAR100,
    ("resnet20", "mnist"): D_RESNET20_MNIST,
    ("resnet20", "fashion_mnist"): D_RESNET20_MNIST,
    ("resnet20", "cifar10"): D_RESNET20_CIFAR10,
    ("mlp", "mnist"): D_MLP_MNIST,
}

DATASETS = ("mnist", "fashion_mnist", "cifar10", "cifar100", "svhn")
KEY = jax.random.PRNGKey(0)

_PARAM_CACHE: dict = {}


def _params(name, dataset, pool="max"):
    """Initialised (model, params, image_shape), cached: ResNet20 init is the slow part."""
    k = (name, dataset, pool)
    if k not in _PARAM_CACHE:
        model, shape = model_for(name, dataset, pool)
        _PARAM_CACHE[k] = (model, init_params(model, KEY, shape), shape)
    return _PARAM_CACHE[k]


def _abstract_params(name, dataset):
    """Shape-only parameters (no compilation, no computation)."""
    model, shape = model_for(name, dataset)
    variables = jax.eval_shape(model.init, KEY, jax.ShapeDtypeStruct((1,) + shape, jnp.float32))
    return model, variables, shape


def test_paper_counts_table_matches_constants():
    assert PAPER_PARAM_COUNTS == EXPECTED_D


@pytest.mark.parametrize("name,dataset", sorted(EXPECTED_D))
def test_param_count_is_exactly_the_papers(name, dataset):
    _, variables, _ = _abstract_params(name, dataset)
    assert set(variables) == {"params"}
    assert count_params(variables["params"]) == EXPECTED_D[(name, dataset)]


@pytest.mark.parametrize("name,dataset", [("conv2", "mnist"), ("conv3", "mnist"), ("resnet20", "cifar10"),
                                          ("mlp", "mnist")])
def test_initialised_param_count(name, dataset):
    _, params, _ = _params(name, dataset)
    assert count_params(params) == EXPECTED_D[(name, dataset)]


@pytest.mark.parametrize("name", MODEL_NAMES)
@pytest.mark.parametrize("dataset", DATASETS)
def test_output_shape_and_dtype(name, dataset):
    model, variables, shape = _abstract_params(name, dataset)
    out = jax.eval_shape(model.apply, variables, jax.ShapeDtypeStruct((3,) + shape, jnp.float32))
    n_classes = 100 if dataset == "cifar100" else 10
    assert out.shape == (3, n_classes)
    assert out.dtype == jnp.float32


@pytest.mark.parametrize("name,dataset", [("conv2", "mnist"), ("conv3", "mnist"), ("resnet20", "cifar10"),
                                          ("mlp", "mnist")])
def test_forward_pass_values(name, dataset):
    model, params, shape = _params(name, dataset)
    x = jax.random.normal(jax.random.PRNGKey(1), (3,) + shape)
    logits = model.apply({"params": params}, x)
    assert logits.shape == (3, 100 if dataset == "cifar100" else 10)
    assert bool(jnp.all(jnp.isfinite(logits)))


def test_model_for_shapes_and_classes():
    assert model_for("conv2", "mnist")[1] == (28, 28, 1)
    assert model_for("conv2", "fashion_mnist")[1] == (28, 28, 1)
    for ds in ("cifar10", "cifar100", "svhn"):
        assert model_for("conv3", ds)[1] == (32, 32, 3)
    assert model_for("conv2", "cifar100")[0].num_classes == 100
    assert model_for("resnet20", "svhn")[0].num_classes == 10


@pytest.mark.parametrize("name", ["conv2", "conv3"])
def test_pool_modes_same_d_different_outputs(name):
    m_max, params, shape = _params(name, "mnist", "max")
    m_avg, _ = model_for(name, "mnist", pool="avg")
    assert m_avg.pool == "avg"
    # pooling has no parameters: same tree, same D; the max-pool parameters serve both
    p_avg = jax.eval_shape(m_avg.init, KEY, jax.ShapeDtypeStruct((1,) + shape, jnp.float32))["params"]
    assert jax.tree_util.tree_structure(p_avg) == jax.tree_util.tree_structure(params)
    assert count_params(params) == count_params(p_avg) == EXPECTED_D[(name, "mnist")]
    x = jax.random.normal(jax.random.PRNGKey(2), (3,) + shape)
    out_max = m_max.apply({"params": params}, x)
    out_avg = m_avg.apply({"params": params}, x)
    assert out_max.shape == out_avg.shape == (3, 10)
    assert not np.allclose(out_max, out_avg)


def test_default_pool_is_max():
    assert build_model("conv2").pool == "max"
    assert model_for("conv3", "mnist")[0].pool == "max"


@pytest.mark.parametrize("shape", [(2, 28, 28, 3), (2, 14, 14, 5), (2, 7, 7, 4), (1, 3, 3, 1), (2, 8, 5, 2)])
def test_reshape_pool_equals_flax_pool(shape):
    x = jax.random.normal(jax.random.PRNGKey(3), shape)
    got_max = pool_2x2(x, "max")
    got_avg = pool_2x2(x, "avg")
    want_max = nn.max_pool(x, (2, 2), (2, 2), "VALID")
    want_avg = nn.avg_pool(x, (2, 2), (2, 2), "VALID")
    assert got_max.shape == want_max.shape == (shape[0], shape[1] // 2, shape[2] // 2, shape[3])
    np.testing.assert_array_equal(got_max, want_max)
    np.testing.assert_allclose(got_avg, want_avg, rtol=1e-6, atol=1e-7)


def test_reshape_pool_odd_size_7_to_3():
    x = jnp.arange(7 * 7, dtype=jnp.float32).reshape(1, 7, 7, 1)
    out = pool_2x2(x, "max")
    assert out.shape == (1, 3, 3, 1)
    # the last row and column are dropped, as VALID padding does
    np.testing.assert_array_equal(out[0, :, :, 0], [[8, 10, 12], [22, 24, 26], [36, 38, 40]])


def test_reshape_pool_gradient_matches_flax():
    x = jax.random.normal(jax.random.PRNGKey(4), (2, 7, 7, 3))
    for mode, ref in (("max", nn.max_pool), ("avg", nn.avg_pool)):
        g = jax.grad(lambda v: jnp.sum(jnp.sin(pool_2x2(v, mode))))(x)
        g_ref = jax.grad(lambda v: jnp.sum(jnp.sin(ref(v, (2, 2), (2, 2), "VALID"))))(x)
        np.testing.assert_allclose(g, g_ref, rtol=1e-6, atol=1e-7)


def test_conv_spatial_sizes():
    # 28 -> 14 -> 7 -> 3 (Conv-3, MNIST) and 32 -> 16 -> 8 (Conv-2, CIFAR): the dense head's fan-in
    for name, dataset, fan_in in [("conv3", "mnist", 3 * 3 * 64), ("conv2", "mnist", 7 * 7 * 32),
                                  ("conv2", "cifar10", 8 * 8 * 32), ("conv3", "cifar10", 4 * 4 * 64)]:
        _, variables, _ = _abstract_params(name, dataset)
        assert variables["params"]["Dense_0"]["kernel"].shape == (fan_in, 10)


def test_resnet_batchnorm_uses_batch_statistics():
    model, params, shape = _params("resnet20", "cifar10")
    x = jax.random.normal(jax.random.PRNGKey(5), (4,) + shape)
    other = jax.random.normal(jax.random.PRNGKey(6), (3,) + shape) * 3.0 + 1.0
    out_a = model.apply({"params": params}, x)
    out_b = model.apply({"params": params}, jnp.concatenate([x[:1], other]))
    # the same first image gives a different output in a different batch
    assert not np.allclose(out_a[0], out_b[0], atol=1e-4)
    # apply is pure: same input, same output; no mutable state is needed or returned
    np.testing.assert_array_equal(out_a, model.apply({"params": params}, x))


def test_resnet_has_no_batch_stats_collection():
    _, variables, _ = _abstract_params("resnet20", "cifar10")
    assert set(variables) == {"params"}
    assert "batch_stats" not in variables
    # BN scale and bias are parameters (and count towards D)
    _, params, _ = _params("resnet20", "cifar10")
    bn = params["OnTheFlyBatchNorm_0"]
    assert set(bn) == {"scale", "bias"}
    np.testing.assert_array_equal(bn["scale"], np.ones(16))
    np.testing.assert_array_equal(bn["bias"], np.zeros(16))


def test_batchnorm_layer_normalises_per_channel():
    bn = models.OnTheFlyBatchNorm()
    x = jax.random.normal(jax.random.PRNGKey(7), (8, 5, 5, 3)) * 4.0 + 2.0
    variables = bn.init(KEY, x)
    y = bn.apply(variables, x)
    np.testing.assert_allclose(np.mean(y, axis=(0, 1, 2)), 0.0, atol=1e-5)
    np.testing.assert_allclose(np.var(y, axis=(0, 1, 2)), 1.0, atol=1e-3)


@pytest.mark.parametrize("name", ["conv2", "mlp"])
def test_apply_is_pure_and_jittable(name):
    model, params, shape = _params(name, "mnist")
    x = jax.random.normal(jax.random.PRNGKey(8), (3,) + shape)
    out = jax.jit(lambda p, v: model.apply({"params": p}, v))(params, x)
    np.testing.assert_allclose(out, model.apply({"params": params}, x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_init_is_deterministic_for_a_key(name):
    # the (model, shape) pairs other tests compile too: the compiled initialiser is shared
    model, shape = model_for(name, "cifar10" if name == "resnet20" else "mnist")
    a = init_params(model, jax.random.PRNGKey(11), shape)
    b = init_params(model, jax.random.PRNGKey(11), shape)
    c = init_params(model, jax.random.PRNGKey(12), shape)
    jax.tree_util.tree_map(np.testing.assert_array_equal, a, b)
    leaves_a, leaves_c = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(c)
    assert any(not np.array_equal(u, v) for u, v in zip(leaves_a, leaves_c))


def test_count_params_on_shapes():
    tree = {"k": jax.ShapeDtypeStruct((3, 4), jnp.float32), "b": jnp.zeros(2)}
    assert count_params(tree) == 14


def test_init_uses_flax_defaults():
    _, params, _ = _params("conv2", "mnist")
    np.testing.assert_array_equal(params["Conv_0"]["bias"], np.zeros(16))
    # LeCun normal: variance 1 / fan_in (fan_in = 3*3*16 for the second conv)
    k = np.asarray(params["Conv_1"]["kernel"])
    assert 0.7 < k.var() * (3 * 3 * 16) < 1.3


def test_count_params_simple_tree():
    tree = {"a": jnp.zeros((3, 4)), "b": {"c": jnp.zeros(5), "d": jnp.zeros(())}}
    assert count_params(tree) == 18


def test_bad_model_name_rejected():
    with pytest.raises(ValueError, match="name='resnet18'.*'conv2'.*'conv3'.*'resnet20'.*'mlp'"):
        build_model("resnet18")
    with pytest.raises(ValueError, match="accepted values"):
        model_for("lenet", "mnist")


def test_bad_pool_rejected():
    with pytest.raises(ValueError, match="pool='mean'.*'max'.*'avg'"):
        build_model("conv2", pool="mean")
    with pytest.raises(ValueError, match="pool="):
        model_for("conv3", "mnist", pool="min")
    with pytest.raises(ValueError, match="pool="):
        pool_2x2(jnp.zeros((1, 4, 4, 1)), "sum")


@pytest.mark.parametrize("bad", [0, 1, -3, 2.5, "10", True])
def test_bad_num_classes_rejected(bad):
    with pytest.raises(ValueError, match="num_classes="):
        build_model("conv2", num_classes=bad)


def test_bad_dataset_rejected():
    with pytest.raises(ValueError, match="dataset='imagenet'.*'mnist'.*'cifar100'"):
        model_for("conv2", "imagenet")


@pytest.mark.parametrize("bad", [(), (28, 0, 1), "28x28", (28.0, 28, 1), 5])
def test_bad_input_shape_rejected(bad):
    with pytest.raises(ValueError, match="input_shape="):
        init_params(build_model("mlp"), KEY, bad)


def test_any_input_shape_initialises_and_the_registry_takes_new_models():
    from dof_helpers import models
    assert count_params(init_params(build_model("mlp"), KEY, (20,))) == 20 * 200 + 200 + 200 * 200 + 200 + 2010
    models.register_model("mlp_small", lambda num_classes, input_shape, **kw: models.MLP(num_classes, hidden=(7,)))
    try:
        net = build_model("mlp_small", 3)
        assert count_params(init_params(net, KEY, (4,))) == 4 * 7 + 7 + 7 * 3 + 3
        with pytest.raises(ValueError, match="already registered"):
            models.register_model("mlp_small", lambda *a, **k: None)
    finally:
        models.MODEL_REGISTRY.pop("mlp_small")


def test_constants():
    assert MODEL_NAMES == ("conv2", "conv3", "resnet20", "mlp")
    assert POOL_MODES == ("max", "avg")


# ----------------------------------------------------------------------------- fused conv stages
class _PlainConvNet(nn.Module):
    """Conv-2 / Conv-3 from plain Flax layers (nn.Conv, ReLU, reshape pool): the definition."""

    channels: tuple
    pool: str = "max"

    @nn.compact
    def __call__(self, x):
        for features in self.channels:
            x = pool_2x2(nn.relu(nn.Conv(features, (3, 3), padding="SAME")(x)), self.pool)
        return nn.Dense(10)(x.reshape((x.shape[0], -1)))


@pytest.mark.parametrize("name,dataset,pool", [("conv2", "mnist", "max"), ("conv2", "mnist", "avg"),
                                               ("conv3", "mnist", "max"), ("conv2", "cifar10", "max")])
def test_conv_impls_same_params_outputs_and_gradients(name, dataset, pool):
    # conv3 on 28x28 pools 7 -> 3: the odd size VALID pooling drops a row and a column
    channels = (16, 32) if name == "conv2" else (32, 64, 64)
    plain = _PlainConvNet(channels, pool)
    shape = models.DATASET_SHAPES[dataset]
    params = init_params(plain, jax.random.PRNGKey(5), shape)
    x = jax.random.normal(jax.random.PRNGKey(6), (6,) + shape)
    y = jnp.arange(6) % 10

    def loss(m, p):
        lg = m.apply({"params": p}, x)
        return jnp.mean(jax.nn.logsumexp(lg, -1) - lg[jnp.arange(6), y])

    ref_loss, ref_grad = jax.jit(jax.value_and_grad(lambda p: loss(plain, p)))(params)
    for impl in models.CONV_IMPLS:
        model = build_model(name, pool=pool, conv_impl=impl)
        # same tree, same order and same initial values from the same key as nn.Conv
        jax.tree_util.tree_map(np.testing.assert_array_equal, init_params(model, jax.random.PRNGKey(5), shape),
                               params)
        got_loss, got_grad = jax.jit(jax.value_and_grad(lambda p: loss(model, p)))(params)
        np.testing.assert_allclose(got_loss, ref_loss, rtol=1e-5, err_msg=impl)
        for g, r in zip(jax.tree_util.tree_leaves(got_grad), jax.tree_util.tree_leaves(ref_grad)):
            np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-5 * float(np.abs(r).max()), err_msg=impl)


def test_patches_times_wide_kernel_is_the_convolution_at_each_window():
    x = jax.random.normal(jax.random.PRNGKey(1), (2, 7, 9, 3))   # odd sizes: 3 x 4 windows
    k = jax.random.normal(jax.random.PRNGKey(2), (3, 3, 3, 5))
    conv = jax.lax.conv_general_dilated(x, k, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
    z4 = (models.patches_4x4(x) @ models.wide_kernel(k)).reshape(2, 3, 4, 4, 5)
    for di in range(2):
        for dj in range(2):
            np.testing.assert_allclose(z4[:, :, :, 2 * di + dj], conv[:, di:6:2, dj:8:2], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("impl", ["gemm", "conv"])
def test_fused_max_pool_ties_share_the_gradient_like_autodiff(impl):
    # an all-zero input makes every window a four-way tie (z = bias > 0 everywhere)
    x = jnp.zeros((1, 4, 4, 1))
    k = jax.random.normal(jax.random.PRNGKey(3), (3, 3, 1, 2))
    b = jnp.array([0.5, -0.5])
    ct = jax.random.normal(jax.random.PRNGKey(4), (1, 2, 2, 2))

    def vjp(f):
        return jax.vjp(f, x, k, b)[1](ct)

    ref = vjp(lambda x, k, b: models.conv3x3_relu_pool(x, k, b, "max", "reference"))
    got = vjp(lambda x, k, b: models.conv3x3_relu_pool(x, k, b, "max", impl))
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r, rtol=1e-6, atol=1e-6)
    assert float(jnp.abs(ref[0]).sum()) > 0   # the tie really carries gradient to x


def test_bad_conv_impl_rejected():
    with pytest.raises(ValueError, match="conv_impl='im2col'.*'auto'.*'gemm'.*'conv'.*'reference'"):
        build_model("conv2", conv_impl="im2col")
    with pytest.raises(ValueError, match="conv_impl="):
        models.conv3x3_relu_pool(jnp.zeros((1, 4, 4, 1)), jnp.zeros((3, 3, 1, 2)), jnp.zeros(2), "max", "fast")


def test_fused_stages_under_vmap_match_single_runs():
    # the engine vmaps whole training steps over runs on accelerators (train_subspace_batched)
    model = build_model("conv2", conv_impl="auto")
    keys = jax.random.split(jax.random.PRNGKey(7), 2)
    params = jax.vmap(lambda k: init_params(model, k, (28, 28, 1)))(keys)
    x = jax.random.normal(jax.random.PRNGKey(8), (2, 4, 28, 28, 1))

    def loss_grad(p, xb):
        return jax.value_and_grad(lambda q: jnp.sum(jnp.tanh(model.apply({"params": q}, xb))))(p)

    batched = jax.jit(jax.vmap(loss_grad))(params, x)
    for r in range(2):
        single = jax.jit(loss_grad)(jax.tree_util.tree_map(lambda a: a[r], params), x[r])
        for b, s in zip(jax.tree_util.tree_leaves(batched), jax.tree_util.tree_leaves(single)):
            np.testing.assert_allclose(b[r], s, rtol=1e-4, atol=1e-5)
