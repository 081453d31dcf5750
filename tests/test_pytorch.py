"""The PyTorch bridge: our model against torch.nn.RNN, export and import both ways, and every
refused import with its message.

torch is a test-only dependency (requirements-dev.txt pins a CPU build). Without it the tests that
need it are skipped with the reason, except under CI=true, where they fail. The refusals and the
round trip through our own files need no torch.
"""

from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pytest

from rnn import RNN, CheckpointError, Vocab, load_checkpoint
from rnn.cli import main
from rnn.pytorch import UNK_LOGIT, export_pytorch, import_pytorch, pytorch_bytes
from rnn.safetensors import read_safetensors, safetensors_bytes

TORCH_TOL = 1e-9  # float64, ours against torch.nn.RNN
NONLINEARITIES = ("tanh", "relu")


@pytest.fixture(scope="module")
def torch():
    try:
        import torch
    except ImportError as e:
        why = (f"torch is not installed ({e}); it is a test-only dependency: "
               "python -m pip install -r requirements-dev.txt (torch==2.13.0, a CPU build)")
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(why + " and is required under CI=true", pytrace=False)
        pytest.skip(why)
    torch.set_num_threads(1)
    return torch


def torch_module(torch, V: int, H: int, nonlinearity: str, dtype, batch_first: bool = True,
                 names=("rnn", "fc")):
    """The README's PyTorch model: an nn.RNN over one-hot inputs and an output nn.Linear."""

    class CharRNN(torch.nn.Module):
        def __init__(self):
            super().__init__()
            setattr(self, names[0], torch.nn.RNN(V, H, nonlinearity=nonlinearity,
                                                 batch_first=batch_first))
            setattr(self, names[1], torch.nn.Linear(H, V))

        def forward(self, ids, h0=None):  # ids (B, T) or (T, B) as batch_first says
            x = torch.nn.functional.one_hot(ids, V).to(dtype)  # one-hot x_t
            hs, h_last = getattr(self, names[0])(x, h0)
            return getattr(self, names[1])(hs), hs, h_last  # logits y_t, h_t, h_T

    return CharRNN().to(dtype)


def case(V=7, H=5, g="tanh", seed=0, std=0.5, dtype=np.float64):
    """A model with random weights and biases: b_h is split at random into two PyTorch biases."""
    rng = np.random.default_rng(seed)
    model = RNN.create(V, H, seed=seed, init_std=std, activation=g, dtype=dtype)
    b_ih = rng.normal(0, 0.3, H)
    b_hh = rng.normal(0, 0.3, H)
    model.b_h[:] = b_ih + b_hh
    model.b_o[:] = rng.normal(0, 0.3, V)
    return model, b_ih.astype(dtype), b_hh.astype(dtype), rng


def load_into(torch, module, model: RNN, b_ih, b_hh, names=("rnn", "fc")):
    rnn, fc = getattr(module, names[0]), getattr(module, names[1])
    with torch.no_grad():
        for p, v in [(rnn.weight_ih_l0, model.W_i), (rnn.weight_hh_l0, model.W_h),
                     (rnn.bias_ih_l0, b_ih), (rnn.bias_hh_l0, b_hh), (fc.weight, model.W_o),
                     (fc.bias, model.b_o)]:
            p.copy_(torch.from_numpy(np.asarray(v)))


# -- our forward, loss and gradients against torch.nn.RNN (float64) ---------------------------


@pytest.mark.parametrize("g", NONLINEARITIES)
@pytest.mark.parametrize("B", [None, 3])
@pytest.mark.parametrize("seed", [0, 1])
def test_forward_loss_and_gradients_match_torch(torch, g, B, seed):
    V, H, T = 7, 5, 9
    model, b_ih, b_hh, rng = case(V, H, g, seed)
    shape = (T,) if B is None else (B, T)
    ids, targets = rng.integers(0, V, shape), rng.integers(0, V, shape)
    h0 = rng.uniform(-0.5, 0.5, (H,) if B is None else (B, H))
    module = torch_module(torch, V, H, g, torch.float64)
    load_into(torch, module, model, b_ih, b_hh)

    ids_b = torch.from_numpy(np.atleast_2d(ids))  # (B, T)
    h0_t = torch.from_numpy(np.atleast_2d(h0)[None].copy()).requires_grad_(True)  # (1, B, H)
    logits, hs, h_last = module(ids_b, h0_t)
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V),
                                             torch.from_numpy(np.atleast_2d(targets)).reshape(-1))
    loss.backward()

    tr = model.forward(ids, h0)
    squeeze = (lambda x: x[0]) if B is None else (lambda x: x)
    np.testing.assert_allclose(tr.h, squeeze(hs.detach().numpy()), rtol=0, atol=TORCH_TOL)
    np.testing.assert_allclose(tr.logits, squeeze(logits.detach().numpy()), rtol=0,
                               atol=TORCH_TOL)
    bw = model.backward_full(ids, targets, h0)
    assert bw.loss == pytest.approx(loss.item(), abs=TORCH_TOL)
    rnn, fc = module.rnn, module.fc
    want = {"W_i": rnn.weight_ih_l0.grad, "W_h": rnn.weight_hh_l0.grad,
            "b_h": rnn.bias_ih_l0.grad, "W_o": fc.weight.grad, "b_o": fc.bias.grad}
    for k, v in want.items():
        np.testing.assert_allclose(bw.grads[k], v.numpy(), rtol=0, atol=TORCH_TOL, err_msg=k)
    # both PyTorch biases get the gradient of their sum b_h
    np.testing.assert_allclose(rnn.bias_hh_l0.grad.numpy(), bw.grads["b_h"], rtol=0,
                               atol=TORCH_TOL)
    np.testing.assert_allclose(bw.dh0, squeeze(h0_t.grad.numpy()[0]), rtol=0, atol=TORCH_TOL)
    if g == "relu":
        assert (tr.h == 0).any() and (tr.h > 0).any()  # both sides of the kink were exercised


# -- export: our file into torch.nn.RNN ---------------------------------------------------------


def state_dict_of(torch, data: bytes) -> dict:
    """What a PyTorch user does with the file: the safetensors package, else our reader."""
    try:
        from safetensors.torch import load
    except ImportError:
        return {k: torch.from_numpy(v) for k, v in read_safetensors(data)[0].items()}
    return load(data)


@pytest.mark.parametrize("g", NONLINEARITIES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("batch_first", [True, False])
def test_exported_model_gives_the_same_logits_in_torch(torch, tmp_path, g, dtype, batch_first):
    vocab = Vocab.build("hello there, world")
    model, *_ = case(vocab.size, 6, g, seed=3, dtype=dtype)
    export_pytorch(tmp_path / "m.safetensors", model, vocab)
    data = (tmp_path / "m.safetensors").read_bytes()
    meta = read_safetensors(data)[1]
    assert json.loads(meta["vocab"]) == list(vocab.tokens)
    assert meta["nonlinearity"] == g and int(meta["hidden_size"]) == 6

    tdtype = {np.float64: torch.float64, np.float32: torch.float32}[dtype]
    module = torch_module(torch, vocab.size, int(meta["hidden_size"]), meta["nonlinearity"],
                          tdtype, batch_first)
    module.load_state_dict(state_dict_of(torch, data))  # strict: every name fits
    ids = vocab.encode("hello world")
    x = torch.from_numpy(ids[None] if batch_first else ids[:, None])
    with torch.no_grad():
        logits = module(x)[0].numpy()
    logits = logits[0] if batch_first else logits[:, 0]
    tol = TORCH_TOL if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(logits, model.forward(ids).logits, rtol=0, atol=tol)


# -- import: torch.nn.RNN's file into our model -------------------------------------------------


def save_torch(torch, module, metadata: dict | None) -> bytes:
    from safetensors.torch import save

    return save({k: v.contiguous() for k, v in module.state_dict().items()}, metadata=metadata)


@pytest.mark.parametrize("g", NONLINEARITIES)
@pytest.mark.parametrize("names", [("rnn", "fc"), ("encoder", "linear"), ("rnn", "out")])
def test_torch_model_imports_with_the_same_logits(torch, g, names):
    pytest.importorskip("safetensors.torch", reason="the safetensors package is not installed")
    vocab = Vocab.build("the cat sat on the mat", "word")
    V, H = vocab.size, 8
    with torch.random.fork_rng():
        torch.manual_seed(0)
        module = torch_module(torch, V, H, g, torch.float64, names=names)
    data = save_torch(torch, module, {"vocab": json.dumps(list(vocab.tokens)),
                                      "nonlinearity": g, "batch_first": "True"})
    model, back_vocab, meta = import_pytorch(data)
    assert model.activation == g and back_vocab == vocab and back_vocab.level == "word"
    assert meta["unk"] == "kept"
    ids = vocab.encode("the mat sat on the cat")
    with torch.no_grad():
        want = module(torch.from_numpy(ids[None]))[0][0].numpy()
    np.testing.assert_allclose(model.forward(ids).logits, want, rtol=0, atol=TORCH_TOL)
    rnn = getattr(module, names[0])
    np.testing.assert_allclose(model.b_h, (rnn.bias_ih_l0 + rnn.bias_hh_l0).detach().numpy(),
                               rtol=0, atol=1e-15)


def test_float32_torch_model_without_unk_and_bare_names(torch):
    """A Karpathy-style vocabulary (sorted characters, no <unk>) and an RNN saved on its own:
    an <unk> is added at id 0 with zero weights, the other tokens' probabilities are unchanged."""
    pytest.importorskip("safetensors.torch", reason="the safetensors package is not installed")
    chars = sorted(set("hello world"))
    V, H = len(chars), 6
    with torch.random.fork_rng():
        torch.manual_seed(1)
        module = torch_module(torch, V, H, "tanh", torch.float32)
    state = {k.split(".", 1)[1] if k.startswith("rnn.") else k: v
             for k, v in module.state_dict().items()}  # weight_ih_l0 ..., fc.weight, fc.bias
    from safetensors.torch import save

    model, vocab, meta = import_pytorch(save(state), vocab=json.dumps(chars))
    assert meta["unk"] == "added" and vocab.tokens == ("<unk>", *chars) and vocab.level == "char"
    assert model.dtype == np.float32 and model.vocab_size == V + 1
    ids = np.array([chars.index(c) for c in "hello"])
    with torch.no_grad():
        logits = module(torch.from_numpy(ids[None]))[0][0]
        want_p = torch.softmax(logits, -1).numpy()
    tr = model.forward(ids + 1)  # our ids are shifted by the added <unk>
    np.testing.assert_allclose(tr.logits[:, 1:], logits.numpy(), rtol=0, atol=1e-5)
    np.testing.assert_allclose(tr.probs[:, 1:], want_p, rtol=1e-5, atol=1e-7)
    assert tr.probs[:, 0].max() < np.exp(-UNK_LOGIT + 30)


@pytest.mark.parametrize("g", NONLINEARITIES)
def test_torch_model_with_an_embedding_imports_with_the_same_logits(torch, g):
    """nn.Embedding(V, E) -> nn.RNN(E, H) -> nn.Linear: the embedding folds into W_i."""
    pytest.importorskip("safetensors.torch", reason="the safetensors package is not installed")
    from safetensors.torch import save

    vocab = Vocab.build("a tiny text to read")
    V, E, H = vocab.size, 4, 6
    with torch.random.fork_rng():
        torch.manual_seed(2)
        emb = torch.nn.Embedding(V, E).double()
        rnn = torch.nn.RNN(E, H, nonlinearity=g, batch_first=True).double()
        fc = torch.nn.Linear(H, V).double()
    state = {**{f"embedding.{k}": v for k, v in emb.state_dict().items()},
             **{f"rnn.{k}": v for k, v in rnn.state_dict().items()},
             **{f"fc.{k}": v for k, v in fc.state_dict().items()}}
    model, _, _ = import_pytorch(save(state, metadata={"vocab": json.dumps(list(vocab.tokens)),
                                                       "nonlinearity": g}))
    ids = vocab.encode("a tiny read")
    with torch.no_grad():
        hs, _ = rnn(emb(torch.from_numpy(ids[None])))
        want = fc(hs)[0].numpy()
    assert model.W_i.shape == (H, V)
    np.testing.assert_allclose(model.forward(ids).logits, want, rtol=0, atol=TORCH_TOL)


# -- round trips without torch ------------------------------------------------------------------


@pytest.mark.parametrize("g", NONLINEARITIES)
def test_export_then_import_is_the_same_model(g):
    vocab = Vocab.build("abc abd", "char")
    model, *_ = case(vocab.size, 4, g, seed=5)
    back, back_vocab, meta = import_pytorch(pytorch_bytes(model, vocab))
    assert back_vocab == vocab and back.activation == g and meta["unk"] == "kept"
    for k, v in model.params().items():
        np.testing.assert_array_equal(back.params()[k], v)


def test_unk_elsewhere_is_moved_to_id_0_with_its_rows():
    vocab = Vocab.build("abcab")
    model, *_ = case(vocab.size, 4, seed=2)
    tensors = {"weight_ih_l0": model.W_i[:, [1, 2, 0, 3]], "weight_hh_l0": model.W_h,
               "bias_ih_l0": model.b_h, "bias_hh_l0": np.zeros(4),
               "fc.weight": model.W_o[[1, 2, 0, 3]], "fc.bias": model.b_o[[1, 2, 0, 3]]}
    tokens = [vocab.tokens[i] for i in (1, 2, 0, 3)]
    back, back_vocab, meta = import_pytorch(safetensors_bytes(tensors), vocab=tokens)
    assert meta["unk"] == "moved" and back_vocab == vocab
    for k, v in model.params().items():
        np.testing.assert_array_equal(back.params()[k], v)


def test_rnn_without_biases_and_linear_without_bias():
    model, *_ = case(5, 3, seed=4)
    tensors = {"weight_ih_l0": model.W_i, "weight_hh_l0": model.W_h, "weight": model.W_o}
    back, _, _ = import_pytorch(safetensors_bytes(tensors), vocab=["<unk>", *"abcd"])
    assert not back.b_h.any() and not back.b_o.any()
    np.testing.assert_array_equal(back.W_o, model.W_o)


def test_sigmoid_or_identity_models_do_not_export():
    model, *_ = case(5, 3, "sigmoid")
    with pytest.raises(Exception, match="tanh and relu only; this model uses sigmoid"):
        pytorch_bytes(model, Vocab(("<unk>", *"abcd")))


# -- every refused import, with its message -----------------------------------------------------


def good_tensors(V=5, H=3, prefix="rnn.", linear="fc."):
    model, b_ih, b_hh, _ = case(V, H, seed=6)
    return {f"{prefix}weight_ih_l0": model.W_i, f"{prefix}weight_hh_l0": model.W_h,
            f"{prefix}bias_ih_l0": b_ih, f"{prefix}bias_hh_l0": b_hh,
            f"{linear}weight": model.W_o, f"{linear}bias": model.b_o}


VOCAB5 = json.dumps(["<unk>", "a", "b", "c", "d"])


def refuse(tensors=None, metadata=None, vocab=VOCAB5, match=None):
    data = safetensors_bytes(good_tensors() if tensors is None else tensors,
                             {"vocab": vocab} if metadata is None else metadata)
    with pytest.raises(CheckpointError, match=match) as info:
        import_pytorch(data)
    msg = str(info.value)
    assert msg and "\n" not in msg and "Traceback" not in msg
    return msg


def with_(**changes):
    t = good_tensors()
    for k, v in changes.items():
        if v is None:
            t.pop(k)
        else:
            t[k] = v
    return t


def test_refuses_more_than_one_layer():
    t = good_tensors()
    t.update({"rnn.weight_ih_l1": np.zeros((3, 3)), "rnn.weight_hh_l1": np.zeros((3, 3))})
    assert "more than one layer" in refuse(t)
    assert "more than one layer" in refuse(metadata={"vocab": VOCAB5, "num_layers": "2"})


def test_refuses_bidirectional():
    t = good_tensors()
    t.update({"rnn.weight_ih_l0_reverse": np.zeros((3, 5)),
              "rnn.weight_hh_l0_reverse": np.zeros((3, 3))})
    assert "bidirectional" in refuse(t)
    assert "bidirectional" in refuse(metadata={"vocab": VOCAB5, "bidirectional": "True"})


@pytest.mark.parametrize("name,match", [
    ("rnn.weight_ih_l0", "'rnn.weight_ih_l0' is missing"),
    ("rnn.weight_hh_l0", "no tensor named 'weight_hh_l0'"),
    ("rnn.bias_hh_l0", "'rnn.bias_hh_l0' is missing"),
    ("fc.weight", "output layer is missing"),
])
def test_refuses_a_missing_tensor(name, match):
    refuse(with_(**{name: None}), match=match)


@pytest.mark.parametrize("name,shape,match", [
    ("rnn.weight_hh_l0", (3, 4), r"'rnn.weight_hh_l0' is shaped \(3, 4\), but the model needs"),
    ("rnn.weight_hh_l0", (12, 3), "as in an LSTM"),
    ("rnn.weight_hh_l0", (9, 3), "as in a GRU"),
    ("rnn.weight_ih_l0", (3, 8), "or the size of an nn.Embedding saved with it"),
    ("rnn.bias_ih_l0", (4,), r"'rnn.bias_ih_l0' is shaped \(4,\)"),
    ("fc.weight", (5, 2), r"'fc.weight' is shaped \(5, 2\)"),
    ("fc.bias", (6,), r"'fc.bias' is shaped \(6,\)"),
])
def test_refuses_wrong_shapes(name, shape, match):
    refuse(with_(**{name: np.zeros(shape)}), match=match)


@pytest.mark.parametrize("name", ["rnn.weight_hh_l0", "rnn.bias_hh_l0", "fc.weight"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_refuses_nan_values(name, bad):
    t = good_tensors()
    t[name] = t[name].copy()
    t[name].flat[0] = bad
    refuse(t, match=f"'{name}' holds NaN or infinite values")


def test_refuses_a_vocabulary_size_mismatch():
    msg = refuse(vocab=json.dumps(["<unk>", "a", "b", "c"]))
    assert "vocabulary has 4 tokens but the model's output layer has 5" in msg


@pytest.mark.parametrize("vocab,match", [
    ("not json", "not valid JSON"), ('{"a": 1}', "JSON list"), ('["a", "a", "b", "c", "d"]',
                                                                "twice"),
    ('["a", "", "b", "c", "d"]', "non-empty"),
])
def test_refuses_a_bad_vocabulary(vocab, match):
    refuse(vocab=vocab, match=match)


def test_refuses_no_vocabulary_and_other_nonlinearities():
    refuse(metadata={}, match="No vocabulary")
    refuse(metadata={"vocab": VOCAB5, "nonlinearity": "gelu"}, match="tanh or relu")
    refuse(metadata={"vocab": json.dumps(["<unk>", "ab", "c", "d", "e"]), "level": "char"},
           match="single characters")


def test_refuses_unclear_or_extra_tensors():
    t = good_tensors()
    t["proj.weight"] = np.zeros((5, 3))
    refuse(t, match="Several tensors could be the output layer")
    t = good_tensors()
    t["embedding.weight"] = np.zeros((5, 4))  # the RNN reads 5 inputs: one-hot, no embedding
    refuse(t, match=r"'embedding.weight' is shaped \(5, 4\), but the model needs \(5, 5\)")
    t = good_tensors()
    t["scale"] = np.ones(1)
    refuse(t, match="neither the RNN's nor the output layer's: scale")


class _Payload:
    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_never_unpickles_a_torch_save_file(tmp_path):
    """A pickle (what torch.save writes) is refused as a file format; its code never runs."""
    target = tmp_path / "pwned"
    with pytest.raises(CheckpointError):
        import_pytorch(pickle.dumps(_Payload(target)), vocab=VOCAB5)
    assert not target.exists()


# -- command line ---------------------------------------------------------------------------


def test_cli_import_and_export(tmp_path, capsys):
    vocab = Vocab.build("hello world")
    model, *_ = case(vocab.size, 4, "relu", seed=7)
    src = tmp_path / "m.safetensors"
    src.write_bytes(safetensors_bytes(
        {"rnn.weight_ih_l0": model.W_i, "rnn.weight_hh_l0": model.W_h,
         "rnn.bias_ih_l0": model.b_h, "rnn.bias_hh_l0": np.zeros(4), "fc.weight": model.W_o,
         "fc.bias": model.b_o}, {"nonlinearity": "relu"}))
    (tmp_path / "vocab.json").write_text(json.dumps(list(vocab.tokens)))
    assert main(["import", str(src), "--vocab", str(tmp_path / "vocab.json"),
                 "-o", str(tmp_path / "m.npz")]) == 0
    assert "saved" in capsys.readouterr().out
    back, back_vocab, meta = load_checkpoint(tmp_path / "m.npz")
    assert back.activation == "relu" and back_vocab == vocab and meta["source"] == "pytorch"
    np.testing.assert_array_equal(back.W_h, model.W_h)
    assert main(["export", str(tmp_path / "m.npz"), str(tmp_path / "out.safetensors")]) == 0
    again, again_vocab, _ = import_pytorch(tmp_path / "out.safetensors")
    assert again_vocab == vocab and again.activation == "relu"
    np.testing.assert_array_equal(again.W_i, model.W_i)


def test_cli_refused_import_is_one_error_line(tmp_path, capsys):
    src = tmp_path / "two.safetensors"
    t = good_tensors()
    t["rnn.weight_ih_l1"] = np.zeros((3, 3))
    src.write_bytes(safetensors_bytes(t, {"vocab": VOCAB5}))
    assert main(["import", str(src), "-o", str(tmp_path / "x.npz")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "more than one layer" in err and err.count("\n") == 1
    assert not (tmp_path / "x.npz").exists()
    assert main(["import", str(tmp_path / "none.safetensors"), "-o", "x.npz"]) == 2
    assert "No file at" in capsys.readouterr().err
