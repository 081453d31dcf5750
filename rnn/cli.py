"""Command line: ``python -m rnn train CORPUS.txt ...``, ``python -m rnn sample MODEL.npz``, and the
PyTorch bridge ``python -m rnn import MODEL.safetensors -o OUT.npz`` / ``export MODEL.npz OUT``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

from .activation import ACTIVATIONS
from .checkpoint import load_checkpoint, save_checkpoint
from .config import DTYPES, TrainConfig
from .errors import RNNError
from .optim import OPTIMIZERS
from .pytorch import export_pytorch, import_pytorch
from .sample import sample
from .textfile import text_from_bytes
from .train import Trainer
from .vocab import LEVELS, UNIT_NAMES

MAX_CORPUS_BYTES = 50 * 10**6


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m rnn", description="Train and sample char-RNNs.")
    sub = p.add_subparsers(dest="command", required=True)
    d = TrainConfig()
    t = sub.add_parser("train", help="train a model on a text file")
    t.add_argument("corpus", help="a UTF-8 text file")
    t.add_argument("--hidden", type=int, default=d.hidden_size, help="hidden neurons H")
    t.add_argument("--seq-len", type=int, default=d.seq_len, help="window length T (BPTT)")
    t.add_argument("--batch-size", type=int, default=d.batch_size, help="parallel streams B")
    t.add_argument("--optimizer", choices=OPTIMIZERS, default=d.optimizer)
    t.add_argument("--lr", type=float, default=d.lr, help="learning rate")
    t.add_argument("--momentum", type=float, default=d.momentum, help="SGD momentum")
    clip = t.add_mutually_exclusive_group()
    clip.add_argument("--clip", type=float, default=None,
                      help=f"element-wise gradient clipping (default {d.clip:g})")
    clip.add_argument("--clip-norm", type=float, default=None, help="global-norm gradient clipping")
    t.add_argument("--init-std", type=float, default=d.init_std, help="std of initial weights")
    t.add_argument("--steps", type=int, default=1000, help="training steps")
    t.add_argument("--seed", type=int, default=d.seed)
    t.add_argument("--level", choices=LEVELS, default=d.level, help="token level")
    t.add_argument("--max-vocab", type=int, default=d.max_vocab,
                   help="keep the most frequent tokens, the rest become <unk> (default: all)")
    t.add_argument("--activation", choices=tuple(ACTIVATIONS), default=d.activation,
                   help="g in h_t = g(a_t)")
    t.add_argument("--dtype", choices=DTYPES, default=d.dtype)
    t.add_argument("--val-fraction", type=float, default=d.val_fraction)
    t.add_argument("--eval-every", type=int, default=d.eval_every)
    t.add_argument("--out", default="model.npz", help="checkpoint to write")
    t.add_argument("--json", action="store_true", help="end with one JSON line of figures")
    t.add_argument("--threads", type=int, default=1,
                   help="BLAS threads (default 1: fastest for these small matrices)")
    t.add_argument("--quiet", action="store_true", help="no progress display")
    s = sub.add_parser("sample", help="print a sample from a checkpoint")
    s.add_argument("model", help="a checkpoint .npz")
    s.add_argument("--prime", default="", help="text to start from")
    s.add_argument("-n", type=int, default=200, help="tokens to generate")
    s.add_argument("--temperature", type=float, default=1.0)
    s.add_argument("--top-k", type=int, default=None)
    s.add_argument("--greedy", action="store_true")
    s.add_argument("--seed", type=int, default=0)
    i = sub.add_parser("import", help="a PyTorch nn.RNN + nn.Linear (.safetensors) to a checkpoint")
    i.add_argument("model", help="a .safetensors file with PyTorch's names (weight_ih_l0, ...)")
    i.add_argument("--vocab", help="a JSON list of the tokens (default: the file's metadata)")
    i.add_argument("--level", choices=("char", "word"), default=None,
                   help="token level (default: the metadata's, else guessed from the tokens)")
    i.add_argument("-o", "--out", required=True, help="checkpoint .npz to write")
    e = sub.add_parser("export", help="a checkpoint to a PyTorch nn.RNN + nn.Linear .safetensors")
    e.add_argument("model", help="a checkpoint .npz")
    e.add_argument("out", help=".safetensors file to write")
    return p


def _read_corpus(path: str) -> str:
    p = Path(path)
    if not p.is_file():
        raise RNNError(f"No file at '{path}'.")
    with p.open("rb") as f:
        data = f.read(MAX_CORPUS_BYTES + 1)  # one byte more tells an oversized file
    return text_from_bytes(data, MAX_CORPUS_BYTES, f"'{path}'")


def _out_path(out: str) -> Path:
    """Where the checkpoint will really be written (NumPy adds .npz), checked before training."""
    path = Path(out if out.endswith(".npz") else out + ".npz")
    if not path.parent.is_dir():
        raise RNNError(f"--out: there is no folder '{path.parent}' to write '{path.name}' into.")
    if path.is_dir():
        raise RNNError(f"--out: '{path}' is a folder.")
    return path


def train(args) -> dict:
    if args.threads < 1:
        raise RNNError("--threads must be at least 1.")
    # Small GEMMs run fastest on one thread; batch-32 training was ~10x slower on OpenBLAS's
    # default threads on a busy 2-core machine (benchmarks/README.md).
    threadpool_limits(limits=args.threads, user_api="blas")
    clip = args.clip if args.clip is not None else (None if args.clip_norm else TrainConfig.clip)
    cfg = TrainConfig(
        hidden_size=args.hidden, seq_len=args.seq_len, batch_size=args.batch_size,
        optimizer=args.optimizer, lr=args.lr, momentum=args.momentum, clip=clip,
        clip_norm=args.clip_norm, init_std=args.init_std, seed=args.seed, level=args.level,
        dtype=args.dtype, val_fraction=args.val_fraction, eval_every=args.eval_every,
        max_vocab=args.max_vocab, activation=args.activation,
    )
    if args.steps < 0:
        raise RNNError("--steps must be >= 0.")
    out = _out_path(args.out)
    trainer = Trainer(_read_corpus(args.corpus), cfg)
    progress = not args.quiet and not args.json
    if progress:
        print(f"corpus {len(trainer.train_ids)} train / {len(trainer.val_ids)} validation tokens, "
              f"vocabulary {trainer.vocab.size}, {cfg.hidden_size} hidden neurons", file=sys.stderr)
    t0 = time.perf_counter()
    done = 0
    chunk = max(1, min(100, args.steps // 20 or 1))
    while done < args.steps and not trainer.diverged:
        done += trainer.train(min(chunk, args.steps - done))
        if progress:
            h = trainer.history
            val = f"  val {h.val_loss[-1]:.3f}" if h.val_loss else ""
            print(f"\rstep {trainer.steps:>7}  loss {h.loss_last(100):.3f}{val}  "
                  f"{h.chars_per_s(trainer.tokens_per_step):>9.0f} chars/s", end="",
                  file=sys.stderr, flush=True)
    seconds = time.perf_counter() - t0
    if progress:
        print(file=sys.stderr)
    if trainer.diverged:
        print(trainer.diverged, file=sys.stderr)
    trainer.save(out)
    chars = trainer.steps * trainer.tokens_per_step
    return {
        "steps": trainer.steps, "chars": chars, "seconds": round(seconds, 4),
        "chars_per_s": round(chars / seconds, 1) if seconds > 0 else None,
        "loss_last100": trainer.history.loss_last(100),
        "val_loss": trainer.history.val_loss[-1] if trainer.history.val_loss else None,
        "diverged": trainer.diverged, "out": str(out),
    }


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "train":
            figures = train(args)
            if args.json:
                # a NaN (no steps run) is not valid JSON: write null instead (v != v only for NaN)
                print(json.dumps({k: None if v != v else v for k, v in figures.items()}))
            else:
                print(f"saved {figures['out']}  (loss {figures['loss_last100']:.3f} nats per "
                      f"{UNIT_NAMES[args.level]})")
            return 1 if figures["diverged"] else 0
        if args.command == "import":
            vocab = _read_corpus(args.vocab) if args.vocab else None  # JSON text
            model, vocab, meta = import_pytorch(args.model, vocab, args.level)
            save_checkpoint(args.out, model, vocab, **meta)
            print(f"saved {args.out}  ({meta['note']}; vocabulary {vocab.size}, "
                  f"<unk> {meta['unk']})")
            return 0
        if args.command == "export":
            model, vocab, _ = load_checkpoint(args.model)
            export_pytorch(args.out, model, vocab)
            print(f"saved {args.out}  (nn.RNN {model.activation}, H={model.hidden_size}, "
                  f"V={model.vocab_size})")
            return 0
        model, vocab, _ = load_checkpoint(args.model)
        print(args.prime + sample(model, vocab, args.prime, args.n, args.temperature, args.top_k,
                                  args.greedy, args.seed))
        return 0
    except (RNNError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
