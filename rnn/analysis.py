"""Looking inside a trained RNN: per-step gradients, Jacobian chains, PCA of h_t, unit features.

Notation as in ``rnn.model``: ``a_t = W_i x_t + W_h h_{t-1} + b_h``, ``h_t = tanh(a_t)``,
``y_t = W_o h_t + b_o``, ``p_t = softmax(y_t)``. The loss of one step is
``L_t = -ln p_t[target_t]``. Backprop through time carries ``dL_t/dh_k`` from ``k = t`` back to 0::

    dL_t/dh_t = W_o^T (p_t - onehot(target_t))
    dL_t/da_k = (1 - h_k^2) * dL_t/dh_k
    dL_t/dh_{k-1} = W_h^T dL_t/da_k
    dL_t/dx_k = W_i^T dL_t/da_k

so ``dL_t/dh_k = (J_t ... J_{k+1})^T dL_t/dh_t`` with the one-step Jacobian
``J_j = dh_j/dh_{j-1} = diag(1 - h_j^2) W_h``: the product of these decides whether the
gradient vanishes or explodes with the distance ``t - k``.

Arrays of one sequence are shaped ``(T, .)``; nothing here imports streamlit or plotly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .corpora import CORPORA, load_corpus
from .errors import RNNError
from .model import RNN, Trace
from .vocab import Encoded, Vocab

SATURATED = 0.95  # |h| above this: tanh' = 1 - h^2 < 0.1, the unit passes little gradient


# -- the text a view looks at ----------------------------------------------------------------


@dataclass
class PreparedText:
    """A user's text encoded for a view, cut to the longest length the view can show."""

    encoded: Encoded  # ids, tokens and unknown tokens of the kept part
    total_tokens: int  # tokens in the text as typed, before the cut

    @property
    def cut(self) -> int:
        """How many tokens were dropped from the end."""
        return self.total_tokens - len(self.encoded.tokens)


def prepare_text(vocab: Vocab, text: str, max_tokens: int, min_tokens: int = 1) -> PreparedText:
    """Encode ``text`` and keep its first ``max_tokens`` tokens; unknown tokens become ``<unk>``.

    Raises
    ------
    RNNError
        If the text has fewer than ``min_tokens`` tokens.
    """
    full = vocab.encode_report(text)
    n = len(full.tokens)
    if n < min_tokens:
        unit = "characters" if vocab.level == "char" else "tokens"
        raise RNNError(f"This view needs at least {min_tokens} {unit} of text; got {n}.")
    if n <= max_tokens:
        return PreparedText(full, n)
    kept = Encoded(full.ids[:max_tokens], full.tokens[:max_tokens],
                   [(i, tok) for i, tok in full.unknown if i < max_tokens])
    return PreparedText(kept, n)


def reference_text(meta: dict, max_chars: int = 5000) -> tuple[str, str]:
    """The first ``max_chars`` of the built-in corpus a model was trained on, and its title.

    Returns ``("", "")`` when the model's metadata names no built-in corpus.
    """
    name = meta.get("corpus")
    if not isinstance(name, str) or name not in CORPORA:
        return "", ""
    return load_corpus(name)[:max_chars], CORPORA[name].title


# -- backprop through time, one loss at a time ----------------------------------------------


@dataclass
class StepGradients:
    """How the loss of one step t depends on every earlier state and input."""

    t: int  # the step whose loss L_t is backpropagated
    loss: float  # L_t = -ln p_t[target_t], nats
    dh: np.ndarray  # dL_t/dh_k for k = 0..t                      (t+1, H)
    da: np.ndarray  # dL_t/da_k = (1 - h_k^2) * dL_t/dh_k          (t+1, H)
    dx: np.ndarray  # dL_t/dx_k = W_i^T dL_t/da_k                  (t+1, V)
    dh0: np.ndarray  # dL_t/dh_{-1}, reaching the initial state     (H,)

    def norms(self) -> dict[str, np.ndarray]:
        """2-norms over units (or tokens) of dh, da and dx, each shaped (t+1,)."""
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
    h = trace.h[: t + 1]  # (t+1, H)
    one_minus_h2 = 1.0 - h * h  # tanh'(a_k)                    (t+1, H)
    dy = trace.probs[t].astype(np.float64)  # dL_t/dy_t = p_t - onehot(target_t)  (V,)
    loss = float(-np.log(max(dy[tg[t]], np.finfo(np.float64).tiny)))
    dy[tg[t]] -= 1.0
    dh = np.empty((t + 1, model.hidden_size))  # (t+1, H)
    da = np.empty_like(dh)
    dh_k = np.dot(dy, model.W_o)  # W_o^T dy_t                       (H,)
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(t, -1, -1):
            dh[k] = dh_k
            np.multiply(one_minus_h2[k], dh_k, out=da[k])  # dL_t/da_k
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
    losses = -np.log(np.maximum(p_target, np.finfo(np.float64).tiny))
    dy = p.copy()
    dy[np.arange(T), tg] -= 1.0  # dL_t/dy_t, row t                      (T, V)
    inject = np.dot(dy, model.W_o)  # W_o^T dy_t, row t                      (T, H)
    one_minus_h2 = 1.0 - trace.h * trace.h  # (T, H)
    dh_norm = np.full((T, T), np.nan)
    da_norm = np.full((T, T), np.nan)
    G = np.zeros((T, H))  # row t: dL_t/dh_k (zero until the sweep reaches k = t)
    W_h = model.W_h
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(T - 1, -1, -1):
            G[k] = inject[k]  # loss k starts here
            rows = G[k:]  # (T-k, H) the losses t >= k
            da = rows * one_minus_h2[k]  # dL_t/da_k                 (T-k, H)
            dh_norm[k:, k] = np.sqrt(np.einsum("ij,ij->i", rows, rows))
            da_norm[k:, k] = np.sqrt(np.einsum("ij,ij->i", da, da))
            G[k:] = np.dot(da, W_h)  # W_h^T da_k for each row, i.e. dL_t/dh_{k-1}
    return Sensitivity(dh_norm, da_norm, losses)


# -- the Jacobian chain ----------------------------------------------------------------------


@dataclass
class JacobianChain:
    """Norms of ``dh_t/dh_k = J_t J_{t-1} ... J_{k+1}`` with ``J_j = diag(1 - h_j^2) W_h``."""

    t: int
    frobenius: np.ndarray  # (t+1,) ||dh_t/dh_k||_F for k = 0..t; sqrt(H) at k = t (identity)
    saturated: np.ndarray  # (t+1,) share of units with |h_k| > 0.95 at each step k
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
    one_minus_h2 = 1.0 - trace.h * trace.h  # (T, H)
    log_norm = np.empty(t + 1)
    P = np.eye(H)  # dh_t/dh_k divided by exp(log_scale)          (H, H)
    log_scale = 0.0
    log_norm[t] = 0.5 * np.log(H)
    for k in range(t - 1, -1, -1):
        P = np.dot(P * one_minus_h2[k + 1], model.W_h)  # P J_{k+1} = P diag(1-h^2) W_h
        n = np.linalg.norm(P)
        if n == 0.0 or not np.isfinite(n):
            log_norm[: k + 1] = -np.inf if n == 0.0 else np.inf
            break
        P /= n
        log_scale += np.log(n)
        log_norm[k] = log_scale
    with np.errstate(over="ignore"):
        frobenius = np.exp(log_norm)
    saturated = np.mean(np.abs(trace.h[: t + 1]) > SATURATED, axis=1)
    rho = model.spectral_radius() if spectral_radius is None else float(spectral_radius)
    return JacobianChain(t, frobenius, saturated, rho)


def scaled_model(model: RNN, scale: float) -> RNN:
    """A copy of the model with ``W_h`` multiplied by ``scale`` (the original is untouched)."""
    if not np.isfinite(scale) or scale < 0:
        raise RNNError("The scale of W_h must be a finite number >= 0.")
    out = model.copy()
    out.W_h *= scale
    return out


def untrained_model(vocab_size: int, hidden_size: int, seed: int = 0) -> RNN:
    """A fresh model with weights drawn from N(0, 1/H), so the spectral radius of W_h is near 1.

    By the circular law the eigenvalues of an (H, H) matrix of N(0, s^2) entries fill a disc
    of radius s sqrt(H); with s = 1/sqrt(H) scaling W_h by c puts its spectral radius near c.
    """
    return RNN.create(vocab_size, hidden_size, seed=seed, init_std=1.0 / np.sqrt(hidden_size))


# -- hidden-state space ----------------------------------------------------------------------


@dataclass
class PCA:
    """Principal axes of a cloud of hidden states: ``z = (h - mean) components^T``."""

    mean: np.ndarray  # (H,)
    components: np.ndarray  # (K, H) orthonormal rows, by decreasing variance
    explained_variance_ratio: np.ndarray  # (K,) share of the total variance along each axis

    def project(self, h: np.ndarray) -> np.ndarray:
        """Coordinates of states h (..., H) on the principal axes, shaped (..., K)."""
        return np.dot(np.asarray(h, dtype=np.float64) - self.mean, self.components.T)


def fit_pca(states: np.ndarray, n_components: int = 3) -> PCA:
    """PCA of the states (N, H) by a NumPy SVD, largest variance first.

    With the centred data ``X = U S V^T``, the scatter matrix is ``X^T X = V S^2 V^T``: its SVD
    gives the same axes ``V`` and variances ``S^2`` as the SVD of X, from an (H, H) matrix
    instead of an (N, H) one (about 5 ms instead of 200 ms for 5000 states of 128 units).

    Returns
    -------
    PCA
        ``components`` (K, H) with ``K = min(n_components, N, H)``.
    """
    X = np.asarray(states, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 2:
        raise RNNError("PCA needs at least two hidden states, shaped (N, H).")
    N, H = X.shape
    mean = X.mean(axis=0)  # (H,)
    Xc = X - mean  # (N, H)
    C = np.dot(Xc.T, Xc)  # (H, H) scatter matrix X^T X, symmetric positive semi-definite
    V, var, _ = np.linalg.svd(C, hermitian=True)  # columns of V: axes; var = S^2, descending
    K = min(n_components, N, H)
    total = float(np.trace(C))
    ratio = var[:K] / total if total > 0 else np.zeros(K)
    components = V[:, :K].T.copy()  # (K, H)
    # Sign convention (an axis is defined up to sign): its largest |entry| is positive.
    flip = np.sign(components[np.arange(K), np.argmax(np.abs(components), axis=1)])
    components *= np.where(flip == 0, 1.0, flip)[:, None]
    return PCA(mean, components, ratio)


# -- what single units respond to ------------------------------------------------------------

OPEN, CLOSE = "([{", ")]}"
VOWELS = set("aeiouAEIOU")

# name -> the phrase that completes "high ..." (r > 0) or "low ..." (r < 0)
FEATURES: dict[str, str] = {
    "space": "on a space",
    "after_space": "right after a space",
    "word_position": "the further into a word (position in word)",
    "word_start": "at the first letter of a word",
    "vowel": "on vowels",
    "letter": "on letters",
    "uppercase": "on capital letters",
    "digit": "on digits",
    "punctuation": "on punctuation",
    "sentence_end": "right after . ! or ?",
    "line_start": "at the start of a line",
    "line_position": "the further along a line",
    "newline": "on a line break",
    "in_brackets": "inside brackets",
    "depth": "the deeper brackets are nested",
    "in_quotes": "inside quotes",
}


@dataclass
class TextFeatures:
    """Binary and real-valued properties of each position of a text, known by that position."""

    names: tuple[str, ...]  # (F,) keys of FEATURES
    values: np.ndarray  # (T, F) float


def text_features(tokens: list[str]) -> TextFeatures:
    """Features of each token, using only the token and what came before it (as the RNN does).

    Counters (``word_position``, ``line_position``, ``depth``, ``in_quotes``) count the state
    after reading the token: in ``(a)`` the depth is 1, 1, 0, while ``in_brackets`` is 1 for
    all three (the brackets themselves belong to the bracketed part); quote marks likewise.
    """
    T = len(tokens)
    out = {name: np.zeros(T) for name in FEATURES}
    prev = "\n"  # the text starts as if after a line break
    word_pos = line_pos = depth = 0
    quoted = False
    for i, tok in enumerate(tokens):
        c = tok[:1] or " "
        is_letter = c.isalpha()
        word_pos = word_pos + 1 if is_letter else 0
        line_pos = 0 if prev == "\n" else line_pos + 1
        if c in OPEN:
            depth += 1
        elif c in CLOSE:
            depth = max(depth - 1, 0)
        if c == '"':
            quoted = not quoted
        row = {
            "space": c == " ", "after_space": prev == " ", "word_position": word_pos,
            "word_start": word_pos == 1, "vowel": c in VOWELS, "letter": is_letter,
            "uppercase": c.isupper(), "digit": c.isdigit(),
            "punctuation": not (c.isalnum() or c.isspace()), "sentence_end": prev in ".!?",
            "line_start": prev == "\n" and c != "\n", "line_position": line_pos,
            "newline": c == "\n", "in_brackets": depth > 0 or c in CLOSE, "depth": depth,
            "in_quotes": quoted or c == '"',
        }
        for name, v in row.items():
            out[name][i] = float(v)
        prev = tok[-1:] or " "
    names = tuple(FEATURES)
    return TextFeatures(names, np.stack([out[n] for n in names], axis=1))


def correlations(x: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Pearson r between every column of x (T, H) and of f (T, F), shaped (H, F); 0 if constant."""
    x = np.asarray(x, dtype=np.float64)
    f = np.asarray(f, dtype=np.float64)
    xc = x - x.mean(axis=0)
    fc = f - f.mean(axis=0)
    sx = np.sqrt((xc * xc).sum(axis=0))  # (H,)
    sf = np.sqrt((fc * fc).sum(axis=0))  # (F,)
    denom = np.outer(sx, sf)
    r = np.dot(xc.T, fc)  # (H, F)
    ok = denom > 1e-12 * max(1.0, float(denom.max(initial=0.0)))
    return np.where(ok, r / np.where(ok, denom, 1.0), 0.0)


@dataclass
class UnitReport:
    """What each hidden unit correlates with over a text, and how selective it is."""

    r: np.ndarray  # (H, F) Pearson r of each unit's h with each feature
    best_feature: np.ndarray  # (H,) index of the feature with the largest |r|
    best_r: np.ndarray  # (H,) that r, signed
    variance: np.ndarray  # (H,) variance of each unit's activation over the text
    order: np.ndarray  # (H,) units by decreasing selectivity |best_r|
    feature_names: tuple[str, ...]  # (F,)

    @property
    def selectivity(self) -> np.ndarray:
        """|r| of each unit's best feature, shaped (H,): how well one feature explains it."""
        return np.abs(self.best_r)

    def describe(self, unit: int) -> str:
        """A one-line reading of a unit, e.g. 'high inside brackets (r = +0.82)'."""
        name = self.feature_names[self.best_feature[unit]]
        r = float(self.best_r[unit])
        if abs(r) < 0.1:
            return f"no clear pattern among the features (best: {name}, r = {r:+.2f})"
        weak = ", weak" if abs(r) < 0.3 else ""
        return f"{'high' if r > 0 else 'low'} {FEATURES[name]} (r = {r:+.2f}{weak})"


def unit_report(h: np.ndarray, features: TextFeatures) -> UnitReport:
    """Correlate every unit's activation h (T, H) with every text feature (T, F)."""
    h = np.asarray(h)
    if h.ndim != 2 or h.shape[0] != features.values.shape[0]:
        raise RNNError("The activations (T, H) and the text features (T, F) must cover one text.")
    r = correlations(h, features.values)  # (H, F)
    best = np.argmax(np.abs(r), axis=1)  # (H,)
    best_r = r[np.arange(r.shape[0]), best]
    order = np.lexsort((np.arange(len(best_r)), -np.abs(best_r)))  # stable: ties by unit id
    return UnitReport(r, best, best_r, h.var(axis=0), order, features.names)


@dataclass
class Context:
    """A window of text around one position, for 'where does this unit fire'."""

    position: int  # index of the token
    activation: float  # h_t of the unit at that token
    before: str  # text just before the token
    token: str
    after: str  # text just after


def top_contexts(values: np.ndarray, tokens: list[str], k: int = 5, largest: bool = True,
                 before: int = 15, after: int = 4) -> list[Context]:
    """The k positions with the largest (or smallest) values, at least ``before`` tokens apart.

    Parameters
    ----------
    values : array, shape (T,)
        One unit's activation over the text.
    tokens : list of str, length T
    """
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (len(tokens),):
        raise RNNError("The values and the tokens must have the same length.")
    order = np.argsort(-values if largest else values, kind="stable")
    taken: list[int] = []
    for i in order.tolist():
        if len(taken) == k:
            break
        if all(abs(i - j) > before for j in taken):
            taken.append(i)
    return [Context(i, float(values[i]), "".join(tokens[max(0, i - before): i]), tokens[i],
                    "".join(tokens[i + 1: i + 1 + after])) for i in taken]
