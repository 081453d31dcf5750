"""Sampling: seeded, greedy, temperature, top_k, prime, and never <unk> unless forced."""

from __future__ import annotations

import numpy as np
import pytest

from rnn import RNN, RNNError, Vocab, sample
from rnn.sample import next_token_distribution
from rnn.vocab import UNK_GLYPH

TEXT = "the quick brown fox jumps over the lazy dog. "


@pytest.fixture(scope="module")
def vocab() -> Vocab:
    return Vocab.build(TEXT)


def _model(vocab: Vocab, seed: int = 0, std: float = 1.0) -> RNN:
    return RNN.create(vocab.size, 16, seed=seed, init_std=std)


@pytest.mark.parametrize("seed", [0, 1, 123])
def test_same_seed_same_text(vocab, seed):
    m = _model(vocab)
    a = sample(m, vocab, "the ", 80, seed=seed)
    b = sample(m, vocab, "the ", 80, seed=seed)
    assert a == b and len(a) == 80
    assert set(a) <= set(vocab.tokens[1:])


def test_different_seeds_differ(vocab):
    m = _model(vocab)
    outs = {sample(m, vocab, "", 60, seed=s) for s in range(5)}
    assert len(outs) == 5


def test_seed_none_still_works(vocab):
    assert len(sample(_model(vocab), vocab, "a", 10, seed=None)) == 10


def _greedy_by_hand(m: RNN, vocab: Vocab, prime: str, n: int) -> str:
    """Feed the prime, then repeatedly take the argmax among tokens other than <unk>."""
    tr = m.forward(vocab.encode(prime))
    h, p = tr.h[-1], tr.probs[-1]
    out = []
    for _ in range(n):
        i = 1 + int(np.argmax(p[1:]))
        out.append(i)
        h, p = m.step(i, h)
    return vocab.decode(out)


@pytest.mark.parametrize("seed", [0, 5])
def test_greedy_is_deterministic_argmax(vocab, seed):
    m = _model(vocab, seed)
    want = _greedy_by_hand(m, vocab, "the q", 40)
    assert sample(m, vocab, "the q", 40, greedy=True, seed=1) == want
    assert sample(m, vocab, "the q", 40, greedy=True, seed=2) == want
    assert sample(m, vocab, "the q", 40, temperature=0.0, seed=3) == want


@pytest.mark.parametrize("seed", [0, 5])
def test_top_k_1_equals_greedy(vocab, seed):
    m = _model(vocab, seed)
    assert sample(m, vocab, "fox", 40, top_k=1, seed=9) == sample(m, vocab, "fox", 40, greedy=True)


def test_top_k_1_equals_greedy_when_unk_is_likeliest(vocab):
    m = _model(vocab, std=0.1)
    m.b_o[0] = 50.0  # <unk> is by far the most probable token everywhere
    g = sample(m, vocab, "the", 30, greedy=True)
    assert UNK_GLYPH not in g
    assert sample(m, vocab, "the", 30, top_k=1) == g


def test_prime_is_used(vocab):
    m = _model(vocab, 2)
    a = sample(m, vocab, "the lazy", 30, greedy=True)
    b = sample(m, vocab, "jumps ov", 30, greedy=True)
    assert a != b
    assert a == _greedy_by_hand(m, vocab, "the lazy", 30)
    # the returned text excludes the prime
    assert len(a) == 30


def test_no_prime_starts_from_uniform(vocab):
    m = _model(vocab, 3)
    out = sample(m, vocab, "", 1, seed=4)
    rng = np.random.default_rng(4)
    q = next_token_distribution(np.full(vocab.size, 1.0 / vocab.size))
    assert out == vocab.token(int(rng.choice(vocab.size, p=q)))


def test_never_emits_unk(vocab):
    m = _model(vocab, std=0.1)
    m.b_o[0] = 3.0  # <unk> likely but other tokens possible
    for temperature in (0.5, 1.0, 3.0):
        out = sample(m, vocab, "the", 400, temperature=temperature, seed=0)
        assert UNK_GLYPH not in out


def test_unk_only_when_forced():
    q = next_token_distribution(np.array([1.0, 0.0, 0.0]), top_k=1)
    assert q[0] == 1.0  # nothing else possible
    q = next_token_distribution(np.array([0.9, 0.1, 0.0]))
    assert q[0] == 0.0 and q[1] == pytest.approx(1.0)


P = np.array([0.05, 0.4, 0.3, 0.2, 0.05])


@pytest.mark.parametrize("temperature", [0.25, 0.5, 1.0, 2.0, 10.0])
def test_temperature_reshapes_by_power(temperature):
    q = next_token_distribution(P, temperature)
    want = P ** (1 / temperature)
    want[0] = 0.0
    want /= want.sum()
    np.testing.assert_allclose(q, want, rtol=1e-12)
    assert q.sum() == pytest.approx(1.0, abs=1e-15)


def test_temperature_extremes():
    cold = next_token_distribution(P, 0.01)
    assert cold[1] > 0.999999
    hot = next_token_distribution(P, 1e6)
    np.testing.assert_allclose(hot[1:], 0.25, rtol=1e-5)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_top_k_keeps_only_k_best(k):
    q = next_token_distribution(P, 1.0, top_k=k)
    kept = np.flatnonzero(q)
    assert list(kept) == [1, 2, 3][:k]
    np.testing.assert_allclose(q[kept], P[kept] / P[kept].sum(), rtol=1e-12)


def test_sampling_frequencies_follow_distribution(vocab):
    """First sampled token over many seeds: frequencies within 4 standard errors."""
    m = _model(vocab, std=0.5)
    tr = m.forward(vocab.encode("the "))
    q = next_token_distribution(tr.probs[-1], 0.7, top_k=4)
    n = 3000
    counts = np.zeros(vocab.size)
    for s in range(n):
        counts[vocab.index[sample(m, vocab, "the ", 1, temperature=0.7, top_k=4, seed=s)]] += 1
    freq = counts / n
    se = np.sqrt(q * (1 - q) / n)
    assert np.all(np.abs(freq - q) <= 4 * se + 1e-12)
    assert np.count_nonzero(counts) <= 4


def test_h0_is_used(vocab):
    m = _model(vocab, 6)
    h0 = np.full(16, 0.9)
    assert sample(m, vocab, "", 20, greedy=True, h0=h0) != sample(m, vocab, "", 20, greedy=True)


def test_float32_model_samples(vocab):
    m = _model(vocab).copy(np.float32)
    assert len(sample(m, vocab, "the", 25, seed=0)) == 25


def test_word_level():
    v = Vocab.build("one two three two one ", "word")
    m = RNN.create(v.size, 8, init_std=1.0)
    out = sample(m, v, "one ", 12, seed=0)
    assert "<unk>" not in out
    assert len(v.encode(out)) >= 1


@pytest.mark.parametrize("kwargs", [
    {"n": -1}, {"n": 100_001}, {"temperature": -0.5}, {"temperature": float("nan")},
    {"temperature": float("inf")}, {"top_k": 0}, {"top_k": -3}, {"h0": np.zeros(3)},
])
def test_bad_arguments(vocab, kwargs):
    args = {"n": 5, **kwargs}
    with pytest.raises(RNNError):
        sample(_model(vocab), vocab, "", **args)


def test_vocab_must_fit_model(vocab):
    with pytest.raises(RNNError):
        sample(RNN.create(vocab.size + 1, 4), vocab, "a", 5)


def test_zero_tokens(vocab):
    assert sample(_model(vocab), vocab, "abc", 0) == ""
