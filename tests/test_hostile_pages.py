"""Issue 15 on the pages, under AppTest: values across pages (D5, D10), the Train page's own
checkpoints (D7), link injection (D8), the space page (D6), uploads (D2, D9, D11, D13).

Each test is named after the defect it reproduces; each failed before its fix.
"""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
from streamlit import config as st_config

from rnn import RNN, TrainConfig, Trainer, Vocab, checkpoint_bytes, load_corpus
from session import limits
from tests.conftest import errors, open_app
from ui import state, train_settings

SHARED = "A shared sentence"


def widget(at, key):
    for kind in ("text_input", "number_input", "select_slider", "selectbox", "radio",
                 "text_area", "slider", "toggle", "checkbox"):
        found = [w for w in getattr(at, kind) if w.key == key]
        if found:
            return found[0]
    raise KeyError(key)


def go(at, page: str) -> None:
    at.switch_page(page).run()
    assert not at.exception, errors(at)


# -- D10, D5: every setting and text survives a visit to another page ---------------------------


@pytest.mark.parametrize("route", [
    ["pages/bptt.py", "pages/space.py", "pages/explorer.py"],
    ["pages/home.py", "pages/explorer.py", "pages/space.py"],
    ["pages/train.py", "pages/atlas.py", "pages/bptt.py"],
])
def test_d10_text_from_a_link_follows_to_every_page(route):
    at = open_app("pages/explorer.py", query={"text": SHARED})
    assert widget(at, "text").value == SHARED
    for page in route:
        go(at, page)
        if page not in ("pages/home.py", "pages/train.py", "pages/atlas.py"):
            assert widget(at, "text").value == SHARED, page


def test_d10_typed_text_survives_explorer_and_back():
    at = open_app("pages/explorer.py")
    widget(at, "text").set_value("typed by hand").run()
    for page in ("pages/bptt.py", "pages/explorer.py", "pages/home.py", "pages/space.py"):
        go(at, page)
        if page != "pages/home.py":
            assert widget(at, "text").value == "typed by hand", page


def test_d5_train_settings_and_run_survive_other_pages():
    at = open_app("pages/train.py")
    for key, value in {"train_hidden": 32, "train_seq_len": 10, "train_lr": 0.01,
                       "train_target": 40}.items():
        widget(at, key).set_value(value).run()
        assert not at.exception, errors(at)
    at.button(key="train_step").click().run()
    run = state.train_run(at.session_state)
    assert run.trainer.config.lr == 0.01 and run.steps == 1
    go(at, "pages/explorer.py")
    go(at, "pages/train.py")
    assert widget(at, "train_lr").value == 0.01
    assert widget(at, "train_target").value == 40
    assert widget(at, "train_hidden").value == 32
    run = state.train_run(at.session_state)
    assert run.trainer.config.lr == 0.01 and run.target == 40
    shown = " ".join(str(e.value) for e in [*at.warning, *at.info, *at.markdown])
    assert "You changed" not in shown


def test_d5_pasted_corpus_survives_other_pages():
    text = load_corpus("english")[:400]
    at = open_app("pages/train.py")
    widget(at, "train_source").set_value("Paste text").run()
    widget(at, "train_paste").set_value(text).run()
    go(at, "pages/space.py")
    go(at, "pages/train.py")
    assert widget(at, "train_source").value == "Paste text"
    assert widget(at, "train_paste").value == text


def test_every_train_setting_is_kept():
    assert set(train_settings.DEFAULTS) <= set(state.KEPT_WIDGETS)


# -- D7: a CLI checkpoint continues on the Train page ------------------------------------------


def _cli_checkpoint(**config) -> bytes:
    text = load_corpus("english")[:3000]
    tr = Trainer(text, TrainConfig(hidden_size=8, seq_len=10, **config))
    tr.train(3)
    buf = io.BytesIO()
    tr.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize("config", [{"seed": 3_000_000_000}, {"val_fraction": 0.5}])
def test_d7_cli_checkpoint_continues_without_a_false_prompt(config):
    at = open_app("pages/train.py")
    at.get("file_uploader")  # the page draws the checkpoint uploader
    up = [u for u in at.get("file_uploader") if u.proto.label.startswith("Continue")
          or "checkpoint" in u.proto.label.lower()][-1]
    up.set_value(("cli.npz", _cli_checkpoint(**config), "application/octet-stream"))
    at.run()
    assert not at.exception, errors(at)
    resume = [b for b in at.button if b.key == "train_resume"]
    if resume:
        resume[0].click().run()
        assert not at.exception, errors(at)
    assert not at.exception, errors(at)
    shown = " ".join(str(e.value) for e in [*at.warning, *at.info, *at.markdown, *at.error])
    assert "You changed" not in shown, shown
    key, value = next(iter(config.items()))
    assert widget(at, train_settings.CONFIG_KEYS[key]).value == value


# -- D8: link parameters reach Markdown as plain text --------------------------------------------


@pytest.mark.parametrize("query", [
    {"model": "x\r\rSession expired. Log in at www.evil-example.com/login"},
    {"model": "foo\r===\rbar"},
    {"model": "&lt;b&gt;"},
    {"step": "1\r\r# Session expired, log in at www.evil-example.com"},
    {"neuron": "x\n\n## heading http://evil-example.com"},
])
def test_d8_link_notices_are_inert_markdown(query):
    at = open_app("pages/explorer.py", query={"text": "Hello there", **query})
    notices = [w.value for w in at.warning if "link" in w.value]
    assert notices, [w.value for w in at.warning]
    for md in notices:
        assert not any(c in md for c in "\r\n\u2028\u2029"), md
        assert "www." not in md and "://" not in md, md
        assert "&lt;" not in md, md  # an unescaped entity would show as '<'


def test_d8_uploaded_model_title_and_name_are_inert():
    vocab = Vocab.build("hello world")
    data = checkpoint_bytes(RNN.create(vocab.size, 4), vocab, title="t\r===\r",
                            description="See www.evil-example.com\r\r# now")
    at = open_app("pages/explorer.py")
    up = at.get("file_uploader")[0]
    up.set_value(("x\r\r# evil www.evil-example.com.npz", data, "application/octet-stream"))
    at.run()
    assert not at.exception, errors(at)
    texts = [e.value for e in [*at.markdown, *at.caption]]
    assert any("evil" in t for t in texts)
    for t in texts:
        assert "\r" not in t and "www." not in t, t


# -- D6: the space page with fewer neurons than the view has axes -------------------------------


@pytest.mark.parametrize("H,dims,text", [(1, 2, "hello"), (2, 3, "hello"), (8, 3, "ab")])
def test_d6_space_page_with_tiny_models_and_texts(H, dims, text):
    vocab = Vocab.build("abcdefghijklmnopqrstuvwxyz ")
    data = checkpoint_bytes(RNN.create(vocab.size, H, init_std=0.5), vocab)
    at = open_app("pages/space.py")
    at.get("file_uploader")[0].set_value(("tiny.npz", data, "application/octet-stream"))
    at.run()
    widget(at, "text").set_value(text).run()
    widget(at, "space_dims").set_value(dims).run()
    assert not at.exception, errors(at)


# -- D2, D9, D13: uploads the pages must refuse with a message -----------------------------------


def _zip(params: dict, meta: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for k, v in {**params, "meta_json": np.frombuffer(meta, np.uint8)}.items():
            b = io.BytesIO()
            np.lib.format.write_array(b, v, allow_pickle=False)
            zf.writestr(k + ".npy", b.getvalue())
    return buf.getvalue()


def _hostile_uploads() -> dict[str, bytes]:
    vocab = Vocab.build("hello world")
    model = RNN.create(vocab.size, 4)
    doc = {"format_version": 1, "vocab": {"tokens": list(vocab.tokens), "level": "char"}}
    big = RNN.create(12, 4096, init_std=0.0)
    huge = model.copy()
    huge.W_h[0, 0] = 1e308
    return {
        "D2 H=4096": checkpoint_bytes(big, Vocab.build("abcdefghij ")),
        "D9 history list": _zip(model.params(), json.dumps({**doc, "history": [1]}).encode()),
        "D9 val_loss dict": _zip(model.params(), json.dumps({**doc, "val_loss": {}}).encode()),
        "D9 steps inf": _zip(model.params(),
                             json.dumps({**doc, "trainer": {"steps": float("inf")}}).encode()),
        "D9 seed 1.5": _zip(model.params(), json.dumps({**doc, "config": {"seed": 1.5}}).encode()),
        "D13 1e308": _zip(huge.params(), json.dumps(doc).encode()),
    }


@pytest.mark.parametrize("name", list(_hostile_uploads()))
@pytest.mark.parametrize("page", ["pages/explorer.py", "pages/bptt.py"])
def test_d2_d9_d13_hostile_uploads_get_a_message(page, name):
    at = open_app(page)
    before = state.shelf(at.session_state).current_key
    at.get("file_uploader")[0].set_value((f"{name}.npz", _hostile_uploads()[name],
                                          "application/octet-stream"))
    at.run()
    assert not at.exception, errors(at)
    assert any("Could not load" in e.value for e in at.error), [e.value for e in at.error]
    assert state.shelf(at.session_state).current_key == before


# -- D11, D12: every uploader states and sets its limit ------------------------------------------


@pytest.fixture
def server_default_200():
    """Streamlit's own default, so an uploader without max_upload_size is told apart."""
    old = st_config.get_option("server.maxUploadSize")
    st_config.set_option("server.maxUploadSize", 200)
    yield
    st_config.set_option("server.maxUploadSize", old)


@pytest.mark.parametrize("page,source", [
    ("pages/explorer.py", None), ("pages/bptt.py", None), ("pages/space.py", None),
    ("pages/atlas.py", None), ("pages/train.py", "Upload a .txt file"),
])
def test_d11_every_uploader_sets_its_limit(server_default_200, page, source):
    at = open_app(page)
    if source:
        widget(at, "train_source").set_value(source).run()
    uploaders = at.get("file_uploader")
    assert uploaders
    for up in uploaders:
        mb = up.proto.max_upload_size_mb
        assert mb in (limits.MAX_CHECKPOINT_MB, limits.MAX_CORPUS_MB), up.proto.label
        if "txt" in up.proto.label:
            assert mb == limits.MAX_CORPUS_MB and f"{mb} MB" in up.proto.label


# -- a session's memory is released when its browser disconnects --------------------------------


def test_disconnect_releases_the_sessions_objects_but_not_its_run():
    """The session's models and cache go with its browser; the run stays in the server's
    registry under its token, so a reload (also a disconnect) reattaches to it."""
    at = open_app("pages/train.py")
    run = state.train_run(at.session_state)
    token = state.run_token(at.session_state)
    assert run is not None and token
    held = {k: at.session_state[k] for k in state.HELD if k in at.session_state}
    assert state.SHELF in held and state.MEMO in held
    fake = dict(held, text="kept", **{state.RUN_TOKEN: token})
    state.release_session(fake)  # what Streamlit calls when the websocket goes
    assert not any(k in fake for k in state.HELD) and fake["text"] == "kept"
    assert state.train_run({state.RUN_TOKEN: token}) is run


def test_the_release_hook_is_registered_per_session():
    """A session-scoped resource whose on_release is release_session: Streamlit clears it
    (and calls the hook) as soon as the session disconnects, not when its state expires."""
    import streamlit.runtime.caching.cache_resource_api as api

    open_app("pages/home.py")
    registered = [c for caches in api._resource_caches._function_caches.values()
                  for c in caches.values() if getattr(c, "display_name", "").endswith(
                      "session_handle")]
    assert registered


def _inert(md: str) -> bool:
    return not any(c in md for c in "\r\n\u2028\u2029") and "www." not in md and "://" not in md


def test_d8_file_names_on_the_train_page_are_inert():
    evil = "x\r\r# Session expired, log in at www.evil-example.com\r"
    at = open_app("pages/train.py")
    widget(at, "train_source").set_value("Upload a .txt file").run()
    up = [u for u in at.get("file_uploader") if "txt" in u.proto.label][0]
    up.set_value((evil + ".txt", load_corpus("english")[:1000].encode(), "text/plain"))
    at.run()
    assert not at.exception, errors(at)
    ckpt = [u for u in at.get("file_uploader") if u.proto.label.startswith("Continue")][0]
    ckpt.set_value((evil + ".npz", b"not a zip", "application/octet-stream"))
    at.run()
    at.button(key="train_resume").click().run()
    assert not at.exception, errors(at)
    shown = [e.value for e in [*at.caption, *at.error, *at.success, *at.markdown]
             if "evil" in e.value]
    assert len(shown) >= 2, shown  # the run's caption and the error name the file
    assert all(_inert(md) for md in shown), shown
