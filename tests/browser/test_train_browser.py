"""Train live in a real browser: play, watch the loss curve grow and samples appear, pause."""

from __future__ import annotations

import json

import pytest

from figures.train import MAX_POINTS
from tests.browser.conftest import TRAIN_STEP, streamlit_server, train_step, wait_train_step


@pytest.fixture(scope="module")
def app_server():
    """A server of its own: runs other browser tests left playing on the shared server would
    take both training places, and this run's charts would follow its turns, not its steps."""
    with streamlit_server() as base_url:
        yield base_url


def _loss_points(page) -> list:
    """[number of points, last step] of the training loss drawn in the loss chart."""
    return page.evaluate(
        """() => { for (const el of document.querySelectorAll('.js-plotly-plot')) {
                     const t = ((el.layout && el.layout.title && el.layout.title.text) || '')
                         .replace(/<[^>]*>/g, '');
                     if (t === 'Loss') { const d = (el._fullData || []).find(d => d.name ===
                         'training (per step)');
                       return d ? [d.x.length, d.x[d.x.length - 1]] : [0, 0];
                     } }
                   return [-1, -1]; }""")


def _button(page, key):
    """A button found by its widget key (Streamlit puts ``st-key-<key>`` on its container)."""
    return page.locator(f".st-key-{key} button")


def test_play_watch_pause(app_server, page, wait_for_app, screenshot):
    page.goto(app_server + "/train")
    page.wait_for_selector(TRAIN_STEP, timeout=60_000)  # the first run has really drawn the page
    wait_for_app(page)
    assert page.locator('[data-testid="stSidebarNav"]', has_text="Train live").count()
    assert train_step(page) == 0
    screenshot(page, "train-start")

    _button(page, "train_play").first.click()
    wait_train_step(page, 301, 60_000)  # the timer keeps training: steps grow without a click
    # the charts redraw about once a second, on their own timer: a fast run passes step 300
    # before the first redraw after Play, so wait for the curve itself to show steps
    page.wait_for_function(
        """() => { for (const el of document.querySelectorAll('.js-plotly-plot')) {
                     const d = (el._fullData || []).find(d => d.name === 'training (per step)');
                     if (d && d.x.length && d.x[d.x.length - 1] > 0) return true; }
                   return false; }""", timeout=60_000)
    first = _loss_points(page)[1]
    page.wait_for_timeout(2500)
    second = _loss_points(page)[1]
    assert 0 < first < second, (first, second)  # the curve reaches further
    screenshot(page, "train-playing")

    _button(page, "train_pause").first.click()
    wait_for_app(page)
    paused = train_step(page)
    page.wait_for_timeout(1500)
    assert train_step(page) == paused, "training went on after pause"
    n, last = _loss_points(page)
    # The curve reaches the paused step exactly, thinned: Pause waits for a chunk still
    # training on the previous script run's thread before the page is drawn.
    assert last == paused, (last, paused)
    assert n == min(last, MAX_POINTS)
    samples = page.locator('[data-testid="stMain"] [data-testid="stCode"]')
    assert samples.count() >= 2, "no samples shown"
    text = json.dumps(samples.all_inner_texts())
    assert len(text) > 100
    screenshot(page, "train-paused")
    samples.first.scroll_into_view_if_needed()  # the page scrolls inside stMain
    page.wait_for_timeout(500)
    screenshot(page, "train-paused-samples")
    page.locator(".st-key-train_explore button").scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    screenshot(page, "train-paused-handoff")
