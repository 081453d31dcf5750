"""Training: truncated backprop through time over B parallel streams of a corpus.

The corpus is cut into ``B`` equal contiguous streams; each step takes the next window of
``seq_len`` tokens from every stream and carries the hidden state across windows, as
min-char-rnn does for one stream. A held-out tail of the corpus gives the validation loss.

Which loss the update follows: the loss *summed* over each window's T tokens, averaged over the
B streams, ``L_window = T * L`` with ``L`` the mean nats per token that every loss figure reports.
At B = 1 that is min-char-rnn's loss, so its recipe (Adagrad lr 0.1, element-wise clipping at 5)
means here what it means there. It matters because neither the clipping bound nor the optimizers'
eps is scale-free: Adagrad's ``lr g / sqrt(sum g^2 + eps)`` with eps = 1e-8 damps every entry
whose summed squared gradient is not well above 1e-8, and the gradient of the mean is T = 25 times
smaller (its squares 625 times), so many more entries, those of rare characters first, moved
slower than in min-char-rnn, and clipping at 5 hardly ever bit. Following the mean's gradient
left the loss after 2000 steps of min-char-rnn's recipe 11% above min-char-rnn's on the English
text, 4.5% on the brackets and at 0.61 nats against 0.04 on the periodic text (means of five
seeds, benchmarks/min_char_rnn_parity.py). Put in the units of the mean loss, the eps in use are
1e-8 / T^2 for Adagrad (under the root) and 1e-8 / T for Adam, and the clipping bound and
``clip_norm`` are T times the per-token gradient's. SGD's learning rate, not scale-free at all,
is per window too: lr 0.01 here is lr 0.25 on the mean at T = 25.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import asdict, replace

import numpy as np

from .config import TrainConfig
from .errors import RNNError
from .history import History
from .model import RNN
from .optim import clip_global_norm, flat_buffer, global_norm, make_optimizer
from .vocab import Vocab

GRADIENT_OF = "window sum"  # checkpoints record which loss the optimizer state was built on


def _nan_or_inf(x: float) -> str:
    return "not a number (NaN)" if np.isnan(x) else "infinite"


def text_digest(text: str) -> str:
    """A short fingerprint of a corpus, to know whether a resumed run reads the same text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class Trainer:
    """Runs training steps on one corpus; deterministic for a seed, resumable bit for bit."""

    def __init__(self, text: str, config: TrainConfig | None = None, model: RNN | None = None,
                 vocab: Vocab | None = None) -> None:
        self.config = config = config or TrainConfig()
        config.validate()
        if not text:
            raise RNNError("The corpus is empty.")
        self.vocab = vocab or Vocab.build(text, config.level, config.max_vocab)
        ids = self.vocab.encode(text)
        self.digest = text_digest(text)
        B, T = config.batch_size, config.seq_len
        n_val = int(len(ids) * config.val_fraction)
        self.train_ids = ids[: len(ids) - n_val]  # (N_train,)
        self.val_ids = ids[len(ids) - n_val :][: config.eval_tokens + 1]  # (N_val,)
        self.stream_len = len(self.train_ids) // B  # tokens per stream
        if self.stream_len < T + 1:
            need = B * (T + 1) / (1 - config.val_fraction)
            raise RNNError(
                f"The corpus is too short: {len(ids)} tokens, but {B} stream(s) of windows of "
                f"{T} need at least {int(np.ceil(need))}. Use more text, a shorter sequence "
                "length or a smaller batch size."
            )
        dtype = np.dtype(config.dtype)
        if model is None:
            model = RNN.create(self.vocab.size, config.hidden_size, config.seed, config.init_std,
                               dtype, config.activation)
        elif model.vocab_size != self.vocab.size:
            raise RNNError("The model and the vocabulary do not fit together.")
        elif model.activation != config.activation:
            raise RNNError(f"The model computes h = {model.activation}(a), but the settings ask "
                           f"for {config.activation}: a trained model keeps its activation.")
        # the parameters live in one buffer (the model's arrays are views of it), and so do their
        # gradients: clipping, the update and the last-good copy are then one call each per step
        self._flat, views = flat_buffer(model.copy(dtype).params())
        for k, v in views.items():
            np.copyto(v, getattr(model, k))
        self.model = RNN(**views, activation=model.activation)
        self.params = self.model.params()
        self._grad_flat, self._grads = flat_buffer(self.params)
        self.optimizer = make_optimizer(config.optimizer, self.params, config.lr, config.momentum)
        self.starts = np.arange(B) * self.stream_len  # (B,) first token of each stream
        self.window = np.arange(T + 1)  # (T+1,) offsets of one window
        self.pos = 0  # offset of the next window inside every stream
        self.h = np.zeros((B, self.model.hidden_size), dtype)  # (B, H) carried state
        self.steps = 0
        self.history = History()
        self.diverged: str | None = None  # why training stopped, once it has diverged
        self._seconds = 0.0
        self._t0: float | None = None  # start of the current train(); None outside it
        self._good_flat, self._good = flat_buffer(self.params)  # parameters of the last good step
        np.copyto(self._good_flat, self._flat)
        self._good_opt_flat, self._good_opt = {}, {}  # and the optimizer state that went with them
        for s in self.optimizer.flat:
            self._good_opt_flat[s], views = flat_buffer(self.params)
            self._good_opt.update({f"{s}.{k}": v for k, v in views.items()})

    @property
    def unk_rate(self) -> float:
        """Share of the training tokens that the vocabulary maps to <unk> (id 0)."""
        return float(np.mean(self.train_ids == 0)) if len(self.train_ids) else 0.0

    @property
    def tokens_per_step(self) -> int:
        return self.config.batch_size * self.config.seq_len

    def _next_window(self) -> tuple[np.ndarray, np.ndarray]:
        """The next (B, T) inputs and targets; at the end of the streams, wrap and reset h."""
        T = self.config.seq_len
        if self.pos + T + 1 > self.stream_len:
            self.pos = 0
            self.h[:] = 0.0
        chunk = self.train_ids[self.starts[:, None] + self.pos + self.window]  # (B, T+1)
        return chunk[:, :-1], chunk[:, 1:]

    def step(self) -> float | None:
        """One step of truncated BPTT; returns the loss, or None when training has diverged."""
        if self.diverged:
            return None
        if self._t0 is None:  # called on its own, not from train(): time it as one step
            return self.history.loss[-1] if self.train(1) else None
        cfg = self.config
        x, y = self._next_window()
        with np.errstate(all="ignore"):
            # gradients of the loss summed over the window (module docstring)
            loss, grads, h_last = self.model.loss_and_grads(x, y, self.h, grad_scale=cfg.seq_len)
            g, grads = self._grads_flat(grads)
            # per array: one vdot over all 24k float64 entries is threaded by OpenBLAS (measured
            # 278 us wall with the default threads on 2 busy cores, 7 us for five small ones)
            norm = global_norm(grads)
        if not (np.isfinite(loss) and np.isfinite(norm)) or (
                cfg.max_loss is not None and loss > cfg.max_loss):
            self._diverge(loss, norm)
            return None
        np.copyto(self._good_flat, self._flat)  # remember these parameters: they gave a finite loss
        for s, state in self.optimizer.flat.items():
            np.copyto(self._good_opt_flat[s], state)
        if cfg.clip is not None:  # element-wise, on all gradients at once
            np.clip(g, -cfg.clip, cfg.clip, out=g)
        if cfg.clip_norm is not None:  # the norm after element-wise clipping, if that changed it
            clip_global_norm(grads, cfg.clip_norm, norm if cfg.clip is None else global_norm(grads))
        with np.errstate(all="ignore"):
            self.optimizer.update_flat(self._flat, g)
        self.h = h_last
        self.pos += cfg.seq_len
        self.steps += 1
        self.history.append(self.steps, loss, norm, self._seconds + self._clock())
        if self.steps % cfg.eval_every == 0:
            self.evaluate()
        return loss

    def _grads_flat(self, grads: dict[str, np.ndarray]):
        """The gradients as one buffer laid out like the parameters', and its views by name.

        ``loss_and_grads`` returns views of one such buffer: then it is used as it is;
        anything else is copied into the trainer's own buffer.
        """
        g = grads["W_i"].base
        if (g is not None and g.shape == self._grad_flat.shape and g.dtype == self._flat.dtype
                and all(v.base is g for v in grads.values())):
            return g, grads
        for k, v in grads.items():
            np.copyto(self._grads[k], v)
        return self._grad_flat, self._grads

    def _clock(self) -> float:
        return time.perf_counter() - self._t0

    def _diverge(self, loss: float, norm: float) -> None:
        """Stop for good: restore the last parameters that gave a finite loss, and say why."""
        for k, p in self.params.items():
            np.copyto(p, self._good[k])
        self.optimizer.load_state_arrays(self._good_opt, max(self.optimizer.t - 1, 0))
        if not np.isfinite(loss):
            what = f"the loss became {_nan_or_inf(loss)}"
        elif not np.isfinite(norm):
            what = f"the gradient became {_nan_or_inf(norm)}"
        else:
            what = f"the loss reached {loss:.4g} nats, over the limit of {self.config.max_loss:.4g}"
        self.diverged = (
            f"Training diverged at step {self.steps + 1}: {what}. "
            f"The parameters of the last good step ({max(self.steps - 1, 0)}) were restored. "
            f"Try a smaller learning rate (now {self.config.lr:g}), gradient clipping, or a "
            "smaller initial weight scale."
        )

    def set_lr(self, lr: float) -> None:
        """Change the learning rate of a live run: the next step uses it."""
        self._set_live(lr=float(lr))
        self.optimizer.lr = self.config.lr

    def set_clip(self, clip: float | None) -> None:
        """Change (or turn off, None) the element-wise clipping bound of a live run."""
        self._set_live(clip=None if clip is None else float(clip))

    def set_max_loss(self, max_loss: float | None) -> None:
        """A finite loss above ``max_loss`` also counts as diverged (None: only NaN/inf do)."""
        self._set_live(max_loss=None if max_loss is None else float(max_loss))

    def _set_live(self, **changes) -> None:
        """Apply settings that need no new network, after checking them (RNNError if bad)."""
        replace(self.config, **changes).validate()
        for k, v in changes.items():
            setattr(self.config, k, v)

    def recover(self) -> None:
        """Go on after a divergence, from the restored parameters of the last good step.

        ``_diverge`` already put back the parameters and optimizer state and never advanced the
        data position or the carried state, so this continues the same run. SGD's velocity is
        zeroed: it holds steps scaled by the learning rate that blew up.
        """
        for v in self.optimizer.state.get("velocity", {}).values():  # v = mu v - lr g
            v.fill(0.0)
        self.diverged = None

    def train(self, steps: int, seconds: float | None = None,
            stop: Callable[[], bool] | None = None) -> int:
        """Run up to ``steps`` steps (fewer if ``seconds`` run out, training diverges, or
        ``stop()``, asked before each step, returns True)."""
        self._t0 = time.perf_counter()
        done = 0
        try:
            while done < steps and not self.diverged:
                if seconds is not None and done and self._clock() >= seconds:
                    break
                if stop is not None and stop():
                    break
                if self.step() is not None:
                    done += 1
        finally:
            self._seconds += self._clock()
            self._t0 = None
        return done

    def evaluate(self) -> float | None:
        """Validation loss over up to ``eval_tokens`` held-out tokens; None without a split.

        The held-out text is read as one stream from h = 0, as training reads its streams. (Cutting
        it into many streams, each started cold mid-text, measured something training never does:
        a model trained on one long stream scored 3.3 nats that way and 2.4 on the same text read
        through.)
        """
        v = self.val_ids
        if len(v) < 2:
            return None
        with np.errstate(all="ignore"):
            loss = self.model.loss(v[:-1], v[1:])
        self.history.append_val(self.steps, loss)
        return loss

    # -- checkpoints -------------------------------------------------------------------------

    def meta(self) -> dict:
        """What a checkpoint records of this run (JSON-serialisable)."""
        return {
            "config": asdict(self.config),
            "history": self.history.to_dict(),
            "trainer": {"steps": self.steps, "pos": self.pos, "optimizer_t": self.optimizer.t,
                        "corpus_digest": self.digest, "seconds": self._seconds,
                        "gradient_of": GRADIENT_OF},
        }

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Arrays beyond the model that resuming needs: optimizer slots and the carried state."""
        arrays = {f"opt.{k}": v for k, v in self.optimizer.state_arrays().items()}
        arrays["state.h"] = self.h
        return arrays

    def save(self, path, **extra_meta) -> None:
        """Write a checkpoint that ``Trainer.resume`` continues bit for bit."""
        from .checkpoint import save_checkpoint

        save_checkpoint(path, self.model, self.vocab, arrays=self.state_arrays(),
                        **self.meta(), **extra_meta)

    @classmethod
    def resume(cls, source, text: str, config: TrainConfig | None = None) -> Trainer:
        """Continue a run from a checkpoint. On the same corpus and config it continues exactly
        where it stopped; otherwise it starts a fresh pass over ``text`` with the saved weights."""
        from .checkpoint import load_checkpoint

        model, vocab, meta, arrays = load_checkpoint(source, with_arrays=True)
        saved = TrainConfig.from_dict(meta.get("config", {}))
        cfg = config or saved
        trainer = cls(text, cfg, model=model, vocab=vocab)
        tr = meta.get("trainer", {})
        trainer.history = History.from_dict(meta.get("history", {}))
        trainer.steps = int(tr.get("steps", len(trainer.history.step)))
        trainer._seconds = float(tr.get("seconds", 0.0))
        same = tr.get("corpus_digest") == trainer.digest and asdict(cfg) == asdict(saved)
        opt = {k[4:]: v for k, v in arrays.items() if k.startswith("opt.")}
        h = arrays.get("state.h")
        if same and h is not None and h.shape == trainer.h.shape:
            trainer.optimizer.load_state_arrays(opt, int(tr.get("optimizer_t", 0)))
            if tr.get("gradient_of") != GRADIENT_OF:  # saved when it followed the mean's gradient
                trainer.optimizer.rescale_gradients(cfg.seq_len)
            trainer.pos = int(tr.get("pos", 0))
            trainer.h = h.astype(trainer.h.dtype)
            for k, v in trainer.optimizer.state_arrays().items():
                np.copyto(trainer._good_opt[k], v)
        return trainer
