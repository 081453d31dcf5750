"""Hostile files and settings: checkpoint and corpus uploads, extreme hyperparameters.

Each upload goes through the session-layer function its uploader calls (``entry_from_upload``
for every page's sidebar, ``resume_run`` for Train's "continue"), and the worst of them also
through the uploader itself under AppTest. Every case ends in an ``RNNError`` with a plain
message (no traceback, no code run, no runaway memory) and the session keeps its model and run.
"""

from __future__ import annotations

import io
import pickle
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

import rnn.checkpoint as ckpt
from rnn import RNN, RNNError, TrainConfig, Vocab, checkpoint_bytes, load_corpus
from session import checkpoints, limits, training
from session.checkpoints import resume_run
from session.shelf import entry_from_upload
from tests.conftest import errors, open_app
from tests.test_hostile_input import drawn, shown_markdown
from ui import state

CORPUS = load_corpus("english")[:3000]



def _npy(arr: np.ndarray, allow_pickle: bool = False) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, allow_pickle=allow_pickle)
    return buf.getvalue()


def _zip(members: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _good_members(V: int = 5, H: int = 4) -> dict[str, bytes]:
    """The .npy members of a valid checkpoint, to break one at a time."""
    vocab = Vocab(tuple(["<unk>"] + [chr(97 + i) for i in range(V - 1)]))
    model = RNN.create(V, H, seed=0, init_std=0.1)
    with zipfile.ZipFile(io.BytesIO(checkpoint_bytes(model, vocab))) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


class _Marker:
    """Unpickling this creates the marker file: proof that a pickle ran."""

    path = ""

    def __reduce__(self):
        return (open, (self.path, "w"))


def _pickle_checkpoint(marker: str, where: str) -> bytes:
    _Marker.path = marker
    payload = np.empty(1, dtype=object)
    payload[0] = _Marker()
    members = _good_members()
    members[f"{where}.npy"] = _npy(payload, allow_pickle=True)
    return _zip(members)


def _zip_bomb(unpacked: int) -> bytes:
    """A checkpoint whose W_h member inflates to ``unpacked`` zero bytes from a few hundred KB."""
    header = io.BytesIO()
    n = (unpacked - 128) // 8
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (n,)})
    members = _good_members()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            if name != "W_h.npy":
                zf.writestr(name, data)
        with zf.open("W_h.npy", "w", force_zip64=True) as f:
            f.write(header.getvalue())
            zero = bytes(2**20)
            left = n * 8
            while left > 0:
                f.write(zero[:min(left, len(zero))])
                left -= len(zero)
    return buf.getvalue()


def _huge_shape() -> bytes:
    """W_h declares a (10^6, 10^6) float64 matrix but holds 64 bytes."""
    members = _good_members()
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        head, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)})
    members["W_h.npy"] = head.getvalue() + bytes(64)
    return _zip(members)


def _nan_weights() -> bytes:
    vocab = Vocab(("<unk>", "a", "b"))
    model = RNN.create(3, 4, seed=0)
    members = _good_members(3, 4)
    W_h = model.W_h.copy()
    W_h[1, 2] = np.nan
    members["W_h.npy"] = _npy(W_h)
    del vocab
    return _zip(members)


def _vocab_misfit() -> bytes:
    vocab = Vocab(("<unk>", "a", "b", "c"))
    model = RNN.create(4, 4, seed=0)
    data = checkpoint_bytes(model, vocab)
    members = _good_members(7, 4)  # weights for V=7 ...
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        members[ckpt.META_KEY + ".npy"] = zf.read(ckpt.META_KEY + ".npy")  # ... 4 tokens
    return _zip(members)


def _big_vocab(V: int = 100_000, H: int = 8) -> bytes:
    tokens = ["<unk>"] + [chr(0x4E00 + i) if i < 20000 else f"w{i}" for i in range(V - 1)]
    vocab = Vocab(tuple(tokens), "word")
    model = RNN.create(V, H, seed=0, init_std=0.1)
    return checkpoint_bytes(model, vocab)


# name -> (bytes, or a function making them; words the message must contain)
CHECKPOINTS = {
    "zero_bytes": (b"", "not a checkpoint"),
    "random_bytes": (np.random.default_rng(0).bytes(4096), "not a checkpoint"),
    "renamed_text": ((CORPUS * 2).encode(), "not a checkpoint"),
    "zip_of_text": (_zip({"notes.txt": CORPUS.encode()}), "missing"),
    "huge_shape": (_huge_shape, "more data"),
    "nan_weights": (_nan_weights, "NaN"),
    "vocab_misfit": (_vocab_misfit, "vocabulary"),
}


def _bytes(case) -> bytes:
    data = case[0]
    return data() if callable(data) else data


def _both_loaders(data: bytes):
    """The functions the two uploaders call, each with the same bytes."""
    yield lambda: entry_from_upload("x.npz", data)
    yield lambda: resume_run(data, CORPUS, "english")


@pytest.mark.parametrize("name", list(CHECKPOINTS))
def test_bad_checkpoint_is_refused_with_a_plain_message(name):
    data = _bytes(CHECKPOINTS[name])
    for load in _both_loaders(data):
        with pytest.raises(RNNError, match=CHECKPOINTS[name][1]):
            load()


@pytest.mark.parametrize("where", ["W_i", "meta_json", "x.adam_m"])
def test_pickle_payload_never_runs(tmp_path, where):
    marker = tmp_path / "pwned"
    data = _pickle_checkpoint(str(marker), where)
    assert not marker.exists()
    for load in _both_loaders(data):
        with pytest.raises(RNNError, match="Python objects|W_i must be a matrix"):
            load()  # W_i's header is read first, and its shape refused before its dtype
    assert not marker.exists(), "the pickle in the checkpoint ran"
    pickle.loads(pickle.dumps(_Marker()))  # the control: unpickling it does create the file
    assert marker.exists()


def test_zip_bomb_is_refused_before_it_inflates():
    data = _zip_bomb(ckpt.MAX_BYTES + 2**20)  # 257 MiB of zeros ...
    assert len(data) < 2 * 2**20  # ... in under 2 MB
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        for load in _both_loaders(data):
            with pytest.raises(RNNError, match="unpacks to"):
                load()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - t0 < 5
    assert peak < 20 * 2**20, f"{peak / 2**20:.0f} MiB allocated to refuse a zip bomb"


def test_zip_bomb_under_the_unpacked_limit_takes_bounded_memory():
    """A bomb just under the reader's limit is refused (W_h of the wrong shape); the memory
    its reading takes is bounded by the upload limit this session layer sets."""
    data = _zip_bomb(limits.MAX_UNPACKED_BYTES + 2**20)
    tracemalloc.start()
    try:
        for load in _both_loaders(data):
            with pytest.raises(RNNError):
                load()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20, f"{peak / 2**20:.0f} MiB allocated to refuse it"


def test_file_over_the_upload_limit_is_refused_unopened(monkeypatch):
    data = bytes(150 * 10**6)  # 150 MB
    monkeypatch.setattr(ckpt.zipfile, "ZipFile",
                        lambda *a, **k: pytest.fail("an oversized upload was opened"))
    for load in _both_loaders(data):
        with pytest.raises(RNNError, match=f"{limits.MAX_CHECKPOINT_MB} MB"):
            load()


def test_checkpoint_with_a_100k_token_vocabulary_is_refused():
    data = _big_vocab()
    assert len(data) < limits.MAX_CHECKPOINT_BYTES
    for load in _both_loaders(data):
        with pytest.raises(RNNError, match="vocabulary"):
            load()


# -- the uploaders themselves, under AppTest ------------------------------------------------


def _upload(at, key: str, name: str, data: bytes) -> None:
    next(w for w in at.file_uploader if w.key == key).set_value(
        (name, data, "application/octet-stream"))
    at.run()
    assert not at.exception, errors(at)


UPLOAD_CASES = ["random_bytes", "renamed_text", "nan_weights", "vocab_misfit", "pickle",
                "big_vocab"]


def _upload_bytes(name: str, tmp_path) -> bytes:
    if name == "pickle":
        return _pickle_checkpoint(str(tmp_path / "pwned"), "W_i")
    if name == "big_vocab":
        return _big_vocab()
    return _bytes(CHECKPOINTS[name])


@pytest.mark.parametrize("name", UPLOAD_CASES)
def test_sidebar_upload_keeps_the_model(name, tmp_path):
    at = open_app("pages/explorer.py")
    state.shelf(at.session_state).select("brackets")
    at.run()
    models_before = len(state.shelf(at.session_state))
    _upload(at, "model_picker_upload", "**bold** [x](https://e.example).npz",
            _upload_bytes(name, tmp_path))
    assert any("Could not load this file" in e.value for e in at.error)
    assert state.shelf(at.session_state).current_key == "brackets"
    assert len(state.shelf(at.session_state)) == models_before, "no model was added"
    assert not (tmp_path / "pwned").exists()
    assert drawn(at), "the view is still drawn"


@pytest.mark.parametrize("name", UPLOAD_CASES)
def test_train_upload_keeps_the_run(name, tmp_path):
    at = open_app("pages/train.py")
    for key, v in {"train_hidden": 8, "train_seq_len": 5, "train_batch": 2}.items():
        at.number_input(key=key).set_value(v).run()
    at.button(key="train_step").click().run()
    run = state.train_run(at.session_state)
    _upload(at, "train_ckpt_upload", "**bold** [x](https://e.example).npz",
            _upload_bytes(name, tmp_path))
    at.button(key="train_resume").click().run()
    assert not at.exception, errors(at)
    shown = [e.value for e in at.error]
    assert any("Could not continue" in e for e in shown)
    assert not any("**bold**" in e or "](https" in e for e in shown), shown
    assert state.train_run(at.session_state) is run and run.steps == 1
    assert not (tmp_path / "pwned").exists()


# -- corpus uploads ----------------------------------------------------------------------------

CORPORA_BAD = {
    "binary": (bytes(range(256)) * 10, "binary"),
    "not_utf8": ("Grüße aus Köln, schöne Straße. ".encode("latin-1") * 20, "not UTF-8"),
    "over_the_limit": (b"ab " * (limits.MAX_CORPUS_BYTES // 3 + 1), "limit"),
    "one_character": (b"a", "too short"),
    "single_distinct_character": (b"a" * 5000, "single character"),
    "whitespace_only": (b" \n\t" * 300, "empty"),
}


@pytest.mark.parametrize("name", list(CORPORA_BAD))
def test_bad_corpus_is_refused_with_a_plain_message(name):
    data, words = CORPORA_BAD[name]
    with pytest.raises(RNNError, match=words):
        limits.check_corpus(limits.corpus_from_bytes(data))


@pytest.mark.parametrize("name", list(CORPORA_BAD))
def test_corpus_upload_keeps_the_run(name):
    at = open_app("pages/train.py")
    for key, v in {"train_hidden": 8, "train_seq_len": 5, "train_batch": 2}.items():
        at.number_input(key=key).set_value(v).run()
    at.button(key="train_step").click().run()
    run = state.train_run(at.session_state)
    at.radio(key="train_source").set_value("Upload a .txt file").run()
    data, words = CORPORA_BAD[name]
    next(w for w in at.file_uploader if w.key == "train_upload").set_value(
        ("**x** [y](https://e.example).txt", data, "text/plain"))
    at.run()
    assert not at.exception, errors(at)
    assert any(words in e.value.replace("\\", "") for e in at.error)  # Markdown-escaped
    assert state.train_run(at.session_state) is run and run.steps == 1


def test_corpus_file_name_is_not_markdown():
    """A corpus named like Markdown shows as its name wherever the run's corpus is named."""
    at = open_app("pages/train.py")
    at.radio(key="train_source").set_value("Upload a .txt file").run()
    name = "**x** [y](https://e.example) $\\def$.txt"
    next(w for w in at.file_uploader if w.key == "train_upload").set_value(
        (name, CORPUS.encode(), "text/plain"))
    at.run()
    assert not at.exception, errors(at)
    assert state.train_run(at.session_state).corpus_name.endswith(name)
    for body in shown_markdown(at):
        assert "**x**" not in body and "](https" not in body and "$\\def" not in body, body


# -- extreme hyperparameters ---------------------------------------------------------------


@pytest.mark.parametrize(("config", "words"), [
    (TrainConfig(hidden_size=4096, batch_size=4096), "hidden size is 4096"),
    (TrainConfig(batch_size=4096), "batch size is 4096"),
    (TrainConfig(seq_len=10_000), "sequence length is 10000"),
])
def test_oversized_settings_are_refused_before_any_memory_is_taken(config, words):
    tracemalloc.start()
    try:
        with pytest.raises(RNNError, match=words):
            training.new_run(CORPUS, config, "english")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5 * 2**20


@pytest.mark.parametrize(("key", "value"), [
    ("train_hidden", 4096), ("train_batch", 4096), ("train_seq_len", 10_000)])
def test_page_widgets_stop_at_the_stated_limits(key, value):
    """The number boxes cannot go past the limits the page states (Streamlit refuses)."""
    at = open_app("pages/train.py")
    box = at.number_input(key=key)
    top = {"train_hidden": limits.MAX_HIDDEN, "train_batch": limits.MAX_BATCH,
           "train_seq_len": limits.MAX_SEQ_LEN}[key]
    assert box.max == top < value
    limits_text = " ".join(e.value for e in at.markdown)
    assert f"≤ {top}" in limits_text


def test_learning_rate_1e9_diverges_and_keeps_the_last_good_weights():
    run = training.new_run(CORPUS, TrainConfig(hidden_size=16, seq_len=10, batch_size=4,
                                               optimizer="sgd", lr=0.1), "english")
    training.run_chunk(run, seconds=None, max_steps=5)
    training.apply_live(run, lr=1e9)
    run.playing = True
    t0 = time.perf_counter()
    training.run_chunk(run, seconds=2.0)
    assert time.perf_counter() - t0 < 10
    assert run.trainer.diverged and not run.playing
    assert "diverged" in str(run.trainer.diverged).lower() or run.trainer.diverged
    assert all(np.all(np.isfinite(p)) for p in run.trainer.model.params().values())
    assert run.diverged_with[0] == 1e9
    with pytest.raises(RNNError, match="Lower the learning rate"):
        training.continue_after_divergence(run)
    training.apply_live(run, lr=0.1)
    training.continue_after_divergence(run)
    run.playing = False
    training.run_chunk(run, seconds=None, max_steps=2)
    assert not run.trainer.diverged


def test_learning_rate_1e9_on_the_page_says_so():
    """The page offers at most lr 50; 1e9 arrives in a checkpoint's settings. Continuing from
    it, the first step diverges, the page says what to try, and Continue waits for a lower lr."""
    source = training.new_run(CORPUS, TrainConfig(hidden_size=8, seq_len=5, batch_size=2,
                                                  lr=1e9), "english")
    at = open_app("pages/train.py")
    _upload(at, "train_ckpt_upload", "lr1e9.npz", checkpoints.checkpoint_of(source))
    at.button(key="train_resume").click().run()
    assert not at.exception, errors(at)
    assert at.select_slider(key="train_lr").value == 1e9
    for _ in range(3):  # the loss of the step after the blow-up shows it
        if at.button(key="train_step").disabled:
            break
        at.button(key="train_step").click().run()
        assert not at.exception, errors(at)
    run = state.train_run(at.session_state)
    assert run.trainer.diverged and run.trainer.config.lr == 1e9
    assert at.button(key="train_step").disabled and at.button(key="train_play").disabled
    assert any("Lower the learning rate below 1e+09" in m.value for m in at.markdown)
    assert at.button(key="train_continue").disabled
    assert all(np.all(np.isfinite(p)) for p in run.trainer.model.params().values())
    at.select_slider(key="train_lr").set_value(0.1).run()
    at.button(key="train_continue").click().run()
    assert not at.exception, errors(at)
    assert not run.trainer.diverged and run.trainer.config.lr == 0.1


def test_a_session_keeps_a_bounded_number_of_uploads():
    """Uploading file after file under new names keeps the latest MAX_UPLOADS, not all."""
    from session.shelf import MAX_UPLOADS, Shelf

    shelf = Shelf.with_builtins()
    builtins = set(shelf.keys())
    vocab = Vocab(("<unk>", "a", "b"))
    data = checkpoint_bytes(RNN.create(3, 4, seed=0), vocab)
    for i in range(MAX_UPLOADS + 5):
        shelf.add(entry_from_upload(f"model{i}.npz", data))
    uploads = [k for k in shelf.keys() if k not in builtins]
    assert uploads == [f"upload-model{i}" for i in range(5, MAX_UPLOADS + 5)]
    assert shelf.current_key == f"upload-model{MAX_UPLOADS + 4}"
    shelf.select("upload-model5")
    shelf.add(entry_from_upload("model99.npz", data), select=False)  # not the one shown goes
    assert "upload-model6" not in shelf and "upload-model5" in shelf


def test_hidden_states_of_a_long_text_take_bounded_memory():
    """The atlas and the space page need h_t only: for 3000 tokens of a V=2048 model the full
    forward pass (logits and probabilities, (T, V) each, with copies) took over 200 MB."""
    from rnn.analysis import hidden_states

    model = RNN.create(2048, limits.MAX_HIDDEN, seed=0, init_std=0.05)
    ids = np.random.default_rng(0).integers(0, 2048, 3000)
    want = model.forward(ids[:1000]).h
    tracemalloc.start()
    try:
        h = hidden_states(model, ids)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert h.shape == (3000, limits.MAX_HIDDEN)
    np.testing.assert_array_equal(h[:1000], want)
    np.testing.assert_allclose(h, model.forward(ids).h, rtol=0, atol=1e-12)
    assert peak < 48 * 2**20, f"{peak / 2**20:.0f} MB"
