"""Hostile input on every page, under AppTest: texts, URL parameters and file names.

Each case ends in a plain message or a normal view, never a traceback; the page keeps working
(the next ordinary input still shows its view), and the session's model and training run are
the ones it had before. One app per page serves all cases of that page, so a case also proves
the page survives the cases before it.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from rnn import load_corpus
from tests.conftest import APP, errors, open_app
from ui import state
from ui.widgets import DEFAULT_TEXT

pytestmark = pytest.mark.module_server  # one app per page, and its run, for all the cases

# Markdown-rendered elements: user text reaching them must be escaped.
MARKDOWN_KINDS = ("title", "header", "subheader", "markdown", "caption", "info", "warning",
                  "error", "success")

ZALGO = "Z\u0364\u0351\u0313a\u0308\u0356\u032dl\u036e\u0312g\u030c\u0317o"
TEXTS = {
    "empty": "",
    "whitespace": " \t \u00a0\u3000 ",
    "100k": (load_corpus("english") * 3)[:100_000],
    "emoji_combining": f"👩‍👩‍👧 e\u0301 ñ 🤖🧠 {ZALGO} 🏳️‍🌈",
    "right_to_left": "שלום עולם مرحبا بالعالم \u202eevil\u202c end",
    "nul_control": "a\x00b\x01c\x1b[31m red \x7f\x08\r\x0bz",
    "script": "<script>window.__pwned=1</script>",
    "img_onerror": '<img src=x onerror="window.__pwned=1">',
    "markdown_latex": r"**bold** $\def\x{\x\x}\x$ \href{javascript:alert(1)}{click} "
                      r"[link](javascript:alert(1)) # heading :red[red]",
    "newlines": "line one\nline two\r\n\r\n=====\nthree",
}
# Strings that must never reach a Markdown element verbatim (they would act there).
PAYLOADS = ("<script>", "<img src", "**bold**", r"$\def", "{click}", "](javascript",
            ":red[red]", "\n=====")

# page -> (text widget key, widgets to set first so that the text box is shown)
TEXT_PAGES = {
    "explorer": ("text", {}),
    "bptt": ("text", {}),
    "space": ("text", {}),
    "atlas": ("atlas_text", {"atlas_source": "own"}),
    "train": ("train_paste", {"train_source": "Paste text", "train_hidden": 8,
                              "train_seq_len": 5, "train_batch": 2}),
}
PAGES = ("home", "explorer", "train", "bptt", "space", "atlas")


def _set(at: AppTest, key: str, value) -> None:
    """Set the widget with ``key`` (whatever its kind) and rerun."""
    for kind in ("text_input", "text_area", "number_input", "select_slider", "selectbox",
                 "radio", "slider"):
        found = [w for w in getattr(at, kind) if w.key == key]
        if found:
            found[0].set_value(value)
            at.run()
            return
    raise KeyError(key)


def drawn(at: AppTest) -> bool:
    """Whether the page drew its view: plotly charts, or the Explorer's step view component."""
    return bool(at.get("plotly_chart") or at.get("bidi_component"))


def shown_markdown(at: AppTest) -> list[str]:
    return [str(e.value) for kind in MARKDOWN_KINDS for e in getattr(at, kind)]


def assert_no_payload(at: AppTest) -> None:
    for body in shown_markdown(at):
        for payload in PAYLOADS:
            assert payload not in body, f"{payload!r} reached Markdown unescaped: {body[:300]!r}"


def messages(at: AppTest) -> str:
    return " ".join(str(e.value) for k in ("info", "warning", "error", "success")
                    for e in getattr(at, k))


def _open_page(page: str) -> AppTest:
    at = open_app(None if page == "home" else f"pages/{page}.py")
    key, first = TEXT_PAGES.get(page, (None, {}))
    for k, v in first.items():
        _set(at, k, v)
        assert not at.exception, errors(at)
    if page == "train":  # a run with one step done: it must survive every case
        at.button(key="train_step").click().run()
        assert not at.exception, errors(at)
    return at


@pytest.fixture(scope="module")
def apps():
    """One app per page, opened on first use and kept for every case of that page."""
    opened: dict[str, AppTest] = {}

    def get(page: str) -> AppTest:
        if page not in opened:
            opened[page] = _open_page(page)
        return opened[page]

    return get


def _kept(at: AppTest) -> tuple:
    """What a hostile input must not change: the current model and the training run."""
    return state.shelf(at.session_state).current_key, state.train_run(at.session_state)


@pytest.mark.parametrize("name", list(TEXTS))
@pytest.mark.parametrize("page", list(TEXT_PAGES))
def test_hostile_text_on_every_page(apps, page, name):
    at = apps(page)
    key, _ = TEXT_PAGES[page]
    before = _kept(at)
    steps = before[1].steps if before[1] else None
    text = TEXTS[name]
    _set(at, key, text)
    assert not at.exception, errors(at)
    assert_no_payload(at)
    model_key, run = _kept(at)
    assert model_key == before[0], "the current model changed"
    if page == "train":
        assert run is before[1] and run.steps == steps, "the training run was replaced"
    if not text.strip():
        assert messages(at), "empty text should get a plain message"
    # the page keeps working: an ordinary text shows the view again
    _set(at, key, load_corpus("english")[:400] if page == "train" else DEFAULT_TEXT)
    assert not at.exception, errors(at)
    if page != "train":
        assert drawn(at), f"{page}: no chart after an ordinary text"


LONG = "x" * 100_000
URL_VALUES = {
    "negative": "-1",
    "huge": "9" * 40,
    "nan": "NaN",
    "non_numeric": "two",
    "path_traversal": "../../etc/passwd",
    "100kB": LONG,
    "repeated": ["1", "2", "../../etc/passwd"],
    "unknown_model": "no-such-model",
    "markdown": "x\r\r===\r[click](https://evil.example) <script>",
}
URL_KEYS = ("text", "step", "model", "neuron", "t", "scale", "dims", "source", "run", "colour",
            "speed")


@pytest.mark.parametrize("name", list(URL_VALUES))
@pytest.mark.parametrize("page", PAGES)
def test_hostile_url_parameters_on_every_page(page, name):
    """Every parameter any page reads, set to the same bad value at once: the page opens with
    its defaults (and a notice on pages that read links), the shipped model stays current."""
    value = URL_VALUES[name]
    at = AppTest.from_file(APP, default_timeout=120)
    for k in URL_KEYS:
        at.query_params[k] = value
    at.run()
    assert not at.exception, errors(at)
    if page != "home":
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, errors(at)
    for body in shown_markdown(at):
        assert "[click](https" not in body and "<script>" not in body and "\r" not in body
        assert LONG not in body, "a 100 kB parameter was echoed whole"
    shelf = state.shelf(at.session_state)
    assert shelf.current_key == "english", "a bad link chose a model"
    assert all("passwd" not in k for k in shelf.keys())


@pytest.mark.parametrize("page", PAGES)
def test_each_page_survives_a_round_trip_of_every_other_page(page):
    """After visiting every page, each page still runs and the model chosen is kept."""
    at = open_app()
    state.shelf(at.session_state).select("brackets")
    for other in PAGES:
        at.switch_page(f"pages/{other}.py").run()
        assert not at.exception, errors(at)
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, errors(at)
    assert state.shelf(at.session_state).current_key == "brackets"


def test_train_settings_and_pasted_text_survive_every_other_page():
    """Issue 14's first defect, kept proven here: settings and pasted text on Train live come
    back unchanged after a round of every other page, and no change is claimed."""
    at = _open_page("train")
    pasted = load_corpus("english")[:300] + " <b>**kept**</b>"
    _set(at, "train_paste", pasted)
    at.button(key="train_confirm").click().run()  # a new run on the pasted text
    at.button(key="train_step").click().run()
    run = state.train_run(at.session_state)
    assert run.corpus_name == "pasted text" and run.steps == 1
    for page in PAGES:
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, errors(at)
    at.switch_page("pages/train.py").run()
    assert not at.exception, errors(at)
    assert at.radio(key="train_source").value == "Paste text"
    assert at.text_area(key="train_paste").value == pasted
    assert at.number_input(key="train_hidden").value == 8
    assert state.train_run(at.session_state) is run
    assert not any("You changed" in w.value for w in at.warning)
