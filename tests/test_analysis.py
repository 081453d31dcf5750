"""rnn.analysis against finite differences, backward_full, explicit Jacobian products."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from rnn import RNN, RNNError, Vocab, load_corpus, softmax
from rnn.activation import ACTIVATIONS
from rnn.analysis import (
    FEATURES,
    SATURATION,
    correlations,
    fit_pca,
    jacobian_chain,
    neuron_report,
    prepare_text,
    reference_text,
    saturated,
    scaled_model,
    sensitivity_matrix,
    step_gradients,
    text_features,
    top_contexts,
    untrained_model,
)
from tests.reference import G

EPS = 1e-6
FD_RTOL, FD_ATOL = 1e-6, 1e-9  # central differences in float64


def _setup(V=7, H=5, T=9, seed=0, init_std=0.6, g="tanh"):
    model = RNN.create(V, H, seed=seed, init_std=init_std, activation=g)
    rng = np.random.default_rng(seed + 100)
    model.b_h[:] = rng.standard_normal(H) * 0.1
    model.b_o[:] = rng.standard_normal(V) * 0.1
    ids = rng.integers(0, V, T)
    targets = rng.integers(0, V, T)
    return model, ids, targets


def _loss_from_state(model, ids, targets, t, k, h_k):
    """L_t as a function of h_k: run steps k+1..t from h_k."""
    if k == t:
        p = softmax(np.dot(model.W_o, h_k) + model.b_o)
    else:
        p = model.forward(ids[k + 1: t + 1], h0=h_k).probs[-1]
    return -np.log(p[targets[t]])


@pytest.mark.parametrize("seed,H,T", [(0, 5, 9), (1, 8, 6), (2, 3, 12)])
@pytest.mark.parametrize("act", ACTIVATIONS)
def test_step_gradients_match_finite_differences(seed, H, T, act):
    model, ids, targets = _setup(H=H, T=T, seed=seed, g=act)
    trace = model.forward(ids)
    for t in (0, T // 2, T - 1):
        g = step_gradients(model, trace, targets, t)
        assert g.dh.shape == (t + 1, H) and g.dx.shape == (t + 1, model.vocab_size)
        assert g.loss == pytest.approx(-np.log(trace.probs[t, targets[t]]), rel=1e-12)
        for k in range(t + 1):
            h_k = trace.h[k]
            num = np.empty(H)
            for i in range(H):
                e = np.zeros(H)
                e[i] = EPS
                num[i] = (_loss_from_state(model, ids, targets, t, k, h_k + e)
                          - _loss_from_state(model, ids, targets, t, k, h_k - e)) / (2 * EPS)
            assert_allclose(g.dh[k], num, rtol=FD_RTOL, atol=FD_ATOL)
        # dL_t/dx_k: move the one-hot input x_k along token j, i.e. a_k by eps * W_i[:, j].
        j = int(ids[0])
        g_of = G[act][0]
        lx = [_loss_from_state(model, ids, targets, t, 0, g_of(trace.a[0] + d * model.W_i[:, j]))
              for d in (EPS, -EPS)]
        num_x = (lx[0] - lx[1]) / (2 * EPS)
        assert g.dx[0, j] == pytest.approx(num_x, rel=FD_RTOL, abs=FD_ATOL)
        # dL_t/dh_{-1}, the initial state.
        num0 = np.empty(H)
        for i in range(H):
            e = np.zeros(H)
            e[i] = EPS
            lp = -np.log(model.forward(ids[: t + 1], h0=e).probs[-1, targets[t]])
            lm = -np.log(model.forward(ids[: t + 1], h0=-e).probs[-1, targets[t]])
            num0[i] = (lp - lm) / (2 * EPS)
        assert_allclose(g.dh0, num0, rtol=FD_RTOL, atol=FD_ATOL)


@pytest.mark.parametrize("seed,H,T", [(0, 5, 9), (3, 16, 30), (4, 2, 1)])
@pytest.mark.parametrize("act", ACTIVATIONS)
def test_step_gradients_sum_to_backward_full(seed, H, T, act):
    """The mean loss is (1/T) sum_t L_t, so (1/T) sum_t dL_t/dh_k is backward_full's dh."""
    model, ids, targets = _setup(H=H, T=T, seed=seed, g=act)
    trace = model.forward(ids)
    full = model.backward_full(ids, targets)
    dh = np.zeros((T, H))
    da = np.zeros((T, H))
    dh0 = np.zeros(H)
    for t in range(T):
        g = step_gradients(model, trace, targets, t)
        dh[: t + 1] += g.dh
        da[: t + 1] += g.da
        dh0 += g.dh0
    assert_allclose(dh / T, full.dh, rtol=1e-10, atol=1e-14)
    assert_allclose(da / T, full.da, rtol=1e-10, atol=1e-14)
    assert_allclose(dh0 / T, full.dh0, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("seed,H,T", [(0, 5, 9), (5, 12, 25)])
@pytest.mark.parametrize("act", ACTIVATIONS)
def test_sensitivity_matrix_equals_step_gradients(seed, H, T, act):
    model, ids, targets = _setup(H=H, T=T, seed=seed, g=act)
    trace = model.forward(ids)
    sens = sensitivity_matrix(model, trace, targets)
    assert sens.dh_norm.shape == (T, T)
    assert np.all(np.isnan(sens.dh_norm[np.triu_indices(T, 1)]))
    for t in range(T):
        g = step_gradients(model, trace, targets, t)
        n = g.norms()
        assert_allclose(sens.dh_norm[t, : t + 1], n["dh"], rtol=1e-10)
        assert_allclose(sens.da_norm[t, : t + 1], n["da"], rtol=1e-10)
        assert sens.losses[t] == pytest.approx(g.loss, rel=1e-12)


def test_step_gradients_reject_bad_step():
    model, ids, targets = _setup()
    trace = model.forward(ids)
    with pytest.raises(RNNError, match="step t"):
        step_gradients(model, trace, targets, len(ids))
    with pytest.raises(RNNError, match="targets"):
        step_gradients(model, trace, targets[:-1], 0)
    with pytest.raises(RNNError, match="step t"):
        jacobian_chain(model, trace, -1)


@pytest.mark.parametrize("seed,H,T", [(0, 5, 9), (6, 10, 15)])
@pytest.mark.parametrize("act", ACTIVATIONS)
def test_jacobian_chain_equals_explicit_product(seed, H, T, act):
    model, ids, targets = _setup(H=H, T=T, seed=seed, g=act)
    trace = model.forward(ids)
    t = T - 1
    chain = jacobian_chain(model, trace, t)
    g = step_gradients(model, trace, targets, t)
    P = np.eye(H)  # dh_t/dh_k, built as a plain product of J_j = diag(g'(a_j)) W_h
    for k in range(t, -1, -1):
        assert chain.frobenius[k] == pytest.approx(np.linalg.norm(P, "fro"), rel=1e-10)
        assert_allclose(np.dot(P.T, g.dh[t]), g.dh[k], rtol=1e-9, atol=1e-14)
        P = np.dot(P, np.diag(G[act][1](trace.a[k])) @ model.W_h)
    assert chain.frobenius[t] == pytest.approx(np.sqrt(H))
    assert chain.spectral_radius == pytest.approx(model.spectral_radius())
    assert_allclose(chain.saturated, np.mean(G[act][1](trace.a) < 0.1, axis=1))


def test_saturated_is_defined_per_g():
    """Slope below 0.1: |h| > 0.949 for tanh, h = 0 for ReLU, h outside 0.11..0.89 for sigmoid,
    never for the identity; each g has its explanation."""
    h = np.array([-0.96, -0.9, 0.0, 0.05, 0.5, 0.9, 0.96, 5.0])
    want = {
        "tanh": [1, 0, 0, 0, 0, 0, 1, 1],  # (|h| <= 1 in a model; 5.0 only tests the rule)
        "relu": [1, 1, 1, 0, 0, 0, 0, 0],
        "sigmoid": [1, 1, 1, 1, 0, 1, 1, 1],
        "identity": [0] * 8,
    }
    for name, act in ACTIVATIONS.items():
        assert saturated(act, h).tolist() == [bool(x) for x in want[name]], name
        assert SATURATION[name]
    assert "never" in SATURATION["identity"] and "W_h" in SATURATION["identity"]
    model, ids, _ = _setup(T=30, g="identity", init_std=2.0)
    chain = jacobian_chain(model, model.forward(ids), 29)
    assert not chain.saturated.any()


def test_jacobian_chain_long_and_large_stays_finite_in_log():
    """A chain over hundreds of steps of a tiny W_h vanishes far below float range, in log form."""
    model = scaled_model(RNN.create(5, 6, seed=1, init_std=0.3), 0.05)
    trace = model.forward(np.arange(400) % 5)
    chain = jacobian_chain(model, trace, 399)
    assert chain.frobenius[0] == 0.0 or chain.frobenius[0] < 1e-300
    assert np.all(np.diff(chain.frobenius[200:]) >= 0)  # fades monotonically with distance here


def test_vanishing_and_exploding_follow_the_scale():
    """Scaling W_h down shrinks the gradient reaching far back; scaling it up grows it."""
    base = RNN.create(10, 32, seed=3, init_std=1 / np.sqrt(32))
    ids = np.arange(60) % 10
    ratios = []
    for scale in (0.3, 1.0, 3.0):
        m = scaled_model(base, scale)
        trace = m.forward(ids)
        n = step_gradients(m, trace, ids, 59).norms()["dh"]
        ratios.append(n[30] / n[59])
    assert ratios[0] < ratios[1] < ratios[2]
    assert ratios[0] < 1e-6


def test_scaled_model_is_a_copy():
    model = RNN.create(6, 4, seed=0, init_std=0.5)
    before = {k: v.copy() for k, v in model.params().items()}
    m2 = scaled_model(model, 1.5)
    for k, v in model.params().items():
        assert_allclose(v, before[k], rtol=0, atol=0)
    assert_allclose(m2.W_h, 1.5 * model.W_h)
    assert_allclose(m2.W_i, model.W_i)
    assert m2.W_h is not model.W_h
    assert m2.spectral_radius() == pytest.approx(1.5 * model.spectral_radius())
    with pytest.raises(RNNError):
        scaled_model(model, -1.0)


@pytest.mark.parametrize("N,H,K", [(200, 8, 3), (50, 20, 10), (5, 4, 10)])
def test_pca_invariants(N, H, K):
    rng = np.random.default_rng(N)
    X = rng.standard_normal((N, H)) @ rng.standard_normal((H, H)) + rng.standard_normal(H)
    pca = fit_pca(X, K)
    k = min(K, N, H)
    C = pca.components
    assert C.shape == (k, H)
    assert_allclose(C @ C.T, np.eye(k), atol=1e-10)
    r = pca.explained_variance_ratio
    assert np.all(r >= 0) and r.sum() <= 1 + 1e-12
    assert np.all(np.diff(r) <= 1e-12)
    Z = pca.project(X)
    assert_allclose(Z, (X - X.mean(0)) @ C.T, atol=1e-10)
    total = ((X - X.mean(0)) ** 2).sum()
    assert_allclose((Z ** 2).sum(0) / total, r, rtol=1e-8)
    # The first axis carries the largest variance of any unit direction.
    u = rng.standard_normal(H)
    u /= np.linalg.norm(u)
    assert (((X - X.mean(0)) @ u) ** 2).sum() <= (Z[:, 0] ** 2).sum() + 1e-9


def test_pca_matches_svd_of_the_centred_data():
    """Reference: the right singular vectors and squared singular values of X - mean."""
    rng = np.random.default_rng(7)
    X = rng.standard_normal((300, 12)) @ np.diag(np.linspace(3, 0.2, 12)) @ \
        np.linalg.qr(rng.standard_normal((12, 12)))[0]
    pca = fit_pca(X, 5)
    _, S, Vt = np.linalg.svd(X - X.mean(0), full_matrices=False)
    assert_allclose(pca.explained_variance_ratio, (S ** 2 / (S ** 2).sum())[:5], rtol=1e-10)
    for k in range(5):  # the same axes, up to sign
        assert abs(np.dot(pca.components[k], Vt[k])) == pytest.approx(1.0, abs=1e-9)


def test_pca_full_rank_reconstructs():
    X = np.random.default_rng(0).standard_normal((30, 4))
    pca = fit_pca(X, 4)
    assert pca.explained_variance_ratio.sum() == pytest.approx(1.0)
    assert_allclose(pca.project(X) @ pca.components + pca.mean, X, atol=1e-10)
    with pytest.raises(RNNError):
        fit_pca(X[:1])


def _feature(text: str, name: str) -> list[float]:
    f = text_features(list(text))
    return f.values[:, f.names.index(name)].tolist()


def test_features_on_hand_made_strings():
    assert _feature("(a[b]) x", "depth") == [1, 1, 2, 2, 1, 0, 0, 0]
    assert _feature("(a[b]) x", "in_brackets") == [1, 1, 1, 1, 1, 1, 0, 0]
    assert _feature(")x", "depth") == [0, 0]  # an unmatched close never goes negative
    assert _feature("ab cd", "word_position") == [1, 2, 0, 1, 2]
    assert _feature("ab cd", "word_start") == [1, 0, 0, 1, 0]
    assert _feature("ab cd", "space") == [0, 0, 1, 0, 0]
    assert _feature("ab cd", "after_space") == [0, 0, 0, 1, 0]
    assert _feature("aXe1!", "vowel") == [1, 0, 1, 0, 0]
    assert _feature("aXe1!", "uppercase") == [0, 1, 0, 0, 0]
    assert _feature("aXe1!", "digit") == [0, 0, 0, 1, 0]
    assert _feature("aXe1!", "punctuation") == [0, 0, 0, 0, 1]
    assert _feature("ab\ncd", "line_start") == [1, 0, 0, 1, 0]
    assert _feature("ab\ncd", "newline") == [0, 0, 1, 0, 0]
    assert _feature("ab\ncd", "line_position") == [0, 1, 2, 0, 1]
    assert _feature("Hi. Yo", "sentence_end") == [0, 0, 0, 1, 0, 0]
    assert _feature('a "bc" d', "in_quotes") == [0, 0, 1, 1, 1, 1, 0, 0]
    assert set(text_features([]).names) == set(FEATURES) - {"word_length"}


def test_features_on_word_tokens():
    vocab = Vocab.build("The cat (sat) on the mat.", "word")
    toks = vocab.encode_report("The cat (sat)").tokens
    f = text_features(toks, "word")
    assert f.values.shape == (len(toks), len(FEATURES) - 4)
    assert f.values[toks.index("sat"), f.names.index("in_brackets")] == 1
    assert f.values[0, f.names.index("uppercase")] == 1
    # what needs one character per token is gone; the word's length is there instead
    assert not {"vowel", "word_start", "word_position", "after_space"} & set(f.names)
    assert f.values[:, f.names.index("word_length")].tolist() == [3, 0, 3, 0, 0, 3, 0]


def test_correlations_match_corrcoef_and_handle_constants():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((100, 3))
    f = np.column_stack([x[:, 0] * 2 + rng.standard_normal(100), np.ones(100),
                         rng.integers(0, 2, 100)])
    r = correlations(x, f)
    for i in range(3):
        for j in (0, 2):
            assert r[i, j] == pytest.approx(np.corrcoef(x[:, i], f[:, j])[0, 1], rel=1e-10)
    assert np.all(r[:, 1] == 0)  # a constant feature explains nothing


def test_unit_report_finds_the_planted_feature():
    text = list("(ab [cd] e) fg h (i) jk\nLm (no [p]) q " * 20)
    f = text_features(text)
    rng = np.random.default_rng(0)
    col = {n: f.values[:, i] for i, n in enumerate(f.names)}
    h = np.column_stack([
        np.tanh(2 * col["in_brackets"] - 1 + 0.3 * rng.standard_normal(len(text))),
        -np.tanh(2 * col["space"] - 1 + 0.3 * rng.standard_normal(len(text))),
        0.5 * rng.standard_normal(len(text)),
    ])
    rep = neuron_report(h, f)
    assert rep.feature_names[rep.best_feature[0]] == "in_brackets" and rep.best_r[0] > 0.8
    assert rep.feature_names[rep.best_feature[1]] == "space" and rep.best_r[1] < -0.8
    assert rep.order[-1] == 2
    assert "inside brackets" in rep.describe(0) and "high" in rep.describe(0)
    assert "low on a space" in rep.describe(1)
    assert_allclose(rep.selectivity, np.abs(rep.best_r))
    assert_allclose(rep.variance, h.var(0))


def test_top_contexts():
    vals = np.zeros(100)
    vals[[10, 12, 50, 90]] = [5, 4, 3, 2]
    vals[70] = -7
    toks = [chr(ord("a") + i % 26) for i in range(100)]
    top = top_contexts(vals, toks, k=3, before=5, after=2)
    assert [c.position for c in top] == [10, 50, 90]  # 12 is too close to 10
    assert top[0].activation == 5
    assert top[0].before == "".join(toks[5:10]) and top[0].token == toks[10]
    assert top[0].after == "".join(toks[11:13])
    low = top_contexts(vals, toks, k=1, largest=False)
    assert low[0].position == 70 and low[0].activation == -7
    with pytest.raises(RNNError):
        top_contexts(vals[:5], toks)


def test_prepare_text_cuts_and_reports_unknown():
    vocab = Vocab.build("abc ")
    p = prepare_text(vocab, "ab€c  ab€", max_tokens=5)
    assert p.encoded.tokens == list("ab€c ")
    assert p.cut == 4 and p.total_tokens == 9
    assert p.encoded.unknown == [(2, "€")]
    assert prepare_text(vocab, "ab", 10).cut == 0
    with pytest.raises(RNNError, match="at least 2"):
        prepare_text(vocab, "a", 10, min_tokens=2)


def test_reference_text():
    text, title = reference_text("english", 5000)
    assert text == load_corpus("english")[:5000] and title
    assert reference_text(None, 100) == ("", "")
    assert reference_text("nope", 100) == ("", "")


def test_untrained_model_has_spectral_radius_near_one():
    for seed in range(3):
        m = untrained_model(30, 128, seed=seed)
        assert 0.85 < m.spectral_radius() < 1.15
        assert m.W_h.std() == pytest.approx(1 / np.sqrt(128), rel=0.05)


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_gradient_decay_is_the_median_ratio_to_the_own_step(act):
    from rnn.analysis import gradient_decay

    model, ids, targets = _setup(H=6, T=14, seed=2, g=act, init_std=0.3)
    trace = model.forward(ids)
    dec = gradient_decay(model, trace, targets)
    sens = sensitivity_matrix(model, trace, targets)
    assert dec.distance.tolist() == list(range(14)) and dec.ratio[0] == pytest.approx(1.0)
    for d in (1, 5, 13):
        want = np.median([sens.dh_norm[t, t - d] / sens.dh_norm[t, t] for t in range(d, 14)])
        assert dec.ratio[d] == pytest.approx(want, rel=1e-12)
    assert dec.loss == pytest.approx(model.loss(ids, targets), rel=1e-12)
    assert dec.saturated == pytest.approx(np.mean(saturated(model.g, trace.h)))
    assert len(gradient_decay(model, trace, targets, max_distance=4).ratio) == 4


def test_gradient_decay_of_a_linear_rnn_follows_the_spectral_radius():
    """With the identity every Jacobian is W_h itself: a W_h of spectral radius 0.5 (a scaled
    orthogonal matrix, so every direction shrinks alike) halves the gradient at every step."""
    from rnn.analysis import gradient_decay

    model, ids, targets = _setup(H=6, T=12, seed=3, g="identity")
    q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((6, 6)))
    model.W_h[:] = 0.5 * q
    dec = gradient_decay(model, model.forward(ids), targets)
    np.testing.assert_allclose(dec.ratio, 0.5 ** np.arange(12), rtol=1e-9)
    assert dec.saturated == 0.0
