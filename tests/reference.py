"""An independent reference Elman RNN, written the textbook min-char-rnn way, for tests only.

One sequence at a time, one-hot column vectors, ``np.dot`` per step, plain Python loops. It
shares no code with ``rnn.model``: the tests compare the two to catch a mistake in either.

    a_t = W_i x_t + W_h h_{t-1} + b_h,  h_t = g(a_t),  y_t = W_o h_t + b_o,  p_t = softmax(y_t)
    L   = -(1/N) sum_t log p_t[target_t]

Each activation g and its derivative are written here from a_t, the textbook way (the model
writes g' in terms of h_t instead).
"""

from __future__ import annotations

import numpy as np


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


G = {  # name: (g(a), g'(a))
    "tanh": (np.tanh, lambda a: 1.0 - np.tanh(a) ** 2),
    "relu": (lambda a: np.where(a > 0, a, 0.0), lambda a: np.where(a > 0, 1.0, 0.0)),
    "sigmoid": (_sigmoid, lambda a: _sigmoid(a) * (1.0 - _sigmoid(a))),
    "identity": (lambda a: a * 1.0, lambda a: np.ones_like(a)),
}


def ref_forward(W_i, W_h, b_h, W_o, b_o, ids, h0, g="tanh"):
    """Per-step forward of one sequence; every intermediate as a list of column vectors."""
    H, V = W_i.shape
    bh = b_h.reshape(H, 1)
    bo = b_o.reshape(V, 1)
    hs = {-1: np.asarray(h0, dtype=W_h.dtype).reshape(H, 1)}
    xs, Wi_x, Wh_h, a_s, ys, ps = {}, {}, {}, {}, {}, {}
    for t, i in enumerate(ids):
        xs[t] = np.zeros((V, 1), W_i.dtype)
        xs[t][int(i)] = 1.0  # one-hot x_t
        Wi_x[t] = np.dot(W_i, xs[t])  # W_i x_t
        Wh_h[t] = np.dot(W_h, hs[t - 1])  # W_h h_{t-1}
        a_s[t] = Wi_x[t] + Wh_h[t] + bh  # a_t
        hs[t] = G[g][0](a_s[t])  # h_t = g(a_t)
        ys[t] = np.dot(W_o, hs[t]) + bo  # y_t
        e = np.exp(ys[t] - np.max(ys[t]))
        ps[t] = e / np.sum(e)  # p_t
    return {"x": xs, "Wi_x": Wi_x, "Wh_h": Wh_h, "a": a_s, "h": hs, "y": ys, "p": ps}


def stack(d: dict, T: int) -> np.ndarray:
    """Column vectors for t = 0..T-1 as rows of a (T, n) array."""
    return np.stack([d[t][:, 0] for t in range(T)])


def ref_loss(W_i, W_h, b_h, W_o, b_o, ids, targets, h0, g="tanh") -> float:
    """Mean cross-entropy (nats) of one sequence, summed over steps then divided by T."""
    f = ref_forward(W_i, W_h, b_h, W_o, b_o, ids, h0, g)
    return float(sum(-np.log(f["p"][t][int(targets[t]), 0]) for t in range(len(ids))) / len(ids))


def ref_bptt(W_i, W_h, b_h, W_o, b_o, ids, targets, h0, n_total=None, g="tanh"):
    """Gradients of the summed loss divided by ``n_total`` (default T), as min-char-rnn does it.

    Returns the gradient dict, per-step dL/dh_t (T, H), dL/da_t (T, H) and dL/dh0 (H,).
    """
    T = len(ids)
    n = n_total or T
    f = ref_forward(W_i, W_h, b_h, W_o, b_o, ids, h0, g)
    hs, xs, ps, a_s = f["h"], f["x"], f["p"], f["a"]
    dWi, dWh, dbh = np.zeros_like(W_i), np.zeros_like(W_h), np.zeros((W_h.shape[0], 1))
    dWo, dbo = np.zeros_like(W_o), np.zeros((W_o.shape[0], 1))
    dhnext = np.zeros_like(hs[-1])
    dh_steps, da_steps = {}, {}
    for t in reversed(range(T)):
        dy = np.copy(ps[t])
        dy[int(targets[t])] -= 1.0  # dL/dy_t of -log p_t[target]
        dy /= n
        dWo += np.dot(dy, hs[t].T)
        dbo += dy
        dh = np.dot(W_o.T, dy) + dhnext  # from y_t and from h_{t+1}
        dhraw = G[g][1](a_s[t]) * dh  # through g: g'(a_t) * dL/dh_t
        dh_steps[t], da_steps[t] = dh, dhraw
        dbh += dhraw
        dWi += np.dot(dhraw, xs[t].T)
        dWh += np.dot(dhraw, hs[t - 1].T)
        dhnext = np.dot(W_h.T, dhraw)
    grads = {"W_i": dWi, "W_h": dWh, "b_h": dbh[:, 0], "W_o": dWo, "b_o": dbo[:, 0]}
    return grads, stack(dh_steps, T), stack(da_steps, T), dhnext[:, 0]


def ref_train_adagrad(params, train_ids, steps, T, lr=0.1, clip=5.0, eps=1e-8):
    """min-char-rnn's training loop, one stream: windows of T tokens with the state carried (and
    reset where the stream wraps), gradients of the loss summed over the window, each clipped to
    [-clip, clip], Adagrad ``mem += g^2; p -= lr g / sqrt(mem + eps)``. Updates ``params`` (a dict
    of float64 arrays by the package's names) in place; returns the loss per step, nats per token.
    """
    names = ("W_i", "W_h", "b_h", "W_o", "b_o")
    mem = {k: np.zeros_like(params[k]) for k in names}
    h = np.zeros(params["W_h"].shape[0])
    pos, losses = 0, []
    for _ in range(steps):
        if pos + T + 1 > len(train_ids):  # the end of the stream: start again from h = 0
            pos, h = 0, np.zeros_like(h)
        ids, targets = train_ids[pos : pos + T], train_ids[pos + 1 : pos + T + 1]
        p = [params[k] for k in names]
        losses.append(ref_loss(*p, ids, targets, h))
        grads = ref_bptt(*p, ids, targets, h, n_total=1)[0]  # of the summed loss
        h = ref_forward(*p, ids, h)["h"][T - 1][:, 0]
        for k in names:
            g = np.clip(grads[k], -clip, clip)
            mem[k] += g * g
            params[k] -= lr * g / np.sqrt(mem[k] + eps)
        pos += T
    return losses
