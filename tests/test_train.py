"""Trainer: determinism, split runs, resume bit for bit, streams with carried state, divergence."""

from __future__ import annotations

import numpy as np
import pytest

from rnn import OPTIMIZERS, RNN, RNNError, TrainConfig, Trainer, Vocab, load_corpus
from rnn.history import History
from rnn.optim import global_norm

HELLO = load_corpus("hello")
ENGLISH = load_corpus("english")[:6000]


def small(**kw) -> TrainConfig:
    """A config small enough for many runs per test."""
    base = {"hidden_size": 12, "seq_len": 8, "batch_size": 2, "lr": 0.05, "eval_every": 7,
            "eval_tokens": 300, "dtype": "float64"}
    return TrainConfig(**{**base, **kw})


def state_of(tr: Trainer) -> dict[str, np.ndarray]:
    """Everything that decides the next step, as arrays."""
    out = {f"p.{k}": v for k, v in tr.params.items()}
    out.update({f"o.{k}": v for k, v in tr.optimizer.state_arrays().items()})
    out["h"] = tr.h
    out["pos"] = np.array(tr.pos)
    out["steps"] = np.array(tr.steps)
    out["t"] = np.array(tr.optimizer.t)
    return out


def assert_same_run(a: Trainer, b: Trainer) -> None:
    """Bit-identical state and history (wall-clock seconds aside)."""
    sa, sb = state_of(a), state_of(b)
    assert sa.keys() == sb.keys()
    for k in sa:
        assert sa[k].dtype == sb[k].dtype, k
        assert np.array_equal(sa[k], sb[k]), k
    for f in ("step", "loss", "grad_norm", "val_step", "val_loss"):
        assert getattr(a.history, f) == getattr(b.history, f), f


# -- determinism, split runs -------------------------------------------------------------------


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("seed", [0, 3])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_same_seed_same_run(optimizer, seed, dtype):
    cfg = small(optimizer=optimizer, seed=seed, lr=0.01 if optimizer == "adam" else 0.05,
                dtype=dtype)
    a, b = Trainer(ENGLISH, cfg), Trainer(ENGLISH, cfg)
    a.train(30)
    b.train(30)
    assert_same_run(a, b)


def test_different_seeds_differ():
    a, b = Trainer(ENGLISH, small(seed=0)), Trainer(ENGLISH, small(seed=1))
    a.train(3)
    b.train(3)
    assert not np.array_equal(a.model.W_h, b.model.W_h)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("n", [2, 14, 40])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_n_steps_equal_two_halves(optimizer, n, dtype):
    cfg = small(optimizer=optimizer, lr=0.01 if optimizer == "adam" else 0.05, clip_norm=1.0,
                dtype=dtype)
    whole, split = Trainer(ENGLISH, cfg), Trainer(ENGLISH, cfg)
    assert whole.train(n) == n
    assert split.train(n // 2) == n // 2
    assert split.train(n - n // 2) == n - n // 2
    assert_same_run(whole, split)


def test_split_runs_across_stream_wrap():
    """A corpus short enough that the streams wrap (pos and h reset) during the run."""
    text = ENGLISH[:300]
    cfg = small(batch_size=3, seq_len=10, val_fraction=0.0)
    whole, split = Trainer(text, cfg), Trainer(text, cfg)
    whole.train(25)
    for _ in range(5):
        split.train(5)
    assert_same_run(whole, split)


def test_run_with_seconds_stops_early():
    tr = Trainer(ENGLISH, small())
    done = tr.train(10**9, seconds=0.05)
    assert 1 <= done < 10**9 and tr.steps == done


def test_run_stops_before_the_step_where_stop_says_so():
    tr = Trainer(ENGLISH, small())
    assert tr.train(100, stop=lambda: tr.steps >= 7) == 7
    assert tr.steps == 7 and tr.history.step == list(range(1, 8))
    assert tr.train(100, stop=lambda: True) == 0


# -- checkpoints and resume --------------------------------------------------------------------


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_resume_is_bit_identical(tmp_path, optimizer, dtype):
    cfg = small(optimizer=optimizer, dtype=dtype, lr=0.01 if optimizer == "adam" else 0.05,
                batch_size=3)
    whole = Trainer(ENGLISH, cfg)
    whole.train(23)
    first = Trainer(ENGLISH, cfg)
    first.train(11)
    path = tmp_path / "run.npz"
    first.save(path)
    resumed = Trainer.resume(path, ENGLISH)
    assert resumed.steps == 11 and resumed.pos == first.pos
    assert resumed.model.dtype == np.dtype(dtype)
    resumed.train(12)
    assert_same_run(whole, resumed)


def test_resume_from_bytes_and_twice(tmp_path):
    import io

    cfg = small()
    whole = Trainer(ENGLISH, cfg)
    whole.train(30)
    tr = Trainer(ENGLISH, cfg)
    for _ in range(3):
        tr.train(10)
        buf = io.BytesIO()
        tr.save(buf)
        tr = Trainer.resume(buf.getvalue(), ENGLISH)
    assert_same_run(whole, tr)


def test_resume_on_other_text_keeps_weights_fresh_optimizer(tmp_path):
    cfg = small()
    tr = Trainer(ENGLISH, cfg)
    tr.train(5)
    path = tmp_path / "a.npz"
    tr.save(path)
    other = ENGLISH[::-1]
    re = Trainer.resume(path, other)
    assert np.array_equal(re.model.W_h, tr.model.W_h)
    assert re.pos == 0 and not re.h.any() and re.optimizer.t == 0
    assert all(not v.any() for v in re.optimizer.state_arrays().values())


@pytest.mark.parametrize("data", [b"", b"junk", b"PK\x05\x06" + b"\0" * 18])
def test_resume_from_a_bad_file(data):
    from rnn import CheckpointError

    with pytest.raises(CheckpointError):
        Trainer.resume(data, ENGLISH)


def test_save_records_meta(tmp_path):
    from rnn import load_checkpoint

    tr = Trainer(ENGLISH, small())
    tr.train(9)
    path = tmp_path / "m.npz"
    tr.save(path, title="t")
    model, vocab, meta, arrays = load_checkpoint(path, with_arrays=True)
    assert meta["title"] == "t"
    assert TrainConfig.from_dict(meta["config"]) == tr.config
    assert meta["history"]["loss"] == tr.history.loss
    assert meta["trainer"]["steps"] == 9
    assert vocab == tr.vocab and np.array_equal(model.W_o, tr.model.W_o)
    assert np.array_equal(arrays["state.h"], tr.h)


# -- streams and carried state -----------------------------------------------------------------


class Spy:
    """Wraps model.loss_and_grads to record each step's inputs, initial state and result."""

    def __init__(self, trainer: Trainer):
        self.model = trainer.model
        self.inner = trainer.model.loss_and_grads
        self.calls: list[dict] = []
        trainer.model.loss_and_grads = self

    def __call__(self, ids, targets, h0=None, grad_scale=1.0):
        before = self.model.copy()
        loss, grads, h_last = self.inner(ids, targets, h0, grad_scale=grad_scale)
        self.calls.append({"x": ids.copy(), "y": targets.copy(), "h0": np.array(h0),
                           "grad_scale": grad_scale,
                           "model": before, "loss": loss, "grads": {k: g.copy() for k, g in
                                                                    grads.items()},
                           "h_last": h_last.copy()})
        return loss, grads, h_last


@pytest.mark.parametrize("B,T", [(1, 5), (3, 7), (4, 4)])
def test_streams_are_contiguous_and_state_is_carried(B, T):
    text = ENGLISH[:1200]
    tr = Trainer(text, small(batch_size=B, seq_len=T, val_fraction=0.1))
    spy = Spy(tr)
    ids = tr.train_ids
    L = len(ids) // B
    per_epoch = (L - 1) // T  # windows per pass over the streams
    n = per_epoch + 3
    tr.train(n)
    assert len(spy.calls) == n
    for s, call in enumerate(spy.calls):
        pos = (s % per_epoch) * T
        for b in range(B):
            start = b * L + pos
            assert np.array_equal(call["x"][b], ids[start : start + T]), (s, b)
            assert np.array_equal(call["y"][b], ids[start + 1 : start + T + 1]), (s, b)
        if s % per_epoch == 0:  # start of a pass: fresh state
            assert not call["h0"].any()
        else:  # carried from the previous window
            assert np.array_equal(call["h0"], spy.calls[s - 1]["h_last"])
        assert call["x"].shape == (B, T) and call["h0"].shape == (B, tr.model.hidden_size)
    # the windows of one pass tile the stream without gaps or overlaps
    for b in range(B):
        seen = np.concatenate([c["x"][b] for c in spy.calls[:per_epoch]])
        assert np.array_equal(seen, ids[b * L : b * L + per_epoch * T])


def test_step_loss_is_model_loss_with_carried_state():
    tr = Trainer(ENGLISH, small(batch_size=3, seq_len=6, init_std=0.5))
    spy = Spy(tr)
    l1 = tr.step()
    l2 = tr.step()
    c1, c2 = spy.calls
    assert l1 == c1["loss"] and l2 == c2["loss"]
    # step 2's loss is the loss of window 2 from step 1's final state, with step 2's parameters
    assert l2 == pytest.approx(c2["model"].loss(c2["x"], c2["y"], h0=c1["h_last"]), rel=1e-14)
    assert l2 != pytest.approx(c2["model"].loss(c2["x"], c2["y"]), rel=1e-6)
    assert tr.history.loss == [l1, l2]
    assert 0 < tr.history.seconds[0] <= tr.history.seconds[1]  # lone steps are timed too


def test_history_records_loss_grad_norm_seconds_and_val():
    tr = Trainer(ENGLISH, small(eval_every=5, clip=0.01))
    spy = Spy(tr)
    tr.train(12)
    h = tr.history
    assert h.step == list(range(1, 13))
    assert h.loss == [c["loss"] for c in spy.calls]
    # norms are of the raw gradients, before clipping
    for norm, c in zip(h.grad_norm, spy.calls, strict=True):
        assert norm == pytest.approx(global_norm(c["grads"]), rel=1e-12)
    assert max(h.grad_norm) > 0.01 * np.sqrt(5)
    assert all(b >= a for a, b in zip(h.seconds, h.seconds[1:], strict=False))
    assert h.seconds[-1] > 0
    assert h.val_step == [5, 10]
    assert len(h.val_loss) == 2 and all(np.isfinite(h.val_loss))
    assert h.loss_last(3) == pytest.approx(np.mean(h.loss[-3:]))
    assert h.chars_per_s(tr.tokens_per_step) > 0
    assert History.from_dict(h.to_dict()) == h


def test_val_loss_at_start_is_log_v():
    tr = Trainer(ENGLISH, small(init_std=0.0))
    assert tr.evaluate() == pytest.approx(np.log(tr.vocab.size), rel=1e-12)


def test_val_loss_with_tiny_validation_split():
    """20 tokens with val_fraction 0.1 leave a 2-token validation split: one prediction."""
    text = "abcdefghijklmnopqrst"
    tr = Trainer(text, small(batch_size=1, seq_len=5, val_fraction=0.1, eval_every=1))
    assert len(tr.val_ids) == 2
    tr.train(2)
    want = tr.model.loss(tr.val_ids[:1], tr.val_ids[1:])
    assert tr.history.val_loss[-1] == pytest.approx(want, rel=1e-12)


def test_no_validation_split():
    tr = Trainer(ENGLISH, small(val_fraction=0.0, eval_every=1))
    tr.train(2)
    assert tr.evaluate() is None and tr.history.val_loss == []


# -- the update itself -------------------------------------------------------------------------


@pytest.mark.parametrize("clip,clip_norm", [(None, None), (0.05, None), (None, 0.1),
                                            (0.05, 0.1), (5.0, 1e-3)])
def test_update_applies_clipped_gradients(clip, clip_norm):
    """Plain SGD: the parameter change is -lr times the clipped gradient, exactly."""
    lr = 0.5
    tr = Trainer(ENGLISH, small(optimizer="sgd", momentum=0.0, lr=lr, clip=clip,
                                clip_norm=clip_norm, init_std=0.5))
    spy = Spy(tr)
    tr.step()
    (call,) = spy.calls
    g = {k: v.copy() for k, v in call["grads"].items()}
    if clip is not None:
        g = {k: np.clip(v, -clip, clip) for k, v in g.items()}
    if clip_norm is not None:
        n = global_norm(g)
        if n > clip_norm:
            g = {k: v * (clip_norm / n) for k, v in g.items()}
    for k, p in tr.params.items():
        np.testing.assert_allclose(p - call["model"].params()[k], -lr * g[k], rtol=1e-12,
                                   atol=1e-15, err_msg=k)
    if clip_norm is not None:
        step_norm = global_norm({k: (call["model"].params()[k] - p) / lr
                                 for k, p in tr.params.items()})
        assert step_norm <= clip_norm * (1 + 1e-9)


# -- learning ----------------------------------------------------------------------------------


@pytest.mark.parametrize("optimizer,lr", [("adagrad", 0.1), ("adam", 0.01)])
def test_learns_periodic_corpus(optimizer, lr):
    """'hello world. ' repeated: the loss falls from log V to near zero within 400 steps."""
    tr = Trainer(HELLO, TrainConfig(hidden_size=24, seq_len=13, batch_size=4, optimizer=optimizer,
                                    lr=lr, eval_every=100, seed=0))
    assert tr.history.loss == []
    tr.train(400)
    assert tr.history.loss[0] == pytest.approx(np.log(tr.vocab.size), rel=0.01)
    assert tr.history.loss_last(20) < 0.05
    assert tr.history.val_loss[-1] < 0.2
    assert not tr.diverged


def test_learns_abc():
    tr = Trainer("abc" * 300, TrainConfig(hidden_size=8, seq_len=6, lr=0.1, seed=1))
    tr.train(200)
    assert tr.history.loss_last(10) < 0.05


def test_word_level_training():
    tr = Trainer(ENGLISH, small(level="word", seq_len=6))
    tr.train(5)
    assert tr.vocab.level == "word" and tr.model.vocab_size == tr.vocab.size
    assert np.isfinite(tr.history.loss).all()


def test_float32_training():
    tr = Trainer(HELLO, small(dtype="float32"))
    tr.train(20)
    assert all(p.dtype == np.float32 for p in tr.params.values())
    assert tr.h.dtype == np.float32
    assert tr.history.loss[-1] < tr.history.loss[0]


def test_given_model_and_vocab_are_used_and_copied():
    vocab = Vocab.build(HELLO)
    model = RNN.create(vocab.size, 12, seed=5, init_std=0.2)
    orig = model.copy()
    tr = Trainer(HELLO, small(), model=model, vocab=vocab)
    assert np.array_equal(tr.model.W_h, orig.W_h)
    tr.train(3)
    assert np.array_equal(model.W_h, orig.W_h)  # the caller's model is untouched
    with pytest.raises(RNNError):
        Trainer(HELLO, small(), model=RNN.create(vocab.size + 1, 12), vocab=vocab)


# -- divergence --------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype,lr,init_std,max_loss", [
    ("float64", 1e307, 1.0, None), ("float64", 1e308, 10.0, None), ("float32", 1e37, 0.1, None),
    ("float32", 1e38, 10.0, None),
    ("float64", 1e6, 10.0, 50.0),  # finite but exploding: caught by the loss limit
    ("float64", 0.1, 0.01, 1.0),  # the very first loss (log V) is over the limit
])
def test_divergence_stops_and_restores_last_good(dtype, lr, init_std, max_loss):
    tr = Trainer(HELLO, small(optimizer="sgd", lr=lr, init_std=init_std, clip=None,
                              dtype=dtype, momentum=0.9, max_loss=max_loss))
    before = []  # parameters before each step
    losses = []
    for _ in range(100):
        before.append({k: p.copy() for k, p in tr.params.items()})
        loss = tr.step()
        if loss is None:
            break
        losses.append(loss)
    assert tr.diverged, "no divergence within 100 steps"
    msg = tr.diverged
    assert isinstance(msg, str) and "\n" not in msg and "diverged" in msg and "Traceback" not in msg
    assert "learning rate" in msg
    if max_loss is not None:
        assert "limit" in msg
    n_good = len(losses)
    assert tr.steps == n_good and len(tr.history.loss) == n_good
    assert all(np.isfinite(losses))
    # restored: the parameters that gave the last finite loss
    last_good = before[n_good - 1] if n_good else before[0]
    for k, p in tr.params.items():
        assert np.isfinite(p).all(), k
        assert np.array_equal(p, last_good[k]), k
    assert tr.model.loss(np.arange(3) % tr.vocab.size, np.arange(3) % tr.vocab.size) < np.inf
    # stopped for good
    assert tr.step() is None and tr.train(10) == 0 and tr.steps == n_good


def test_finite_loss_with_huge_lr_is_not_divergence_without_a_limit():
    """SGD lr 1e6, init 10 in float64: weights explode but stay finite; no max_loss, no stop."""
    tr = Trainer(HELLO, small(optimizer="sgd", lr=1e6, init_std=10.0, clip=None))
    assert tr.train(20) == 20 and tr.diverged is None
    assert all(np.isfinite(p).all() for p in tr.params.values())
    assert max(tr.history.loss) > 1000  # exploding, which max_loss is there to catch


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("field,value", [
    ("hidden_size", 0), ("hidden_size", 5000), ("seq_len", 0), ("batch_size", 0),
    ("optimizer", "rmsprop"), ("lr", 0.0), ("lr", -1.0), ("lr", float("nan")),
    ("lr", float("inf")), ("momentum", 1.0), ("momentum", -0.5), ("momentum", float("nan")),
    ("clip", 0.0), ("clip", -1.0), ("clip", float("nan")), ("clip_norm", 0.0),
    ("clip_norm", float("nan")), ("init_std", -1.0), ("init_std", float("inf")),
    ("val_fraction", 0.95), ("val_fraction", -0.1), ("val_fraction", float("nan")),
    ("eval_every", 0), ("level", "byte"), ("dtype", "float16"), ("max_loss", 0.0),
    ("max_loss", -1.0), ("max_loss", float("nan")),
])
def test_bad_config_values(field, value):
    with pytest.raises(RNNError):
        Trainer(ENGLISH, small(**{field: value}))


@pytest.mark.parametrize("text,kw", [
    ("", {}),
    ("abc", {}),
    ("a" * 20, {"seq_len": 25, "batch_size": 1}),
    (ENGLISH[:100], {"seq_len": 25, "batch_size": 4}),
])
def test_corpus_too_short(text, kw):
    with pytest.raises(RNNError):
        Trainer(text, small(**kw))


def test_too_short_message_is_helpful():
    with pytest.raises(RNNError, match="too short"):
        Trainer("hello world", small(seq_len=25, batch_size=1))


def test_config_from_dict_ignores_unknown_keys():
    cfg = TrainConfig.from_dict({"hidden_size": 7, "bogus": 1})
    assert cfg.hidden_size == 7 and cfg == TrainConfig(hidden_size=7)


def test_training_defaults_to_float32():
    tr = Trainer(ENGLISH, TrainConfig(hidden_size=8, seq_len=5))
    assert tr.model.dtype == np.float32 and tr.h.dtype == np.float32
    tr.train(3)
    assert all(p.dtype == np.float32 for p in tr.model.params().values())


def test_validation_reads_the_held_out_text_as_one_stream():
    tr = Trainer(ENGLISH, small(val_fraction=0.2, eval_tokens=700))
    tr.train(5)
    v = tr.val_ids
    assert len(v) == 701
    assert tr.evaluate() == tr.model.loss(v[:-1], v[1:])  # from h = 0, never cut into streams


# -- settings of a live run, recovery ----------------------------------------------------------


def test_live_lr_and_clip_apply_to_the_next_step():
    """After set_lr and set_clip, a plain SGD step moves by -lr' clip'(g), exactly."""
    tr = Trainer(ENGLISH, small(optimizer="sgd", momentum=0.0, init_std=0.5))
    tr.train(2)
    tr.set_lr(0.3)
    tr.set_clip(0.01)
    assert (tr.config.lr, tr.optimizer.lr, tr.config.clip) == (0.3, 0.3, 0.01)
    before = {k: v.copy() for k, v in tr.params.items()}
    x, y = tr.train_ids[tr.starts[:, None] + tr.pos + tr.window][:, :-1], \
        tr.train_ids[tr.starts[:, None] + tr.pos + tr.window][:, 1:]
    # the update follows the gradient of the loss summed over the window (T times the mean's)
    _, g, _ = tr.model.copy().loss_and_grads(x, y, tr.h.copy(), grad_scale=tr.config.seq_len)
    tr.step()
    for k, p in tr.params.items():
        np.testing.assert_allclose(p, before[k] - 0.3 * np.clip(g[k], -0.01, 0.01), atol=1e-15)


@pytest.mark.parametrize("setter, value", [("set_lr", 0.0), ("set_lr", float("nan")),
                                           ("set_clip", -1.0), ("set_max_loss", 0.0)])
def test_bad_live_settings_are_refused_and_change_nothing(setter, value):
    tr = Trainer(HELLO, small())
    before = TrainConfig(**vars(tr.config))
    with pytest.raises(RNNError):
        getattr(tr, setter)(value)
    assert tr.config == before and tr.optimizer.lr == before.lr


def test_recover_continues_with_zeroed_sgd_velocity():
    tr = Trainer(ENGLISH, small(optimizer="sgd", lr=0.05))
    tr.set_max_loss(10 * np.log(tr.vocab.size))
    tr.train(5)
    tr.set_lr(50.0)
    tr.train(200)
    assert tr.diverged
    tr.set_lr(0.05)
    tr.recover()
    assert tr.diverged is None
    assert all(not v.any() for v in tr.optimizer.state["velocity"].values())
    n = tr.steps
    assert tr.train(5) == 5 and tr.steps == n + 5


# -- activation g and the vocabulary cap -----------------------------------------------------


@pytest.mark.parametrize("g", ["tanh", "relu", "sigmoid", "identity"])
def test_each_activation_trains_resumes_and_is_saved(tmp_path, g):
    cfg = small(activation=g, optimizer="adam", lr=0.01, clip_norm=1.0)
    a = Trainer(ENGLISH, cfg)
    assert a.model.activation == g
    a.train(10)
    a.save(tmp_path / "m.npz")
    b = Trainer.resume(tmp_path / "m.npz", ENGLISH)
    assert b.model.activation == b.config.activation == g
    a.train(5)
    b.train(5)
    assert_same_run(a, b)
    first = a.history.loss[0]
    assert np.mean(a.history.loss[-5:]) < first, "no learning at all"


def test_a_given_model_keeps_its_activation():
    vocab = Vocab.build(ENGLISH)
    model = RNN.create(vocab.size, 12, activation="relu")
    with pytest.raises(RNNError, match="keeps its activation"):
        Trainer(ENGLISH, small(), model=model, vocab=vocab)
    trainer = Trainer(ENGLISH, small(activation="relu"), model=model, vocab=vocab)
    assert trainer.model.g.name == "relu"


def test_word_vocabulary_cap_and_unk_rate():
    full = Trainer(ENGLISH, small(level="word"))
    assert full.unk_rate == 0.0
    capped = Trainer(ENGLISH, small(level="word", max_vocab=50))
    assert capped.vocab.size == 50 and capped.model.vocab_size == 50
    want = float(np.mean(capped.vocab.encode(ENGLISH)[: len(capped.train_ids)] == 0))
    assert capped.unk_rate == pytest.approx(want) and 0.1 < capped.unk_rate < 0.9


@pytest.mark.parametrize("field,value", [("activation", "softplus"), ("max_vocab", 1)])
def test_bad_activation_or_cap(field, value):
    with pytest.raises(RNNError):
        Trainer(ENGLISH, small(**{field: value}))
