"""Sampling text from a model: prime it, then draw one token at a time."""

from __future__ import annotations

import numpy as np

from .errors import RNNError
from .model import RNN
from .trace import neg_log
from .vocab import Vocab


def next_token_distribution(p: np.ndarray, temperature: float = 1.0, top_k: int | None = None):
    """Reshape p_t by temperature (p^(1/T), renormalised) and keep only the top_k tokens."""
    logp = -neg_log(p.astype(np.float64)) / temperature
    if np.any(p[1:] > 0):  # never emit <unk> unless nothing else is possible (before top_k)
        logp[0] = -np.inf
    if top_k is not None and 0 < top_k < logp.size:
        cut = np.partition(logp, -top_k)[-top_k]
        logp = np.where(logp >= cut, logp, -np.inf)
    q = np.exp(logp - logp.max())
    return q / q.sum()


def sample(
    model: RNN, vocab: Vocab, prime: str = "", n: int = 200, temperature: float = 1.0,
    top_k: int | None = None, greedy: bool = False, seed: int | None = 0, h0=None,
) -> str:
    """Generate ``n`` tokens after ``prime``; greedy (or temperature 0) takes the most likely one.

    Returns the generated text only (without the prime).
    """
    if n < 0 or n > 100_000:
        raise RNNError("The number of tokens to sample must be between 0 and 100000.")
    if not greedy and not (np.isfinite(temperature) and temperature >= 0):
        raise RNNError("The temperature must be a number >= 0.")
    if seed is not None and not (isinstance(seed, (int, np.integer)) and seed >= 0):
        raise RNNError("The seed must be a whole number >= 0.")
    if top_k is not None and top_k < 1:
        raise RNNError("top_k must be at least 1 (or None to keep every token).")
    if vocab.size != model.vocab_size:
        raise RNNError("The vocabulary does not fit the model.")
    if h0 is not None and np.shape(h0) != (model.hidden_size,):
        raise RNNError(f"h0 must be shaped ({model.hidden_size},), got {np.shape(h0)}.")
    greedy = greedy or temperature == 0
    rng = np.random.default_rng(seed)
    h = np.zeros(model.hidden_size, model.dtype) if h0 is None else np.asarray(h0, model.dtype)
    prime_ids = vocab.encode(prime)
    if prime_ids.size:
        tr = model.forward(prime_ids, h)
        h, p = tr.h[-1], tr.probs[-1]
    else:
        p = np.full(model.vocab_size, 1.0 / model.vocab_size)
    out = []
    for _ in range(n):
        if greedy:
            q = next_token_distribution(p, 1.0)
            i = int(np.argmax(q))
        else:
            i = int(rng.choice(p.size, p=next_token_distribution(p, temperature, top_k)))
        out.append(i)
        h, p = model.step(i, h)
    return vocab.decode(out)
