"""The Trainer learns as fast per step as min-char-rnn's loop at min-char-rnn's own recipe.

H=100, T=25, batch 1, Adagrad lr 0.1, element-wise clipping at 5, weights drawn with std 0.01,
on a text made here: a few thousand characters of an invented language written in Greek and
Cyrillic letters, with more than 80 distinct symbols (so that many are rare, which is where a
gradient of the wrong scale meets Adagrad's fixed eps).
"""

from __future__ import annotations

import numpy as np
import pytest

from rnn import RNN, TrainConfig, Trainer
from rnn.checkpoint import save_checkpoint
from tests.reference import ref_train_adagrad

STEPS = 300


def invented_text(n_chars: int = 4000, seed: int = 0) -> str:
    """Sentences of Zipf-distributed words over Greek and Cyrillic letters, digits, punctuation."""
    rng = np.random.default_rng(seed)
    greek = [chr(c) for c in range(ord("α"), ord("ω") + 1)]  # 25 letters, final sigma included
    cyrillic = [chr(c) for c in range(ord("а"), ord("я") + 1)]  # 32
    words = []
    for i in range(150):
        letters = greek if i % 2 else cyrillic
        words.append("".join(rng.choice(letters, size=rng.integers(2, 7))))
    zipf = 1.0 / np.arange(1, len(words) + 1)
    zipf /= zipf.sum()
    out, n = [], 0
    while n < n_chars:
        sentence = list(rng.choice(words, size=rng.integers(4, 12), p=zipf))
        if rng.random() < 0.3:
            sentence.insert(int(rng.integers(len(sentence))), str(rng.integers(1, 2000)))
        if rng.random() < 0.3:
            k = int(rng.integers(1, len(sentence)))
            sentence[k - 1] += rng.choice([",", ";", " —", ":"])
        text = " ".join(sentence)
        text = text[0].upper() + text[1:] + str(rng.choice([".", "!", "?", "…", "."])) + " "
        if rng.random() < 0.2:
            text = "«" + text.rstrip() + "» "
        out.append(text)
        n += len(text)
    return "".join(out)


def test_invented_text_is_what_the_test_needs():
    text = invented_text()
    assert 3000 <= len(text) <= 6000
    assert len(set(text)) >= 80
    assert not text.isascii()


@pytest.mark.parametrize("seed", [0, 1])
def test_loss_after_300_steps_matches_min_char_rnn(seed):
    """Mean loss over steps 251-300 within 5% of a per-step min-char-rnn loop from the same
    weights on the same windows (the gradient's scale and clipping decide the pace of learning;
    float rounding alone moves the two curves apart by well under that)."""
    text = invented_text()
    cfg = TrainConfig(hidden_size=100, seq_len=25, batch_size=1, optimizer="adagrad", lr=0.1,
                      clip=5.0, init_std=0.01, seed=seed, dtype="float64", eval_every=10**6)
    tr = Trainer(text, cfg)
    start = {k: v.copy() for k, v in tr.params.items()}
    tr.train(STEPS)
    ref = ref_train_adagrad(start, tr.train_ids, STEPS, T=25, lr=0.1, clip=5.0)
    ours, theirs = np.mean(tr.history.loss[-50:]), np.mean(ref[-50:])
    assert tr.history.loss[0] == pytest.approx(ref[0], rel=1e-12)  # same weights, same window
    assert ours == pytest.approx(theirs, rel=0.05), (ours, theirs)


@pytest.mark.parametrize("B,T", [(1, 25), (3, 7)])
def test_trainer_follows_the_gradient_of_the_window_sum(B, T):
    """The update's gradient is T times that of the mean loss (the loss summed over each window,
    averaged over the B streams); the loss it reports stays the mean in nats per token."""
    text = invented_text(2000)
    tr = Trainer(text, TrainConfig(hidden_size=16, seq_len=T, batch_size=B, optimizer="sgd",
                                   momentum=0.0, lr=1e-3, clip=None, dtype="float64"))
    before = tr.model.copy()
    x, y = tr._next_window()
    tr.pos = 0
    loss_mean, grads_mean, _ = before.loss_and_grads(x, y)
    tr.step()
    assert tr.history.loss[0] == pytest.approx(loss_mean, rel=1e-12)
    for k, p in tr.params.items():
        np.testing.assert_allclose(before.params()[k] - p, 1e-3 * T * grads_mean[k], rtol=1e-9,
                                   atol=1e-18, err_msg=k)


@pytest.mark.parametrize("scale", [1.0, 25.0, 0.5])
def test_grad_scale_scales_the_gradients_only(scale):
    rng = np.random.default_rng(0)
    model = RNN.create(30, 8, seed=1, init_std=0.3)
    ids, targets = rng.integers(0, 30, (2, 9)), rng.integers(0, 30, (2, 9))
    loss1, g1, h1 = model.loss_and_grads(ids, targets)
    g1 = {k: v.copy() for k, v in g1.items()}
    loss_s, g_s, h_s = model.loss_and_grads(ids, targets, grad_scale=scale)
    assert loss_s == loss1
    np.testing.assert_array_equal(h_s, h1)
    for k in g1:
        np.testing.assert_allclose(g_s[k], scale * g1[k], rtol=1e-13, atol=1e-18, err_msg=k)


@pytest.mark.parametrize("optimizer", ["sgd", "adagrad", "adam"])
def test_resuming_a_checkpoint_from_before_scales_the_optimizer_state(tmp_path, optimizer):
    """A checkpoint saved when the Trainer followed the mean loss's gradient carries optimizer
    state T times (squares: T^2 times) too small for the window's sum; resuming scales it."""
    text = invented_text(3000)
    cfg = TrainConfig(hidden_size=8, seq_len=5, batch_size=2, optimizer=optimizer, lr=0.01,
                      dtype="float64")
    tr = Trainer(text, cfg)
    tr.train(3)
    path = tmp_path / "run.npz"
    tr.save(path)
    same = Trainer.resume(path, text)
    for k, v in tr.optimizer.state_arrays().items():
        np.testing.assert_array_equal(same.optimizer.state_arrays()[k], v)
    old_meta = tr.meta()
    del old_meta["trainer"]["gradient_of"]
    save_checkpoint(tmp_path / "old.npz", tr.model, tr.vocab, arrays=tr.state_arrays(), **old_meta)
    old = Trainer.resume(tmp_path / "old.npz", text)
    powers = dict(zip(tr.optimizer.slots, tr.optimizer.slot_powers, strict=True))
    for k, v in tr.optimizer.state_arrays().items():
        want = v * 5 ** powers[k.split(".")[0]]
        np.testing.assert_allclose(old.optimizer.state_arrays()[k], want, rtol=1e-15, err_msg=k)
