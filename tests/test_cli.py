"""Command line: train and sample end to end, and one-line errors for bad arguments or files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rnn import checkpoint_bytes, load_checkpoint, load_corpus
from rnn.cli import main

REPO_ROOT = Path(__file__).resolve().parents[1]
TEXT = load_corpus("english")[:5000]
TRAIN = ["--hidden", "16", "--seq-len", "10", "--batch-size", "2", "--eval-every", "10"]


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """``python -m rnn ...`` in a fresh interpreter, from the repository root."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run([sys.executable, "-m", "rnn", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def strict_json(line: str) -> dict:
    """Parse JSON that must not contain NaN or Infinity (not valid JSON)."""
    def refuse(name):
        raise ValueError(f"{name} is not valid JSON")
    return json.loads(line, parse_constant=refuse)


def assert_one_line_error(stderr: str) -> None:
    assert "Traceback" not in stderr
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert lines, "no error message"
    assert "error: " in lines[-1]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path, subprocess.CompletedProcess]:
    """One real `python -m rnn train` run shared by the tests that read its output."""
    d = tmp_path_factory.mktemp("cli")
    corpus = d / "corpus.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    out = d / "model.npz"
    proc = run_cli("train", str(corpus), "--steps", "20", "--json", "--out", str(out), *TRAIN)
    return corpus, out, proc


# -- end to end (subprocess) -------------------------------------------------------------------


def test_train_json(trained):
    _, out, proc = trained
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1  # --json: the figures line and nothing else on stdout
    figures = strict_json(lines[-1])
    for key in ("steps", "chars", "seconds", "chars_per_s", "loss_last100"):
        assert key in figures, key
    assert figures["steps"] == 20
    assert figures["chars"] == 20 * 2 * 10
    assert figures["seconds"] > 0 and figures["chars_per_s"] > 0
    assert figures["chars_per_s"] == pytest.approx(figures["chars"] / figures["seconds"], rel=0.01)
    assert 0 < figures["loss_last100"] < 6
    assert figures["diverged"] is None
    model, vocab, meta = load_checkpoint(out)
    assert model.hidden_size == 16 and vocab.size == len(set(TEXT)) + 1
    assert meta["trainer"]["steps"] == 20
    assert meta["history"]["loss"][-1] == pytest.approx(np.mean(meta["history"]["loss"][-1:]))


def test_sample_prints(trained):
    _, out, _ = trained
    proc = run_cli("sample", str(out), "--prime", "The ", "-n", "50", "--temperature", "0.8")
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert text.endswith("\n")
    text = text[:-1]
    assert text.startswith("The ") and len(text) == 4 + 50
    again = run_cli("sample", str(out), "--prime", "The ", "-n", "50", "--temperature", "0.8")
    assert again.stdout == proc.stdout  # seeded: the same text
    other = run_cli("sample", str(out), "--prime", "The ", "-n", "50", "--seed", "1")
    assert other.stdout != proc.stdout


def test_bad_file_via_subprocess(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    proc = run_cli("sample", str(bad))
    assert proc.returncode != 0 and proc.stdout == ""
    assert_one_line_error(proc.stderr)
    assert proc.stderr.strip().splitlines()[-1].startswith("error: ")


def test_bad_argument_via_subprocess():
    proc = run_cli("train", "x.txt", "--steps", "many")
    assert proc.returncode != 0
    assert_one_line_error(proc.stderr)


# -- in process (rnn.cli.main) -----------------------------------------------------------------


def call(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as e:  # argparse's own errors
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def corpus(tmp_path) -> Path:
    p = tmp_path / "c.txt"
    p.write_text(TEXT, encoding="utf-8")
    return p


def test_train_human_output_and_greedy_sample(capsys, corpus, tmp_path):
    out = tmp_path / "m.npz"
    code, stdout, stderr = call(capsys, "train", str(corpus), "--steps", "12", "--out", str(out),
                                *TRAIN)
    assert code == 0 and "saved" in stdout and "nats per character" in stdout
    assert "vocabulary" in stderr  # progress on stderr
    code, a, _ = call(capsys, "sample", str(out), "--greedy", "-n", "30", "--seed", "1")
    code2, b, _ = call(capsys, "sample", str(out), "--greedy", "-n", "30", "--seed", "2")
    assert code == code2 == 0 and a == b and len(a) == 31


@pytest.mark.parametrize("steps", ["0", "1"])
def test_train_json_is_strict_json_for_few_steps(capsys, corpus, tmp_path, steps):
    code, stdout, _ = call(capsys, "train", str(corpus), "--steps", steps, "--json", "--out",
                           str(tmp_path / "m.npz"), *TRAIN)
    assert code == 0
    figures = strict_json(stdout.strip().splitlines()[-1])
    assert figures["steps"] == int(steps)


@pytest.mark.parametrize("flag", ["--clip", "--clip-norm"])
def test_clip_flags(capsys, corpus, tmp_path, flag):
    out = tmp_path / "m.npz"
    code, _, _ = call(capsys, "train", str(corpus), "--steps", "3", "--quiet", flag, "0.5",
                      "--out", str(out), *TRAIN)
    assert code == 0
    cfg = load_checkpoint(out)[2]["config"]
    if flag == "--clip":
        assert cfg["clip"] == 0.5 and cfg["clip_norm"] is None
    else:
        assert cfg["clip_norm"] == 0.5 and cfg["clip"] is None


def test_word_level_and_adam(capsys, corpus, tmp_path):
    out = tmp_path / "m.npz"
    code, stdout, _ = call(capsys, "train", str(corpus), "--steps", "3", "--json", "--level",
                           "word", "--optimizer", "adam", "--lr", "0.01", "--out", str(out),
                           *TRAIN)
    assert code == 0 and strict_json(stdout.strip())["steps"] == 3
    assert load_checkpoint(out)[1].level == "word"


@pytest.mark.parametrize("g", ["relu", "sigmoid", "identity"])
def test_activation_and_vocabulary_cap(capsys, corpus, tmp_path, g):
    out = tmp_path / "m.npz"
    code, stdout, _ = call(capsys, "train", str(corpus), "--steps", "3", "--json", "--level",
                           "word", "--max-vocab", "20", "--activation", g, "--optimizer", "adam",
                           "--lr", "0.01", "--out", str(out), *TRAIN)
    assert code == 0 and strict_json(stdout.strip())["steps"] == 3
    model, vocab, meta = load_checkpoint(out)
    assert model.activation == meta["config"]["activation"] == g and vocab.size == 20


def test_divergence_exits_nonzero(capsys, corpus, tmp_path):
    code, _, stderr = call(capsys, "train", str(corpus), "--steps", "50", "--optimizer", "sgd",
                           "--lr", "1e307", "--clip-norm", "1e308", "--quiet",
                           "--out", str(tmp_path / "m.npz"), *TRAIN)
    assert code == 1
    assert "diverged" in stderr and "Traceback" not in stderr


@pytest.mark.parametrize("args", [
    ["--hidden", "0"], ["--hidden", "100000"], ["--seq-len", "0"], ["--batch-size", "-1"],
    ["--lr", "-1"], ["--lr", "nan"], ["--lr", "inf"], ["--momentum", "1.5"], ["--clip", "0"],
    ["--clip-norm", "-2"], ["--init-std", "-1"], ["--val-fraction", "2"], ["--eval-every", "0"],
    ["--steps", "-5"], ["--seq-len", "5000"],  # longer than the corpus
    ["--max-vocab", "1"],
])
def test_train_bad_values(capsys, corpus, tmp_path, args):
    code, stdout, stderr = call(capsys, "train", str(corpus), "--out", str(tmp_path / "m.npz"),
                                *args)
    assert code == 2 and stdout == ""
    assert_one_line_error(stderr)
    assert stderr.startswith("error: ") and stderr.count("\n") == 1
    assert not (tmp_path / "m.npz").exists()


@pytest.mark.parametrize("args", [
    [], ["train"], ["fly"], ["train", "c.txt", "--steps", "x"], ["train", "c.txt", "--bogus"],
    ["train", "c.txt", "--optimizer", "rmsprop"], ["train", "c.txt", "--clip", "1",
                                                   "--clip-norm", "1"],
    ["train", "c.txt", "--activation", "softplus"], ["import", "m.safetensors"],
    ["sample"], ["sample", "m.npz", "-n", "lots"],
])
def test_argparse_errors(capsys, args):
    code, _, stderr = call(capsys, *args)
    assert code == 2
    assert_one_line_error(stderr)


def _bad_files(tmp_path: Path) -> dict[str, Path]:
    files = {}
    files["missing"] = tmp_path / "nope.txt"
    files["directory"] = tmp_path
    p = tmp_path / "latin1.txt"
    p.write_bytes("caf\xe9 ".encode("latin-1") * 100)
    files["not-utf8"] = p
    p = tmp_path / "empty.txt"
    p.write_text("")
    files["empty"] = p
    p = tmp_path / "short.txt"
    p.write_text("hi")
    files["too-short"] = p
    return files


@pytest.mark.parametrize("which", ["missing", "directory", "not-utf8", "empty", "too-short"])
def test_train_bad_corpus_files(capsys, tmp_path, which):
    path = _bad_files(tmp_path)[which]
    code, stdout, stderr = call(capsys, "train", str(path), "--out", str(tmp_path / "m.npz"))
    assert code == 2 and stdout == ""
    assert stderr.startswith("error: ") and stderr.count("\n") == 1
    assert "Traceback" not in stderr


def test_train_unwritable_out(capsys, corpus, tmp_path):
    code, _, stderr = call(capsys, "train", str(corpus), "--steps", "1", "--quiet", "--out",
                           str(tmp_path / "no" / "such" / "dir" / "m.npz"), *TRAIN)
    assert code == 2
    assert stderr.strip().splitlines()[-1].startswith("error: ")
    assert "Traceback" not in stderr


@pytest.fixture
def model_file(tmp_path) -> Path:
    from rnn import RNN, Vocab

    vocab = Vocab.build(TEXT)
    p = tmp_path / "m.npz"
    p.write_bytes(checkpoint_bytes(RNN.create(vocab.size, 8, init_std=0.5), vocab))
    return p


@pytest.mark.parametrize("kind", ["missing", "text", "truncated", "npy", "directory"])
def test_sample_bad_files(capsys, tmp_path, model_file, kind):
    data = model_file.read_bytes()
    bad = tmp_path / "bad.npz"
    if kind == "text":
        bad.write_text("hello")
    elif kind == "truncated":
        bad.write_bytes(data[: len(data) // 2])
    elif kind == "npy":
        np.save(bad, np.zeros(3))
    elif kind == "directory":
        bad = tmp_path
    code, stdout, stderr = call(capsys, "sample", str(bad))
    assert code == 2 and stdout == ""
    assert stderr.startswith("error: ") and stderr.count("\n") == 1


@pytest.mark.parametrize("args", [["-n", "-1"], ["-n", "200000"], ["--temperature", "-1"],
                                  ["--temperature", "nan"], ["--top-k", "0"]])
def test_sample_bad_values(capsys, model_file, args):
    code, stdout, stderr = call(capsys, "sample", str(model_file), *args)
    assert code == 2 and stdout == ""
    assert stderr.startswith("error: ") and stderr.count("\n") == 1


def test_sample_with_unknown_prime_characters(capsys, model_file):
    code, stdout, _ = call(capsys, "sample", str(model_file), "--prime", "\u263a\u263a", "-n", "5")
    assert code == 0 and stdout.startswith("\u263a\u263a") and len(stdout.rstrip("\n")) == 7


@pytest.mark.parametrize("data, words", [
    (b"x" * 101, "the limit is"), (b"ab\x00cd" * 10, "binary"),
    ("caf\xe9 ".encode("latin-1") * 10, "not UTF-8"),
])
def test_train_reads_its_corpus_like_the_app(capsys, tmp_path, monkeypatch, data, words):
    """One reader for a user's text file: the app's upload messages, here naming the path."""
    monkeypatch.setattr("rnn.cli.MAX_CORPUS_BYTES", 100)
    path = tmp_path / "c.txt"
    path.write_bytes(data)
    code, stdout, stderr = call(capsys, "train", str(path), "--out", str(tmp_path / "m.npz"))
    assert code == 2 and stdout == "" and words in stderr and f"'{path}'" in stderr
    assert stderr.startswith("error: ") and stderr.count("\n") == 1
