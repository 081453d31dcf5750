"""Optimizers and clipping against updates computed by hand, step by step."""

from __future__ import annotations

import numpy as np
import pytest

from rnn import OPTIMIZERS, RNNError, make_optimizer
from rnn.optim import SGD, Adagrad, Adam, clip_elementwise, clip_global_norm, global_norm

TOL = 1e-14


def _params():
    return {"w": np.array([1.0, -2.0, 0.5]), "b": np.array([[0.25, 0.0], [-1.0, 3.0]])}


def _grads(step: int):
    """Different gradients at each step, with mixed signs and a zero."""
    s = step + 1
    return {"w": np.array([0.5, -1.0, 0.0]) * s, "b": np.array([[2.0, -0.1], [0.3, 1e-3]]) / s}


def test_sgd_momentum_by_hand():
    p = _params()
    opt = SGD(p, lr=0.1, momentum=0.9)
    w0 = p["w"].copy()
    g0, g1, g2 = (_grads(i)["w"] for i in range(3))
    for i in range(3):
        opt.update(p, _grads(i))
    v1 = -0.1 * g0
    v2 = 0.9 * v1 - 0.1 * g1
    v3 = 0.9 * v2 - 0.1 * g2
    np.testing.assert_allclose(p["w"], w0 + v1 + v2 + v3, rtol=0, atol=TOL)
    np.testing.assert_allclose(opt.state["velocity"]["w"], v3, rtol=0, atol=TOL)
    assert opt.t == 3


def test_sgd_without_momentum_is_plain_gradient_descent():
    p = _params()
    b0 = p["b"].copy()
    opt = SGD(p, lr=0.5, momentum=0.0)
    opt.update(p, _grads(0))
    opt.update(p, _grads(1))
    np.testing.assert_allclose(p["b"], b0 - 0.5 * _grads(0)["b"] - 0.5 * _grads(1)["b"],
                               rtol=0, atol=TOL)


def test_adagrad_by_hand():
    p = _params()
    w0 = p["w"].copy()
    opt = Adagrad(p, lr=0.1)
    w = w0.copy()
    mem = np.zeros(3)
    for i in range(3):
        g = _grads(i)["w"]
        opt.update(p, _grads(i))
        mem = mem + g**2
        w = w - 0.1 * g / np.sqrt(mem + 1e-8)  # min-char-rnn's update
    np.testing.assert_allclose(p["w"], w, rtol=0, atol=TOL)
    np.testing.assert_allclose(opt.state["mem"]["w"], mem, rtol=0, atol=TOL)
    # a zero gradient leaves its entry unchanged (no division by zero)
    assert p["w"][2] == w0[2]


def test_adagrad_first_step_is_lr_times_sign():
    p = {"x": np.array([0.0, 0.0])}
    Adagrad(p, lr=0.3).update(p, {"x": np.array([5.0, -2.0])})
    np.testing.assert_allclose(p["x"], [-0.3, 0.3], rtol=1e-8)


def _adam_by_hand(grads, lr, b1=0.9, b2=0.999, eps=1e-8):
    """The textbook Adam update (Kingma & Ba, Algorithm 1)."""
    m = np.zeros_like(grads[0])
    v = np.zeros_like(grads[0])
    delta = np.zeros_like(grads[0])
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1**t)
        v_hat = v / (1 - b2**t)
        delta = delta - lr * m_hat / (np.sqrt(v_hat) + eps)
    return delta, m, v


@pytest.mark.parametrize("scale", [1.0, 1e-3, 1e-7])
def test_adam_by_hand(scale):
    """Including tiny gradients, where eps sits in the formula matters."""
    p = _params()
    w0 = p["w"].copy()
    opt = Adam(p, lr=0.01)
    gs = [_grads(i)["w"] * scale for i in range(3)]
    for i in range(3):
        opt.update(p, {k: g * scale for k, g in _grads(i).items()})
    delta, m, v = _adam_by_hand(gs, 0.01)
    np.testing.assert_allclose(p["w"] - w0, delta, rtol=1e-12, atol=1e-17)
    np.testing.assert_allclose(opt.state["m"]["w"], m, rtol=1e-13)
    np.testing.assert_allclose(opt.state["v"]["w"], v, rtol=1e-13)
    assert opt.t == 3


def test_adam_first_step_is_about_lr():
    p = {"x": np.array([1.0, 1.0])}
    Adam(p, lr=0.001).update(p, {"x": np.array([4.0, -0.02])})
    np.testing.assert_allclose(p["x"], [1 - 0.001, 1 + 0.001], rtol=1e-8)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_state_round_trip_continues_identically(name):
    a, b = _params(), _params()
    opt_a = make_optimizer(name, a, 0.05, 0.8)
    for i in range(2):
        opt_a.update(a, _grads(i))
    snapshot = {k: v.copy() for k, v in opt_a.state_arrays().items()}
    b = {k: v.copy() for k, v in a.items()}
    opt_b = make_optimizer(name, b, 0.05, 0.8)
    opt_b.load_state_arrays(snapshot, opt_a.t)
    opt_a.update(a, _grads(2))
    opt_b.update(b, _grads(2))
    for k in a:
        assert np.array_equal(a[k], b[k])


def test_load_state_rejects_missing_or_misshaped():
    p = _params()
    opt = Adam(p, lr=0.1)
    arrays = opt.state_arrays()
    with pytest.raises(RNNError):
        opt.load_state_arrays({k: v for k, v in arrays.items() if k != "m.w"}, 1)
    bad = dict(arrays)
    bad["v.b"] = np.zeros(3)
    with pytest.raises(RNNError):
        opt.load_state_arrays(bad, 1)


@pytest.mark.parametrize("name", OPTIMIZERS)
@pytest.mark.parametrize("lr", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_learning_rate(name, lr):
    with pytest.raises(RNNError):
        make_optimizer(name, _params(), lr)


@pytest.mark.parametrize("momentum", [-0.1, 1.0, 2.0, float("nan")])
def test_bad_momentum(momentum):
    with pytest.raises(RNNError):
        make_optimizer("sgd", _params(), 0.1, momentum)


def test_unknown_optimizer():
    with pytest.raises(RNNError, match="rmsprop"):
        make_optimizer("rmsprop", _params(), 0.1)


# -- clipping ----------------------------------------------------------------------------------


def test_global_norm():
    g = {"a": np.array([3.0, 0.0]), "b": np.array([[4.0]]), "c": np.zeros(5)}
    assert global_norm(g) == pytest.approx(5.0, rel=1e-15)


@pytest.mark.parametrize("clip", [0.5, 1.0, 5.0])
def test_clip_elementwise(clip):
    rng = np.random.default_rng(0)
    g = {"a": rng.normal(0, 3, (4, 5)), "b": rng.normal(0, 3, 7)}
    orig = {k: v.copy() for k, v in g.items()}
    ids = {k: id(v) for k, v in g.items()}
    clip_elementwise(g, clip)
    for k in g:
        assert id(g[k]) == ids[k]  # in place
        np.testing.assert_array_equal(g[k], np.minimum(np.maximum(orig[k], -clip), clip))
        assert np.abs(g[k]).max() <= clip
        inside = np.abs(orig[k]) <= clip
        np.testing.assert_array_equal(g[k][inside], orig[k][inside])


@pytest.mark.parametrize("max_norm", [0.1, 1.0, 100.0])
def test_clip_global_norm(max_norm):
    rng = np.random.default_rng(1)
    g = {"a": rng.normal(0, 1, (3, 3)), "b": rng.normal(0, 1, 4)}
    orig = {k: v.copy() for k, v in g.items()}
    norm = global_norm(g)
    clip_global_norm(g, max_norm, norm)
    if norm > max_norm:
        assert global_norm(g) == pytest.approx(max_norm, rel=1e-12)
        for k in g:  # same direction
            np.testing.assert_allclose(g[k], orig[k] * (max_norm / norm), rtol=1e-15)
    else:
        for k in g:
            np.testing.assert_array_equal(g[k], orig[k])
