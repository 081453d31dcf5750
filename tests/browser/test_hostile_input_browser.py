"""Hostile input where only a browser shows the truth: markup that would run, real uploads
through the file inputs, a file over the upload limit, and clicks faster than the reruns."""

from __future__ import annotations

import re
import urllib.parse

import pytest

from tests.browser.conftest import TRAIN_STEP, train_step, wait_train_step
from tests.test_hostile_files import CORPORA_BAD, _pickle_checkpoint

XSS = ['<img src=x onerror="window.__pwned=1"><svg onload="window.__pwned=1">',
       "<script>window.__pwned=1</script> [x](javascript:window.__pwned=1) $\\def\\a{1}$"]


def _pwned(page) -> bool:
    return bool(page.evaluate("() => window.__pwned === 1"))


def _alerts(page) -> list:
    seen = []
    page.on("dialog", lambda d: (seen.append(d.message), d.dismiss()))
    return seen


@pytest.mark.parametrize("payload", XSS)
def test_markup_in_a_link_or_a_text_never_runs(app_server, page, wait_for_app, payload):
    alerts = _alerts(page)
    page.goto(f"{app_server}/explorer?text={urllib.parse.quote(payload)}"
              f"&model={urllib.parse.quote(payload)}&step={urllib.parse.quote(payload)}")
    wait_for_app(page)
    from playwright.sync_api import expect  # here: without playwright the fixtures skip first

    expect(page.locator('[data-testid="stTextInput"] input').first).to_have_value(
        payload, timeout=20_000)
    main = page.locator('[data-testid="stMain"]').inner_text()
    assert "not here" in main  # the unknown model is explained, as text
    for path in ("/bptt", "/space", "/atlas"):
        page.goto(app_server + path)
        wait_for_app(page)
    page.goto(app_server + "/train")
    wait_for_app(page)
    page.locator(".st-key-train_source label", has_text="Paste text").click()
    wait_for_app(page)
    box = page.locator(".st-key-train_paste textarea")
    box.fill(payload * 20)
    box.press("Control+Enter")
    wait_for_app(page)
    assert not _pwned(page) and not alerts
    assert page.locator('[data-testid="stMain"] img[src="x"], [data-testid="stMain"] svg[onload]'
                        ).count() == 0


def _open_sidebar_uploader(page) -> None:
    page.locator('[data-testid="stSidebar"] [data-testid="stExpander"] summary',
                 has_text="Upload a checkpoint").click()


def test_pickle_checkpoint_upload_is_refused_and_never_runs(app_server, page, wait_for_app,
                                                            tmp_path):
    marker = tmp_path / "pwned"
    bad = tmp_path / "model.npz"
    bad.write_bytes(_pickle_checkpoint(str(marker), "W_i"))
    page.goto(app_server + "/explorer")
    wait_for_app(page)
    _open_sidebar_uploader(page)
    page.locator(".st-key-model_picker_upload input[type=file]").set_input_files(str(bad))
    page.get_by_text("Could not load this file").wait_for(timeout=30_000)
    wait_for_app(page)
    assert not marker.exists(), "the pickle in the upload ran on the server"
    assert "model=english" in page.url  # the model shown has not changed


def test_file_over_the_upload_limit_is_stopped_in_the_browser(app_server, page, wait_for_app,
                                                              tmp_path):
    big = tmp_path / "big.npz"
    with big.open("wb") as f:
        f.truncate(150 * 10**6)  # 150 MB of zeros, sparse on disk
    page.goto(app_server + "/explorer")
    wait_for_app(page)
    _open_sidebar_uploader(page)
    page.locator(".st-key-model_picker_upload input[type=file]").set_input_files(str(big))
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text(re.compile(r"must be .*MB or smaller", re.I)).wait_for(timeout=30_000)
    wait_for_app(page)
    assert "model=english" in page.url


@pytest.mark.parametrize("name", ["binary", "not_utf8", "single_distinct_character"])
def test_bad_corpus_upload_gets_a_message(app_server, page, wait_for_app, tmp_path, name):
    data, words = CORPORA_BAD[name]
    path = tmp_path / "corpus.txt"
    path.write_bytes(data)
    page.goto(app_server + "/train")
    page.wait_for_selector(TRAIN_STEP, timeout=60_000)
    wait_for_app(page)
    page.locator(".st-key-train_source label", has_text="Upload a .txt file").click()
    wait_for_app(page)
    page.locator(".st-key-train_upload input[type=file]").set_input_files(str(path))
    page.locator('[data-testid="stAlertContentError"]', has_text=words).first.wait_for(
        timeout=30_000)
    wait_for_app(page)
    assert page.locator(TRAIN_STEP).count()  # the run is still shown


def test_rapid_clicks_while_training(app_server, page, wait_for_app):
    """Play, then pause, step, play, reset, step, play, pause as fast as the page takes them."""
    page.goto(app_server + "/train")
    page.wait_for_selector(TRAIN_STEP, timeout=60_000)
    wait_for_app(page)
    buttons = {k: page.locator(f".st-key-train_{k} button").first for k in
               ("play", "pause", "step", "reset")}
    buttons["play"].click()
    wait_train_step(page, 21, 60_000)
    for key in ("pause", "step", "play", "reset", "step", "play", "pause", "pause"):
        # force: no waiting for the button to be enabled; one disabled meanwhile (by the rerun
        # of the click before) takes the click as a person's would, without effect
        buttons[key].click(timeout=5000, force=True, no_wait_after=True)
        page.wait_for_timeout(50)
    page.wait_for_timeout(1500)  # the clicks' reruns; the run may be playing after them
    if buttons["pause"].is_enabled():  # a playing page reruns on its own: pause it first
        buttons["pause"].click()
    wait_for_app(page, settle_ms=1500)
    shown = train_step(page)
    page.wait_for_timeout(1500)
    assert train_step(page) == shown
    assert buttons["play"].is_enabled() and not buttons["pause"].is_enabled()
