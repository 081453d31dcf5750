"""Optimizers and clipping against updates computed by hand, step by step.

Every update goes through ``update_flat`` on one parameter buffer and one gradient buffer, the
path ``Trainer.step`` takes.
"""

from __future__ import annotations

import numpy as np
import pytest

from rnn import OPTIMIZERS, RNNError, make_optimizer
from rnn.optim import SGD, Adagrad, Adam, clip_global_norm, flat_buffer, global_norm

TOL = 1e-14


def _flat(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Copies of the arrays as views of one buffer, laid out as the Trainer lays them out."""
    _, views = flat_buffer(arrays)
    for k, v in arrays.items():
        np.copyto(views[k], v)
    return views


def _update(opt, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
    """One optimizer step as Trainer.step makes it: ``update_flat`` on the two buffers."""
    g = _flat(grads)
    opt.update_flat(next(iter(params.values())).base, next(iter(g.values())).base)


def _params():
    return _flat({"w": np.array([1.0, -2.0, 0.5]), "b": np.array([[0.25, 0.0], [-1.0, 3.0]])})


def _grads(step: int):
    """Different gradients at each step, with mixed signs and a zero."""
    s = step + 1
    return {"w": np.array([0.5, -1.0, 0.0]) * s, "b": np.array([[2.0, -0.1], [0.3, 1e-3]]) / s}


def test_update_flat_runs_on_views_of_one_buffer():
    """The helper really drives the buffers: a step moves the parameters' own arrays."""
    p = _params()
    w = p["w"]
    _update(SGD(p, lr=1.0, momentum=0.0), p, _grads(0))
    assert p["w"] is w and np.array_equal(w, [0.5, -1.0, 0.5])


def test_sgd_momentum_two_steps_by_hand():
    p = _flat({"x": np.array([1.0, 1.0])})
    opt = SGD(p, lr=0.1, momentum=0.9)
    for _ in range(2):
        _update(opt, p, {"x": np.array([1.0, -2.0])})
    # v1 = -0.1 g = (-0.1, 0.2); v2 = 0.9 v1 - 0.1 g = (-0.19, 0.38); x = 1 + v1 + v2
    np.testing.assert_allclose(p["x"], [0.71, 1.58], rtol=0, atol=TOL)


def test_sgd_momentum_by_hand():
    p = _params()
    opt = SGD(p, lr=0.1, momentum=0.9)
    w0 = p["w"].copy()
    g0, g1, g2 = (_grads(i)["w"] for i in range(3))
    for i in range(3):
        _update(opt, p, _grads(i))
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
    _update(opt, p, _grads(0))
    _update(opt, p, _grads(1))
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
        _update(opt, p, _grads(i))
        mem = mem + g**2
        w = w - 0.1 * g / np.sqrt(mem + 1e-8)  # min-char-rnn's update
    np.testing.assert_allclose(p["w"], w, rtol=0, atol=TOL)
    np.testing.assert_allclose(opt.state["mem"]["w"], mem, rtol=0, atol=TOL)
    # a zero gradient leaves its entry unchanged (no division by zero)
    assert p["w"][2] == w0[2]


def test_adagrad_first_step_is_lr_times_sign():
    p = _flat({"x": np.array([0.0, 0.0])})
    _update(Adagrad(p, lr=0.3), p, {"x": np.array([5.0, -2.0])})
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
        _update(opt, p, {k: g * scale for k, g in _grads(i).items()})
    delta, m, v = _adam_by_hand(gs, 0.01)
    np.testing.assert_allclose(p["w"] - w0, delta, rtol=1e-12, atol=1e-17)
    np.testing.assert_allclose(opt.state["m"]["w"], m, rtol=1e-13)
    np.testing.assert_allclose(opt.state["v"]["w"], v, rtol=1e-13)
    assert opt.t == 3


def test_adam_first_step_is_about_lr():
    p = _flat({"x": np.array([1.0, 1.0])})
    _update(Adam(p, lr=0.001), p, {"x": np.array([4.0, -0.02])})
    np.testing.assert_allclose(p["x"], [1 - 0.001, 1 + 0.001], rtol=1e-8)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_state_round_trip_continues_identically(name):
    a, b = _params(), _params()
    opt_a = make_optimizer(name, a, 0.05, 0.8)
    for i in range(2):
        _update(opt_a, a, _grads(i))
    snapshot = {k: v.copy() for k, v in opt_a.state_arrays().items()}
    b = _flat(a)
    opt_b = make_optimizer(name, b, 0.05, 0.8)
    opt_b.load_state_arrays(snapshot, opt_a.t)
    _update(opt_a, a, _grads(2))
    _update(opt_b, b, _grads(2))
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
