"""Backprop through time one loss at a time, and the Jacobian chain behind it.

Notation as in ``rnn.model``: ``a_t = W_i x_t + W_h h_{t-1} + b_h``, ``h_t = g(a_t)``,
``y_t = W_o h_t + b_o``, ``p_t = softmax(y_t)``. The loss of one step is
``L_t = -ln p_t[target_t]``. Backprop through time carries ``dL_t/dh_k`` from ``k = t`` back to 0::

    dL_t/dh_t = W_o^T (p_t - onehot(target_t))
    dL_t/da_k = g'(a_k) * dL_t/dh_k          (g' = 1 - h^2 for tanh; see rnn.model)
    dL_t/dh_{k-1} = W_h^T dL_t/da_k
    dL_t/dx_k = W_i^T dL_t/da_k

so ``dL_t/dh_k = (J_t ... J_{k+1})^T dL_t/dh_t`` with the one-step Jacobian
``J_j = dh_j/dh_{j-1} = diag(g'(a_j)) W_h``: the product of these decides whether the
gradient vanishes or explodes with the distance ``t - k``.

A neuron is *saturated* at a step when its slope ``g'(a_k)`` is below ``SATURATED_SLOPE`` (0.0975,
tanh's slope at |h| = 0.95): it passes less than a tenth of the gradient that reaches it.
``SATURATION`` says what that means for each g; with the identity no neuron ever saturates.

Arrays of one sequence are shaped ``(T, .)``; nothing here imports streamlit or plotly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..activation import Activation
from ..errors import RNNError
from ..model import RNN, SATURATED
from ..trace import Trace, neg_log

# g'(a) below this and a neuron is saturated: tanh's slope at |h| = SATURATED (0.95), so a
# gradient passing back through it keeps less than a tenth
SATURATED_SLOPE = 1.0 - SATURATED**2

# what "saturated" means for each g, in the words a page shows
SATURATION: dict[str, str] = {
    "tanh": "|h| > 0.95, where tanh flattens out (its slope 1 − h² < 0.1)",
    "relu": "h = 0, i.e. a ≤ 0: ReLU's slope there is 0, so the neuron passes no gradient "
            "at that step (above 0 its slope is 1: ReLU never flattens, and nothing caps h)",
    "sigmoid": "h < 0.11 or h > 0.89 (slope h(1 − h) < 0.1); sigmoid's slope is at most 1/4, "
               "so even an unsaturated neuron cuts the gradient to a quarter or less at every "
               "step",
    "identity": "never: the slope of the identity is 1 everywhere, so no neuron saturates. "
                "Nothing caps h_t and nothing damps the gradient: whether gradients vanish or "
                "explode over time is decided by W_h alone (its spectral radius below or above "
                "1), and a memory that grows does so without bound",
}


def saturated(g: Activation, h: np.ndarray) -> np.ndarray:
    """Which neurons are saturated, from h = g(a): a boolean array shaped like h."""
    return g.slope(h) < SATURATED_SLOPE


@dataclass
class StepGradients:
    """How the loss of one step t depends on every earlier state and input."""

    t: int  # the step whose loss L_t is backpropagated
    loss: float  # L_t = -ln p_t[target_t], nats
    dh: np.ndarray  # dL_t/dh_k for k = 0..t                      (t+1, H)
    da: np.ndarray  # dL_t/da_k = g'(a_k) * dL_t/dh_k              (t+1, H)
    dx: np.ndarray  # dL_t/dx_k = W_i^T dL_t/da_k                  (t+1, V)
    dh0: np.ndarray  # dL_t/dh_{-1}, reaching the initial state     (H,)

    def norms(self) -> dict[str, np.ndarray]:
        """2-norms over neurons (or tokens) of dh, da and dx, each shaped (t+1,)."""
        return {k: np.linalg.norm(getattr(self, k), axis=1) for k in ("dh", "da", "dx")}


def _check_step(trace: Trace, targets, t: int) -> np.ndarray:
    tg = np.asarray(targets)
    T = trace.h.shape[0]
    if trace.h.ndim != 2:
        raise RNNError("Per-step gradients are computed for one sequence, not a batch.")
    if tg.shape != (T,) or not np.issubdtype(tg.dtype, np.integer):
        raise RNNError(f"targets must be {T} integer token ids, one per input token.")
    if not 0 <= t < T:
        raise RNNError(f"The step t must lie in 0..{T - 1}, got {t}.")
    return tg


def step_gradients(model: RNN, trace: Trace, targets, t: int) -> StepGradients:
    """Backpropagate only the loss at step t, ``L_t = -ln p_t[target_t]``, through time.

    Parameters
    ----------
    model : RNN
    trace : Trace
        ``model.forward(ids)`` of one sequence; h shaped (T, H).
    targets : int array, shape (T,)
        The token each step predicts (usually ``ids`` shifted by one).
    t : int
        The step whose loss is backpropagated, ``0 <= t < T``.

    Returns
    -------
    StepGradients
        ``dh, da`` shaped (t+1, H) and ``dx`` (t+1, V) for ``k = 0..t``.
    """
    tg = _check_step(trace, targets, t)
    slope = model.g.slope(trace.h[: t + 1])  # g'(a_k) from h_k      (t+1, H)
    dy = trace.probs[t].astype(np.float64)  # dL_t/dy_t = p_t - onehot(target_t)  (V,)
    loss = float(neg_log(dy[tg[t]]))
    dy[tg[t]] -= 1.0
    dh = np.empty((t + 1, model.hidden_size))  # (t+1, H)
    da = np.empty_like(dh)
    dh_k = np.dot(dy, model.W_o)  # W_o^T dy_t                       (H,)
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(t, -1, -1):
            dh[k] = dh_k
            np.multiply(slope[k], dh_k, out=da[k])  # dL_t/da_k = g'(a_k) * dL_t/dh_k
            dh_k = np.dot(model.W_h.T, da[k])  # W_h^T da_k flows into h_{k-1}
        dx = np.dot(da, model.W_i)  # (t+1, V): row k is W_i^T da_k
    return StepGradients(t, loss, dh, da, dx, dh_k)


@dataclass
class Sensitivity:
    """``||dL_t/dh_k||`` and ``||dL_t/da_k||`` for every loss step t and every k <= t."""

    dh_norm: np.ndarray  # (T, T) row t, column k: ||dL_t/dh_k||_2; NaN above the diagonal (k > t)
    da_norm: np.ndarray  # (T, T) ||dL_t/da_k||_2, NaN for k > t
    losses: np.ndarray  # (T,) L_t = -ln p_t[target_t]


def sensitivity_matrix(model: RNN, trace: Trace, targets) -> Sensitivity:
    """All per-step sensitivities at once: one backward sweep carrying every loss's gradient.

    Row t of the carried matrix ``G`` (T, H) is ``dL_t/dh_k`` at the current k; the sweep costs
    about ``T^2 H^2 / 2`` multiply-adds, a few tens of milliseconds for T=100, H=128.
    """
    tg = _check_step(trace, targets, 0)
    T, H = trace.h.shape
    p = trace.probs.astype(np.float64)  # (T, V)
    p_target = p[np.arange(T), tg]
    losses = neg_log(p_target)
    dy = p.copy()
    dy[np.arange(T), tg] -= 1.0  # dL_t/dy_t, row t                      (T, V)
    inject = np.dot(dy, model.W_o)  # W_o^T dy_t, row t                      (T, H)
    slope = model.g.slope(trace.h)  # g'(a_k)                          (T, H)
    dh_norm = np.full((T, T), np.nan)
    da_norm = np.full((T, T), np.nan)
    G = np.zeros((T, H))  # row t: dL_t/dh_k (zero until the sweep reaches k = t)
    W_h = model.W_h
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(T - 1, -1, -1):
            G[k] = inject[k]  # loss k starts here
            rows = G[k:]  # (T-k, H) the losses t >= k
            da = rows * slope[k]  # dL_t/da_k = g'(a_k) * dL_t/dh_k    (T-k, H)
            dh_norm[k:, k] = np.sqrt(np.einsum("ij,ij->i", rows, rows))
            da_norm[k:, k] = np.sqrt(np.einsum("ij,ij->i", da, da))
            G[k:] = np.dot(da, W_h)  # W_h^T da_k for each row, i.e. dL_t/dh_{k-1}
    return Sensitivity(dh_norm, da_norm, losses)


@dataclass
class GradientDecay:
    """How the gradient of a loss fades (or grows) with the distance back in time, in one number
    per distance, and the loss itself: what a comparison of models puts side by side."""

    distance: np.ndarray  # (D,) d = t - k, 0..D-1
    ratio: np.ndarray  # (D,) median over t of ||dL_t/dh_{t-d}|| / ||dL_t/dh_t||; NaN if none
    loss: float  # mean of L_t over the text, nats per token
    saturated: float  # share of (step, unit) pairs saturated over the text


def gradient_decay(model: RNN, trace: Trace, targets, max_distance: int | None = None
                   ) -> GradientDecay:
    """The median ratio ``||dL_t/dh_{t-d}|| / ||dL_t/dh_t||`` over all t >= d, for each d.

    Dividing by ``||dL_t/dh_t||`` leaves what the trip back through ``d`` Jacobians
    ``diag(g'(a_k)) W_h`` does to a gradient, whatever the size of the loss at t. The median is
    over the steps t that reach back that far (ratios of exactly 0, a ReLU path cut, count).
    """
    sens = sensitivity_matrix(model, trace, targets)
    T = sens.dh_norm.shape[0]
    D = T if max_distance is None else max(1, min(T, int(max_distance)))
    own = np.diagonal(sens.dh_norm)  # (T,) ||dL_t/dh_t||
    ratio = np.full(D, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        for d in range(D):
            t = np.arange(d, T)
            r = sens.dh_norm[t, t - d] / own[t]  # (T-d,)
            r = r[np.isfinite(r)]
            if r.size:
                ratio[d] = float(np.median(r))
    share = float(np.mean(saturated(model.g, trace.h)))
    return GradientDecay(np.arange(D), ratio, float(np.mean(sens.losses)), share)


# -- the Jacobian chain ----------------------------------------------------------------------


@dataclass
class JacobianChain:
    """Norms of ``dh_t/dh_k = J_t J_{t-1} ... J_{k+1}`` with ``J_j = diag(g'(a_j)) W_h``."""

    t: int
    frobenius: np.ndarray  # (t+1,) ||dh_t/dh_k||_F for k = 0..t; sqrt(H) at k = t (identity)
    saturated: np.ndarray  # (t+1,) share of saturated neurons (g'(a_k) < SATURATED_SLOPE) at k
    spectral_radius: float  # max |eigenvalue| of W_h


def jacobian_chain(model: RNN, trace: Trace, t: int, spectral_radius: float | None = None
                   ) -> JacobianChain:
    """The product of one-step Jacobians from step t back to every k <= t, by its Frobenius norm.

    The product is renormalised at each step and its log-norm accumulated, so a chain that
    vanishes or explodes over hundreds of steps neither underflows nor overflows on the way.
    Pass ``spectral_radius`` if already known (it costs an eigendecomposition of W_h).
    """
    T, H = trace.h.shape
    if not 0 <= t < T:
        raise RNNError(f"The step t must lie in 0..{T - 1}, got {t}.")
    slope = model.g.slope(trace.h)  # g'(a_k)                          (T, H)
    log_norm = np.empty(t + 1)
    P = np.eye(H)  # dh_t/dh_k divided by exp(log_scale)          (H, H)
    log_scale = 0.0
    log_norm[t] = 0.5 * np.log(H)
    for k in range(t - 1, -1, -1):
        P = np.dot(P * slope[k + 1], model.W_h)  # P J_{k+1} = P diag(g'(a_{k+1})) W_h
        n = np.linalg.norm(P)
        if n == 0.0 or not np.isfinite(n):
            log_norm[: k + 1] = -np.inf if n == 0.0 else np.inf
            break
        P /= n
        log_scale += np.log(n)
        log_norm[k] = log_scale
    with np.errstate(over="ignore"):
        frobenius = np.exp(log_norm)
    share = np.mean(saturated(model.g, trace.h[: t + 1]), axis=1)
    rho = model.spectral_radius() if spectral_radius is None else float(spectral_radius)
    return JacobianChain(t, frobenius, share, rho)


def scaled_model(model: RNN, scale: float) -> RNN:
    """A copy of the model with ``W_h`` multiplied by ``scale`` (the original is untouched)."""
    if not np.isfinite(scale) or scale < 0:
        raise RNNError("The scale of W_h must be a finite number >= 0.")
    out = model.copy()
    out.W_h *= scale
    return out


def untrained_model(vocab_size: int, hidden_size: int, seed: int = 0,
                    activation: str = "tanh") -> RNN:
    """A fresh model with weights drawn from N(0, 1/H), so the spectral radius of W_h is near 1.

    By the circular law the eigenvalues of an (H, H) matrix of N(0, s^2) entries fill a disc
    of radius s sqrt(H); with s = 1/sqrt(H) scaling W_h by c puts its spectral radius near c.
    """
    return RNN.create(vocab_size, hidden_size, seed=seed, init_std=1.0 / np.sqrt(hidden_size),
                      activation=activation)
