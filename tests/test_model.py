"""The Elman RNN: forward trace, loss and exact gradients vs a reference and finite differences.

Gradient checks use central differences in float64 and the relative error

    rel_err(num, ana) = max |num - ana| / max(|num| + |ana|)

which must stay below 1e-6.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest

from rnn import RNN, Backward, RNNError, Trace, softmax
from rnn.activation import ACTIVATIONS
from tests.reference import G, ref_bptt, ref_forward, ref_loss, stack

PARAMS = ("W_i", "W_h", "b_h", "W_o", "b_o")
FD_EPS = 1e-5  # central-difference step
FD_TOL = 1e-6  # relative error bound for gradients
REF_TOL = 1e-12  # model vs reference, float64


def rel_err(num: np.ndarray, ana: np.ndarray) -> float:
    """max|num - ana| / max(|num| + |ana|): scale-free, 0 when both are exactly equal."""
    num, ana = np.asarray(num, np.float64), np.asarray(ana, np.float64)
    denom = np.max(np.abs(num) + np.abs(ana))
    return 0.0 if denom == 0 else float(np.max(np.abs(num - ana)) / denom)


def make_case(V: int, H: int, T: int, B: int | None, seed: int, std: float = 0.5,
              g: str = "tanh"):
    """A model with large-ish random weights and biases, random ids/targets and a nonzero h0."""
    rng = np.random.default_rng(seed)
    model = RNN.create(V, H, seed=seed, init_std=std, activation=g)
    model.b_h[:] = rng.normal(0, 0.3, H)
    model.b_o[:] = rng.normal(0, 0.3, V)
    shape = (T,) if B is None else (B, T)
    ids = rng.integers(0, V, shape)
    targets = rng.integers(0, V, shape)
    h0 = rng.uniform(-0.9, 0.9, (H,) if B is None else (B, H))
    return model, ids, targets, h0


def numeric_grad(f, x: np.ndarray, eps: float = FD_EPS) -> np.ndarray:
    """Central differences of the scalar f() in every entry of x (x is perturbed in place)."""
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps
        fp = f()
        x[idx] = old - eps
        fm = f()
        x[idx] = old
        g[idx] = (fp - fm) / (2 * eps)
    return g


def ref_args(model: RNN):
    return model.W_i, model.W_h, model.b_h, model.W_o, model.b_o


# -- construction ------------------------------------------------------------------------------


@pytest.mark.parametrize("V,H", [(2, 1), (5, 3), (30, 17)])
def test_create_shapes_and_determinism(V, H):
    m = RNN.create(V, H, seed=3, init_std=0.1)
    want = {"W_i": (H, V), "W_h": (H, H), "b_h": (H,), "W_o": (V, H), "b_o": (V,)}
    assert {k: v.shape for k, v in m.params().items()} == want
    assert m.vocab_size == V and m.hidden_size == H and m.dtype == np.float64
    assert not m.b_h.any() and not m.b_o.any()
    again = RNN.create(V, H, seed=3, init_std=0.1)
    other = RNN.create(V, H, seed=4, init_std=0.1)
    for k in PARAMS:
        assert np.array_equal(m.params()[k], again.params()[k])
    assert not np.array_equal(m.W_h, other.W_h)


def test_create_init_std_scales_weights():
    m = RNN.create(50, 60, seed=0, init_std=0.2)
    assert m.W_h.std() == pytest.approx(0.2, rel=0.05)
    assert m.W_i.std() == pytest.approx(0.2, rel=0.05)
    z = RNN.create(5, 4, init_std=0.0)
    assert not any(v.any() for v in z.params().values())


def test_create_float32():
    m = RNN.create(6, 4, dtype=np.float32)
    assert all(v.dtype == np.float32 for v in m.params().values())


@pytest.mark.parametrize("V,H,std", [(1, 3, 0.1), (0, 3, 0.1), (5, 0, 0.1), (5, 3, -1.0),
                                     (5, 3, float("nan")), (5, 3, float("inf"))])
def test_create_rejects_bad_sizes(V, H, std):
    with pytest.raises(RNNError):
        RNN.create(V, H, init_std=std)


def _arrays(H=3, V=4):
    return {"W_i": np.zeros((H, V)), "W_h": np.zeros((H, H)), "b_h": np.zeros(H),
            "W_o": np.zeros((V, H)), "b_o": np.zeros(V)}


@pytest.mark.parametrize("name,bad", [
    ("W_h", np.zeros((3, 4))), ("W_h", np.zeros((4, 4))), ("b_h", np.zeros(4)),
    ("b_h", np.zeros((3, 1))), ("W_o", np.zeros((3, 4))), ("b_o", np.zeros(3)),
    ("W_i", np.zeros(12)), ("W_i", np.zeros((3, 4, 1))), ("W_h", [[0.0] * 3] * 3),
    ("W_i", None),
])
def test_bad_shapes_raise(name, bad):
    arrays = _arrays()
    arrays[name] = bad
    with pytest.raises(RNNError):
        RNN(**arrays)


def test_copy_is_deep_and_casts():
    m = RNN.create(5, 3, init_std=0.3)
    c = m.copy()
    c.W_h += 1.0
    assert not np.array_equal(c.W_h, m.W_h)
    c32 = m.copy(np.float32)
    assert c32.dtype == np.float32
    np.testing.assert_allclose(c32.W_h, m.W_h, rtol=1e-6)


def test_spectral_radius():
    m = RNN.create(3, 2)
    m.W_h[:] = [[0.0, 2.0], [0.5, 0.0]]  # eigenvalues +-1
    assert m.spectral_radius() == pytest.approx(1.0, abs=1e-12)


# -- forward -----------------------------------------------------------------------------------


@pytest.mark.parametrize("V,H,T", [(2, 1, 1), (4, 3, 6), (11, 7, 13)])
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("g", ACTIVATIONS)
def test_forward_equations_and_reference(V, H, T, seed, g):
    model, ids, _, h0 = make_case(V, H, T, None, seed, g=g)
    tr = model.forward(ids, h0)
    assert isinstance(tr, Trace)
    for name in ("Wi_x", "Wh_h", "a", "h"):
        assert getattr(tr, name).shape == (T, H), name
        assert getattr(tr, name).dtype == np.float64
    assert tr.logits.shape == tr.probs.shape == (T, V)
    assert np.array_equal(tr.ids, ids) and np.array_equal(tr.h0, h0)
    # the equations hold exactly as recorded
    np.testing.assert_allclose(tr.a, tr.Wi_x + tr.Wh_h + model.b_h, rtol=0, atol=1e-14)
    np.testing.assert_allclose(tr.h, G[g][0](tr.a), rtol=0, atol=1e-15)
    np.testing.assert_allclose(tr.probs.sum(axis=-1), 1.0, rtol=0, atol=1e-13)
    assert (tr.probs > 0).all()
    np.testing.assert_allclose(tr.Wi_x, model.W_i[:, ids].T, rtol=0, atol=0)
    np.testing.assert_allclose(tr.h_prev, np.vstack([h0, tr.h[:-1]]), rtol=0, atol=0)
    np.testing.assert_array_equal(tr.h_last, tr.h[-1])
    # against the independent per-step reference
    ref = ref_forward(*ref_args(model), ids, h0, g)
    for mine, theirs in [("Wi_x", "Wi_x"), ("Wh_h", "Wh_h"), ("a", "a"), ("h", "h"),
                         ("logits", "y"), ("probs", "p")]:
        np.testing.assert_allclose(getattr(tr, mine), stack(ref[theirs], T), rtol=0,
                                   atol=REF_TOL, err_msg=mine)


def test_forward_default_h0_is_zero():
    model, ids, _, _ = make_case(5, 4, 7, None, 2)
    a = model.forward(ids)
    b = model.forward(ids, np.zeros(4))
    assert np.array_equal(a.h0, np.zeros(4))
    assert np.array_equal(a.h, b.h) and np.array_equal(a.probs, b.probs)
    np.testing.assert_array_equal(a.Wh_h[0], 0.0)


def test_forward_h0_matters():
    model, ids, _, h0 = make_case(5, 4, 3, None, 2)
    assert not np.allclose(model.forward(ids, h0).h, model.forward(ids).h)


@pytest.mark.parametrize("B,T", [(1, 1), (3, 5), (4, 9)])
def test_batch_equals_rows_alone(B, T):
    model, ids, _, h0 = make_case(6, 5, T, B, seed=B + T)
    tr = model.forward(ids, h0)
    for name in ("Wi_x", "Wh_h", "a", "h"):
        assert getattr(tr, name).shape == (B, T, 5)
    assert tr.probs.shape == tr.logits.shape == (B, T, 6)
    assert tr.h0.shape == (B, 5) and tr.ids.shape == (B, T)
    assert tr.h_last.shape == (B, 5)
    for b in range(B):
        row = model.forward(ids[b], h0[b])
        for name in ("Wi_x", "Wh_h", "a", "h", "logits", "probs"):
            np.testing.assert_allclose(getattr(tr, name)[b], getattr(row, name), rtol=0,
                                       atol=1e-13, err_msg=name)
        ref = ref_forward(*ref_args(model), ids[b], h0[b])
        np.testing.assert_allclose(tr.h[b], stack(ref["h"], T), rtol=0, atol=REF_TOL)


def test_forward_in_two_parts_equals_whole():
    model, ids, _, h0 = make_case(5, 4, 10, None, 3)
    whole = model.forward(ids, h0)
    first = model.forward(ids[:4], h0)
    second = model.forward(ids[4:], first.h_last)
    np.testing.assert_allclose(np.vstack([first.h, second.h]), whole.h, rtol=0, atol=1e-15)


@pytest.mark.parametrize("g", ACTIVATIONS)
def test_step_matches_forward(g):
    model, ids, _, h0 = make_case(5, 4, 6, None, 4, g=g)
    tr = model.forward(ids, h0)
    h = h0
    for t, i in enumerate(ids):
        h, p = model.step(int(i), h)
        np.testing.assert_allclose(h, tr.h[t], rtol=0, atol=1e-14)
        np.testing.assert_allclose(p, tr.probs[t], rtol=0, atol=1e-14)


def test_softmax_is_stable():
    y = np.array([[1000.0, 1000.0, -1000.0], [0.0, np.log(3.0), -np.inf]])
    p = softmax(y)
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p, [[0.5, 0.5, 0.0], [0.25, 0.75, 0.0]], atol=1e-15)


def test_saturated_forward_stays_finite():
    model = RNN.create(4, 3, init_std=1e3)
    tr = model.forward(np.array([0, 1, 2, 3, 0]))
    assert np.isfinite(tr.probs).all()
    np.testing.assert_allclose(tr.probs.sum(-1), 1.0, atol=1e-12)


@pytest.mark.parametrize("ids,h0", [
    (np.array([], dtype=np.int64), None),
    (np.zeros((2, 0), np.int64), None),
    (np.zeros((0, 3), np.int64), None),
    (np.zeros((1, 2, 3), np.int64), None),
    (np.array([0, 5]), None),
    (np.array([-1, 0]), None),
    (np.array([0.0, 1.0]), None),
    (np.array([True, False]), None),
    (np.array([0, 1]), np.zeros(3)),
    (np.array([0, 1]), np.zeros((1, 4))),
    (np.array([[0, 1], [1, 0]]), np.zeros(4)),
    (np.array([[0, 1], [1, 0]]), np.zeros((3, 4))),
])
def test_forward_rejects_bad_input(ids, h0):
    model = RNN.create(5, 4)
    with pytest.raises(RNNError):
        model.forward(ids, h0)


@pytest.mark.parametrize("targets", [np.array([0, 1]), np.array([0, 1, 5]), np.array([0, -1, 2]),
                                     np.array([0.0, 1.0, 2.0]), np.array([[0, 1, 2]] * 2)])
def test_loss_rejects_bad_targets(targets):
    model = RNN.create(5, 4)
    ids = np.array([0, 1, 2])
    with pytest.raises(RNNError):
        model.loss(ids, targets)
    with pytest.raises(RNNError):
        model.loss_and_grads(ids, targets)
    with pytest.raises(RNNError):
        model.backward_full(ids, targets)


# -- loss --------------------------------------------------------------------------------------


@pytest.mark.parametrize("B", [None, 3])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_loss_is_mean_cross_entropy(B, seed):
    model, ids, targets, h0 = make_case(7, 5, 8, B, seed)
    tr = model.forward(ids, h0)
    p_target = np.take_along_axis(tr.probs, targets[..., None], axis=-1)
    want = float(-np.mean(np.log(p_target)))
    assert model.loss(ids, targets, h0) == pytest.approx(want, rel=1e-13)
    loss, _, _ = model.loss_and_grads(ids, targets, h0)
    assert loss == pytest.approx(want, rel=1e-13)
    assert model.backward_full(ids, targets, h0).loss == pytest.approx(want, rel=1e-13)
    if B is None:
        assert want == pytest.approx(ref_loss(*ref_args(model), ids, targets, h0), rel=1e-13)


def test_untrained_loss_is_log_v():
    """With all weights zero every p_t is uniform: the loss is log V nats exactly."""
    V = 9
    model = RNN.create(V, 4, init_std=0.0)
    ids = np.arange(V)
    assert model.loss(ids, np.roll(ids, 1)) == pytest.approx(np.log(V), rel=1e-15)


def test_loss_of_huge_logits_is_finite():
    model = RNN.create(3, 2, init_std=0.0)
    model.b_o[:] = [800.0, 0.0, -800.0]
    loss = model.loss(np.array([0, 1]), np.array([2, 0]))
    assert loss == pytest.approx((1600.0 + 0.0) / 2, rel=1e-12)


# -- gradients ---------------------------------------------------------------------------------


GRAD_CASES = [(3, 2, 1, None), (4, 3, 5, None), (5, 4, 7, None), (4, 3, 4, 2), (3, 2, 3, 3)]


def assert_off_kinks(model: RNN, ids, h0) -> None:
    """ReLU has a kink at a = 0: a central difference across it is no derivative, so a case is
    valid only if every pre-activation stays farther from 0 than the step (the seeds do)."""
    if model.activation == "relu":
        a = model.forward(ids, h0).a
        assert np.abs(a).min() > 10 * FD_EPS, "a pre-activation sits on ReLU's kink"


@pytest.mark.parametrize("V,H,T,B", GRAD_CASES)
@pytest.mark.parametrize("seed", [0, 7])
@pytest.mark.parametrize("g", ACTIVATIONS)
def test_gradients_match_finite_differences(V, H, T, B, seed, g):
    """Every parameter's gradient for every g, (T,) and (B, T) inputs, float64, rel. err < 1e-6."""
    model, ids, targets, h0 = make_case(V, H, T, B, seed, g=g)
    assert_off_kinks(model, ids, h0)
    loss, grads, h_last = model.loss_and_grads(ids, targets, h0)
    assert set(grads) == set(PARAMS)
    params = model.params()
    for name in PARAMS:
        assert grads[name].shape == params[name].shape
        assert grads[name].dtype == np.float64
        num = numeric_grad(lambda: model.loss(ids, targets, h0), params[name])
        assert np.abs(num).max() > 1e-6, f"degenerate check for {name}"
        err = rel_err(num, grads[name])
        assert err < FD_TOL, f"d{name}: relative error {err:.2e}"
    # the gradient check left the parameters untouched, and h_last is the final state
    assert model.loss(ids, targets, h0) == loss
    np.testing.assert_array_equal(h_last, model.forward(ids, h0).h_last)


@pytest.mark.parametrize("V,H,T", [(4, 3, 6), (8, 6, 10), (3, 5, 1)])
@pytest.mark.parametrize("seed", [0, 3])
@pytest.mark.parametrize("g", ACTIVATIONS)
def test_gradients_match_reference_bptt(V, H, T, seed, g):
    model, ids, targets, h0 = make_case(V, H, T, None, seed, g=g)
    bw = model.backward_full(ids, targets, h0)
    ref_grads, ref_dh, ref_da, ref_dh0 = ref_bptt(*ref_args(model), ids, targets, h0, g=g)
    for name in PARAMS:
        np.testing.assert_allclose(bw.grads[name], ref_grads[name], rtol=0, atol=REF_TOL,
                                   err_msg=name)
    np.testing.assert_allclose(bw.dh, ref_dh, rtol=0, atol=REF_TOL)
    np.testing.assert_allclose(bw.da, ref_da, rtol=0, atol=REF_TOL)
    np.testing.assert_allclose(bw.dh0, ref_dh0, rtol=0, atol=REF_TOL)


@pytest.mark.parametrize("B,T", [(2, 4), (3, 1)])
@pytest.mark.parametrize("g", ACTIVATIONS)
def test_batch_gradients_are_row_sums_of_reference(B, T, g):
    """The batch loss is the mean over B*T tokens: its gradient is the sum of row BPTTs / (B T)."""
    model, ids, targets, h0 = make_case(5, 4, T, B, seed=11, g=g)
    _, grads, h_last = model.loss_and_grads(ids, targets, h0)
    want = {k: np.zeros_like(v) for k, v in model.params().items()}
    for b in range(B):
        grads_b, *_ = ref_bptt(*ref_args(model), ids[b], targets[b], h0[b], n_total=B * T, g=g)
        for k in want:
            want[k] += grads_b[k]
    for k in PARAMS:
        np.testing.assert_allclose(grads[k], want[k], rtol=0, atol=REF_TOL, err_msg=k)
    assert h_last.shape == (B, 4)


@pytest.mark.parametrize("g", ACTIVATIONS)
def test_backward_full_agrees_with_loss_and_grads(g):
    model, ids, targets, h0 = make_case(6, 4, 5, 2, seed=5, g=g)
    bw = model.backward_full(ids, targets, h0)
    loss, grads, _ = model.loss_and_grads(ids, targets, h0)
    assert isinstance(bw, Backward)
    assert bw.loss == loss
    for k in PARAMS:
        np.testing.assert_array_equal(bw.grads[k], grads[k])
    assert bw.dh.shape == bw.da.shape == (2, 5, 4) and bw.dh0.shape == (2, 4)
    tr = model.forward(ids, h0)
    np.testing.assert_allclose(bw.da, G[g][1](tr.a) * bw.dh, rtol=0, atol=1e-16)


def _loss_with_state_at(model: RNN, ids, targets, t: int, h_t: np.ndarray, n_total: int) -> float:
    """The part of the summed loss that depends on h_t (steps t..T-1), divided by n_total.

    Step t's own term uses h_t through y_t; the rest continues the recurrence from h_t via h0.
    """
    T = len(ids)
    p_t = softmax(np.dot(model.W_o, h_t) + model.b_o)
    total = -np.log(p_t[targets[t]])
    if t + 1 < T:
        total += (T - t - 1) * model.loss(ids[t + 1 :], targets[t + 1 :], h0=h_t)
    return float(total) / n_total


def _loss_with_g_of(model: RNN, ids, targets, t: int, a_t: np.ndarray, n_total: int) -> float:
    return _loss_with_state_at(model, ids, targets, t, G[model.activation][0](a_t), n_total)


@pytest.mark.parametrize("V,H,T,B", [(4, 3, 6, None), (5, 4, 4, 2), (3, 2, 1, None)])
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("g", ACTIVATIONS)
def test_dh_per_step_matches_finite_differences(V, H, T, B, seed, g):
    """dL/dh_t by perturbing the state after step t and continuing the forward pass from it."""
    model, ids, targets, h0 = make_case(V, H, T, B, seed, g=g)
    assert_off_kinks(model, ids, h0)
    bw = model.backward_full(ids, targets, h0)
    tr = model.forward(ids, h0)
    rows = [None] if B is None else range(B)
    N = T * (1 if B is None else B)
    for b in rows:
        r_ids = ids if b is None else ids[b]
        r_tg = targets if b is None else targets[b]
        r_h = tr.h if b is None else tr.h[b]
        r_a = tr.a if b is None else tr.a[b]
        r_dh = bw.dh if b is None else bw.dh[b]
        r_da = bw.da if b is None else bw.da[b]
        for t in range(T):
            h_t = r_h[t].copy()
            f = partial(_loss_with_state_at, model, r_ids, r_tg, t, h_t, N)
            err = rel_err(numeric_grad(f, h_t), r_dh[t])
            assert err < FD_TOL, f"dh[{b},{t}]: relative error {err:.2e}"
            # dL/da_t: perturb a_t, i.e. the state h_t = g(a_t)
            a_t = r_a[t].copy()
            f_a = partial(_loss_with_g_of, model, r_ids, r_tg, t, a_t, N)
            assert rel_err(numeric_grad(f_a, a_t), r_da[t]) < FD_TOL


@pytest.mark.parametrize("V,H,T,B", [(4, 3, 6, None), (5, 4, 3, 3)])
@pytest.mark.parametrize("g", ACTIVATIONS)
def test_dh0_matches_finite_differences(V, H, T, B, g):
    model, ids, targets, h0 = make_case(V, H, T, B, seed=9, g=g)
    assert_off_kinks(model, ids, h0)
    bw = model.backward_full(ids, targets, h0)
    h0 = h0.copy()
    num = numeric_grad(lambda: model.loss(ids, targets, h0), h0)
    assert np.abs(num).max() > 1e-6
    assert rel_err(num, bw.dh0) < FD_TOL


def test_zero_h0_gives_zero_dW_h_from_first_step():
    """With h0 = 0 and T = 1, W_h never touches the loss: dW_h must be exactly zero."""
    model, ids, targets, _ = make_case(4, 3, 1, None, 0)
    _, grads, _ = model.loss_and_grads(ids, targets)
    assert not grads["W_h"].any()


# -- float32 -----------------------------------------------------------------------------------


@pytest.mark.parametrize("B", [None, 2])
@pytest.mark.parametrize("g", ACTIVATIONS)
def test_float32_close_to_float64(B, g):
    m64, ids, targets, h0 = make_case(6, 5, 7, B, seed=2, g=g)
    m32 = m64.copy(np.float32)
    tr32, tr64 = m32.forward(ids, h0), m64.forward(ids, h0)
    for name in ("Wi_x", "Wh_h", "a", "h", "logits", "probs"):
        arr = getattr(tr32, name)
        assert arr.dtype == np.float32, name
        np.testing.assert_allclose(arr, getattr(tr64, name), rtol=1e-4, atol=1e-5, err_msg=name)
    l32, g32, h32 = m32.loss_and_grads(ids, targets, h0)
    l64, g64, h64 = m64.loss_and_grads(ids, targets, h0)
    assert l32 == pytest.approx(l64, rel=1e-5)
    assert h32.dtype == np.float32
    for k in PARAMS:
        assert g32[k].dtype == np.float32, k
        assert rel_err(g32[k], g64[k]) < 1e-4, k
    bw = m32.backward_full(ids, targets, h0)
    assert bw.dh.dtype == bw.da.dtype == bw.dh0.dtype == np.float32


def test_step_loss_is_minus_log_p_of_each_target():
    rng = np.random.default_rng(4)
    model = RNN.create(7, 5, seed=1, init_std=0.8)
    ids = rng.integers(0, 7, 9)
    trace = model.forward(ids)
    losses = trace.step_loss(ids[1:])  # the text's next tokens: one step short of the end
    assert losses.shape == (8,)
    want = [-np.log(trace.probs[t, ids[t + 1]]) for t in range(8)]
    np.testing.assert_allclose(losses, want, rtol=1e-12)
    assert float(np.mean(losses)) == pytest.approx(model.loss(ids[:-1], ids[1:]), rel=1e-10)
    batch = model.forward(np.stack([ids, ids[::-1]]))
    np.testing.assert_allclose(batch.step_loss(np.stack([ids, ids[::-1]]))[0],
                               -np.log(batch.probs[0, np.arange(9), ids]), rtol=1e-12)


def test_neg_log_of_zero_probability_is_finite():
    from rnn.trace import P_FLOOR, neg_log

    assert neg_log(0.0) == pytest.approx(-np.log(P_FLOOR)) and np.isfinite(neg_log(0.0))
    assert neg_log(np.array([1.0, 0.5]))[1] == pytest.approx(np.log(2))


# -- the activation g ---------------------------------------------------------------------------


def test_default_activation_is_tanh_and_copies_keep_it():
    assert RNN.create(4, 3).activation == "tanh"
    m = RNN.create(4, 3, activation="relu")
    assert m.copy().activation == m.copy(np.float32).activation == "relu"
    assert m.g.name == "relu" and (m.g.low, m.g.high) == (0.0, None)
    assert set(m.params()) == set(PARAMS)  # the activation is no parameter


@pytest.mark.parametrize("bad", ["Tanh", "softplus", "", None, 3])
def test_unknown_activation_is_refused(bad):
    with pytest.raises(RNNError, match="tanh, relu, sigmoid, identity"):
        RNN.create(4, 3, activation=bad)
    with pytest.raises(RNNError, match="Unknown activation"):
        RNN(**_arrays(), activation=bad)


@pytest.mark.parametrize("g", ACTIVATIONS)
def test_range_of_h_follows_g(g):
    """h stays inside g's declared range, and the slope written in h equals g'(a)."""
    model = RNN.create(7, 6, seed=1, init_std=2.0, activation=g)
    tr = model.forward(np.arange(7))
    act = model.g
    if act.low is not None:
        assert tr.h.min() >= act.low
    if act.high is not None:
        assert tr.h.max() <= act.high
    np.testing.assert_allclose(act.slope(tr.h), G[g][1](tr.a), rtol=0, atol=1e-15)


def test_relu_slope_at_zero_is_zero_as_in_pytorch():
    act = RNN.create(3, 2, activation="relu").g
    np.testing.assert_array_equal(act.slope(act.fn(np.array([-1.0, 0.0, 1e-300]))), [0, 0, 1])


def test_sigmoid_of_huge_inputs_is_finite_without_warnings():
    act = RNN.create(3, 2, activation="sigmoid").g
    with np.errstate(all="raise"):
        h = act.fn(np.array([-1e4, 0.0, 1e4]))
    np.testing.assert_array_equal(h, [0.0, 0.5, 1.0])


def test_h_range_follows_g():
    """The colour range of h_t: -1..1 for tanh, 0..1 for sigmoid, the data's for ReLU/identity."""
    h = np.array([[-0.5, 2.0], [0.25, np.nan]])
    act = {name: RNN.create(3, 2, activation=name).g for name in ACTIVATIONS}
    assert act["tanh"].h_range(h) == (-1.0, 1.0)
    assert act["sigmoid"].h_range(h) == (0.0, 1.0)
    assert act["relu"].h_range(h) == (0.0, 2.0)
    assert act["identity"].h_range(h) == (-0.5, 2.0)
    assert act["relu"].h_range(np.zeros((2, 2))) == (0.0, 1.0)  # never empty
    assert [act[n].rest for n in ACTIVATIONS] == [0.0, 0.0, 0.5, 0.0]  # g(0)
