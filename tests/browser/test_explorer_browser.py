"""The explorer in a real browser: the step view steps, plays, hovers and picks neurons by itself,
shows model.forward's numbers, and the URL follows once stepping pauses."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, quote, urlparse

import numpy as np
import pytest

from rnn import load_checkpoint

SENTENCE = "A lamp at the top of the tower."
MODELS = Path(__file__).resolve().parents[2] / "models"
VIEW = ".rx"  # the step view's root (Playwright's CSS selectors reach into its shadow root)


def url_params(page) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}


def wait_url(page, key: str, value: str, timeout_ms: int = 15_000) -> None:
    """Wait until the address bar says key=value."""
    page.wait_for_function(
        "([k, v]) => new URL(location.href).searchParams.get(k) === v", arg=[key, value],
        timeout=timeout_ms)


def shown(page) -> dict[str, str]:
    """The step view's own record of what it has drawn: step, neuron, playing."""
    return page.locator(VIEW).evaluate("r => ({...r.dataset})")


def wait_step(page, step: int, timeout_ms: int = 10_000) -> None:
    page.locator(f"{VIEW}[data-step='{step}']").wait_for(state="attached", timeout=timeout_ms)


def open_view(page, wait_for_app, query: str) -> None:
    page.goto(query)
    wait_for_app(page)
    page.locator(f"{VIEW}[data-ready='1']").wait_for(state="attached", timeout=30_000)


def trace_of(text: str, key: str = "english"):
    model, vocab, _ = load_checkpoint(MODELS / f"{key}.npz")
    enc = vocab.encode_report(text)
    return model, vocab, enc, model.forward(enc.ids)


def shown_number(s: str) -> float:
    return float(s.replace("−", "-"))


def cell_centre(page, term: str, k: int) -> tuple[float, float]:
    """Page coordinates of neuron k's cell in one of the five grids (cells are read row by row)."""
    return page.locator(f"{VIEW} figure.grid[data-term='{term}'] canvas").evaluate(
        """(c, k) => {
            const H = Number(c.closest('.rx').querySelector('.neuron').max) + 1;
            const cols = Math.max(1, Math.ceil(Math.sqrt(2 * H)));
            const cs = (c.getBoundingClientRect().width - 3) / cols;
            const box = c.getBoundingClientRect();
            const r = Math.floor(k / cols);
            return [box.left + 2 + (k % cols + 0.5) * cs, box.top + 2 + (r + 0.5) * cs];
        }""", k)


def test_stepping_hover_and_numbers(app_server, page, wait_for_app, screenshot):
    page.set_viewport_size({"width": 1400, "height": 2600})
    open_view(page, wait_for_app, app_server + "/explorer?text=" + quote(SENTENCE))
    model, vocab, enc, trace = trace_of(SENTENCE)
    T = len(enc.ids)
    assert page.locator(f"{VIEW} .tokens .tok").count() == T
    assert page.locator(".js-plotly-plot").count() == 0  # no plotly for the step view

    # keys: none dropped, each one drawn; Home, End and Left too
    for _ in range(7):
        page.keyboard.press("ArrowRight")
    assert shown(page)["step"] == "7"
    page.keyboard.press("End")
    assert shown(page)["step"] == str(T - 1)
    page.keyboard.press("Home")
    page.keyboard.press("ArrowLeft")  # stays at 0
    assert shown(page)["step"] == "0"
    for _ in range(6):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowLeft")
    t = 5
    assert shown(page)["step"] == str(t)
    wait_url(page, "step", str(t))  # the URL follows once stepping pauses

    # a click on a cell of h_t picks that neuron at once
    j = 37
    page.mouse.click(*cell_centre(page, "h", j))
    page.locator(f"{VIEW}[data-neuron='{j}']").wait_for(state="attached", timeout=2000)
    wait_url(page, "neuron", str(j))
    heading = page.locator(f"{VIEW} .eqhead").inner_text()
    assert heading == f"Neuron {j} at step {t}, with its numbers"

    # the equation: the Trace's numbers
    eq = {term: page.locator(f"{VIEW} .equation [data-term='{term}']") for term in
          ("Wi_x", "Wh_h", "b_h", "a", "h")}
    want = {"Wi_x": trace.Wi_x[t, j], "Wh_h": trace.Wh_h[t, j], "b_h": model.b_h[j],
            "a": trace.a[t, j], "h": trace.h[t, j]}
    for term, loc in eq.items():
        assert float(loc.get_attribute("data-value")) == pytest.approx(want[term], abs=1e-6)
        assert shown_number(loc.inner_text()) == pytest.approx(abs(want[term]) if term in (
            "Wh_h", "b_h") else want[term], abs=6e-5)  # "+ x" / "− x" after the first term

    # the memory term: the listed products are W_h[j,k]·h_{t-1}[k]; all H sum to W_h·h_{t-1}[j]
    h_prev = trace.h[t - 1]
    memsum = page.locator(f"{VIEW} .memsum")
    assert float(memsum.get_attribute("data-value")) == pytest.approx(trace.Wh_h[t, j], abs=1e-5)
    assert memsum.inner_text() == page.locator(f"{VIEW} .memterm").inner_text()
    rows = page.locator(f"{VIEW} .contrib tr[data-k]")
    assert rows.count() == 10
    for i in range(rows.count()):
        k = int(rows.nth(i).get_attribute("data-k"))
        got = float(rows.nth(i).locator("td.c").get_attribute("data-value"))
        assert got == pytest.approx(model.W_h[j, k] * h_prev[k], abs=1e-6)
    products = model.W_h[j] * h_prev
    top_pos = {int(rows.nth(i).get_attribute("data-k")) for i in range(5)}
    assert top_pos == set(np.argsort(-products)[:5].tolist())

    # the ten best guesses and the actual next token's -ln p
    bars = page.locator(f"{VIEW} .topk .bar")
    ids = np.argsort(-trace.probs[t], kind="stable")[:10]
    assert [int(bars.nth(i).get_attribute("data-id")) for i in range(10)] == ids.tolist()
    for i in range(10):
        assert float(bars.nth(i).get_attribute("data-p")) == pytest.approx(
            trace.probs[t, ids[i]], abs=1e-6)
    nxt = int(enc.ids[t + 1])
    assert page.locator(f"{VIEW} .topk .bar.actual").get_attribute("data-id") == str(nxt)
    loss = page.locator(f"{VIEW} .predtext .loss")
    assert loss.inner_text() == f"{-np.log(trace.probs[t, nxt]):.3f}"

    # hover a cell of a_t: its exact value, neuron, step and token, and the link to other views
    k = 3
    page.mouse.move(*cell_centre(page, "a", k))
    tip = page.locator(f"{VIEW} .tip")
    tip.wait_for(state="visible", timeout=2000)
    text = tip.inner_text()
    assert f"neuron {k}" in text and f"step {t}" in text and f"“{SENTENCE[t]}”" in text, text
    value = shown_number(re.search(r"= (−?\d+\.\d{4})", text).group(1))
    assert value == pytest.approx(trace.a[t, k], abs=6e-5)
    assert page.locator(f"{VIEW} .readout").inner_text() == text
    # the off-screen table reads the chosen neuron's numbers at this step
    table = page.locator(f"{VIEW} table.srtable").inner_text()
    assert f"Neuron {j} at step {t}" in table and "h_t = tanh(a_t)" in table
    screenshot(page, "explorer-hover-light")

    # buttons with real names, the slider, a token click
    page.get_by_role("button", name="Next step").click()
    assert shown(page)["step"] == str(t + 1)
    page.get_by_role("button", name="Last step").click()
    assert shown(page)["step"] == str(T - 1)
    page.get_by_role("button", name="First step").click()
    page.get_by_role("button", name="Previous step").click()
    assert shown(page)["step"] == "0"
    page.get_by_role("slider", name="Step t").focus()
    page.keyboard.press("ArrowRight")  # the slider's own step, not two
    assert shown(page)["step"] == "1"
    page.locator(f"{VIEW} .tokens .tok[data-t='12']").click()
    assert shown(page)["step"] == "12"
    wait_url(page, "step", "12")
    assert url_params(page)["neuron"] == str(j)

    # a copied link reproduces the view
    copied = page.url
    other = page.context.new_page()
    other.set_viewport_size({"width": 1400, "height": 1200})
    open_view(other, wait_for_app, copied)
    assert shown(other)["step"] == "12" and shown(other)["neuron"] == str(j)
    other.close()


def test_play_keeps_time_and_reaches_the_end(app_server, page, wait_for_app):
    text = "The lamp is lit."
    open_view(page, wait_for_app, app_server + "/explorer?text=" + quote(text))
    T = len(text)
    page.locator(VIEW).evaluate("""r => {
        window.__steps = [];
        new MutationObserver(() => window.__steps.push([performance.now(), Number(r.dataset.step)]))
            .observe(r, {attributes: true, attributeFilter: ['data-step']});
    }""")
    page.get_by_role("combobox", name="Speed while playing").select_option("10")
    play = page.get_by_role("button", name="Play")
    play.click()
    page.locator(f"{VIEW}[data-playing='1']").wait_for(state="attached", timeout=2000)
    assert page.locator(VIEW).evaluate("r => r.getRootNode().activeElement?.dataset.act") == "play"
    page.locator(f"{VIEW}[data-playing='0'][data-step='{T - 1}']").wait_for(
        state="attached", timeout=10_000)
    steps = page.evaluate("window.__steps")
    assert [s for _, s in steps] == list(range(1, T))  # every step drawn, none skipped
    rate = (len(steps) - 1) / ((steps[-1][0] - steps[0][0]) / 1000)
    assert 8 <= rate <= 10.5, rate
    # focus stays on the Play/Pause button, which says Play again at the end
    assert page.locator(VIEW).evaluate("r => r.getRootNode().activeElement?.dataset.act") == "play"
    assert page.get_by_role("button", name="Play").count() == 1
    wait_url(page, "step", str(T - 1))

    # Space plays and pauses (the focused button does not take it twice)
    page.keyboard.press("Space")  # from the end: starts over
    page.locator(f"{VIEW}[data-playing='1']").wait_for(state="attached", timeout=2000)
    page.wait_for_timeout(350)
    page.keyboard.press("Space")
    page.locator(f"{VIEW}[data-playing='0']").wait_for(state="attached", timeout=2000)
    stopped = shown(page)["step"]
    assert 1 <= int(stopped) < T - 1
    page.wait_for_timeout(600)
    assert shown(page)["step"] == stopped
    wait_url(page, "step", stopped)


def test_shared_link_and_bad_params(app_server, page, wait_for_app, screenshot):
    page.set_viewport_size({"width": 1400, "height": 1600})
    open_view(page, wait_for_app,
              app_server + "/explorer?text=Hello%20%3Cb%3Ew%C3%B6rld%3C%2Fb%3E&step=4&neuron=77")
    assert shown(page)["step"] == "4" and shown(page)["neuron"] == "77"
    assert page.locator(f"{VIEW} .stepinfo").inner_text() == "Step t = 4 of 17"
    assert page.locator("b:has-text('wörld')").count() == 0  # user text is never markup
    unknown = [i for i, _ in trace_of("Hello <b>wörld</b>")[2].unknown]
    assert unknown and [int(t) for t in page.locator(f"{VIEW} .tokens .tok.unk").evaluate_all(
        "els => els.map(e => e.dataset.t)")] == unknown  # outlined
    screenshot(page, "explorer-shared-link")

    # the weights stay plotly, drawn on demand
    page.get_by_text("The weights: W_i, W_h, W_o").click()
    page.wait_for_selector(".st-key-explorer_W_h .js-plotly-plot .main-svg", timeout=30_000)

    page.goto(app_server + "/explorer?step=999&neuron=x&model=nope")
    wait_for_app(page)
    alerts = " ".join(page.locator('[data-testid="stAlert"]').all_inner_texts())
    assert "999" in alerts and "nope" in alerts and "neuron" in alerts
    wait_url(page, "step", "0")


# -- a pause costs the network next to nothing ----------------------------------------------

def assert_numbers(page, model, trace, t: int, j: int) -> None:
    """The step view shows step t and neuron j, and its equation holds the Trace's numbers."""
    page.locator(f"{VIEW}[data-step='{t}'][data-neuron='{j}']").wait_for(
        state="attached", timeout=15_000)
    heading = page.locator(f"{VIEW} .eqhead").inner_text()
    assert heading == f"Neuron {j} at step {t}, with its numbers"
    want = {"Wi_x": trace.Wi_x[t, j], "Wh_h": trace.Wh_h[t, j], "b_h": model.b_h[j],
            "a": trace.a[t, j], "h": trace.h[t, j]}
    for term, value in want.items():
        got = page.locator(f"{VIEW} .equation [data-term='{term}']").get_attribute("data-value")
        assert float(got) == pytest.approx(value, abs=1e-6), term


def test_a_pause_sends_no_trace_again(app_server, page, wait_for_app):
    """The rerun after a report (stepping paused, a neuron picked) receives a small fraction of
    the trace's bytes; the view is right after a pause, another page and back, and a reload."""
    from figures.style import SIGNED_STOPS
    from session.explorer import build_step_trace

    received = []  # the size of every websocket frame the page receives, in order
    page.on("websocket", lambda ws: ws.on("framereceived", lambda data: received.append(len(data))))
    text = ("The keeper climbed the stairs to light the lamp, and far below the grey sea "
            "rolled on into the night. ")[:100]
    page.set_viewport_size({"width": 1400, "height": 2000})
    open_view(page, wait_for_app, app_server + "/explorer?text=" + quote(text))
    wait_for_app(page)
    model, vocab, enc, trace = trace_of(text)
    run = build_step_trace("english", model, vocab, text, SIGNED_STOPS)
    size = len(run.blob)  # the trace's arrays, the bulk of the payload
    assert sum(received) > size  # the first visit brings the trace: the count sees it

    def bytes_of(act, key: str, value: str) -> int:
        """Bytes received from act() until the report's rerun has set key=value in the URL."""
        wait_for_app(page)
        start = len(received)
        act()
        wait_url(page, key, value)
        wait_for_app(page)
        return sum(received[start:])

    def step_to(t: int):
        return lambda: page.locator(f"{VIEW} .tokens .tok[data-t='{t}']").click()

    paused = bytes_of(step_to(3), "step", "3")
    picked = bytes_of(lambda: page.mouse.click(*cell_centre(page, "h", 37)), "neuron", "37")
    print(f"\nbytes received per report: pause {paused}, neuron click {picked}; "
          f"payload {size} (T={len(enc.ids)}, H={model.hidden_size})")
    assert paused < 0.1 * size and picked < 0.1 * size
    assert_numbers(page, model, trace, 3, 37)

    # another page and back: a new mount of the view, where the last one stood
    nav = page.locator('[data-testid="stSidebarNav"]')

    def away_and_back() -> None:
        nav.get_by_role("link", name="Home").click()
        wait_for_app(page)
        assert page.locator(VIEW).count() == 0
        nav.get_by_role("link", name="Explorer").click()
        wait_for_app(page)

    away_and_back()
    assert_numbers(page, model, trace, 3, 37)
    page.keyboard.press("ArrowRight")  # and away at once, before the pause is reported
    away_and_back()
    assert_numbers(page, model, trace, 4, 37)
    wait_url(page, "step", "4")  # the new mount reports the move
    wait_for_app(page)

    # a reload: a new session from the URL
    page.reload()
    page.locator(f"{VIEW}[data-ready='1']").wait_for(state="attached", timeout=30_000)
    wait_for_app(page)
    assert_numbers(page, model, trace, 4, 37)
    again = bytes_of(step_to(9), "step", "9")
    assert again < 0.1 * size
    assert_numbers(page, model, trace, 9, 37)

    # the colour mode is the view's own too: each change costs a report, never the trace again
    scales = run.meta["scales"]
    labels = {"own": "each term its own scale", "shared": "one scale for all terms"}
    for key in ("shared", "own", "shared"):
        changed = bytes_of(lambda k=key: page.get_by_text(labels[k], exact=True).click(),
                           "colour", key)
        print(f"bytes received for a change of colours to {key}: {changed}")
        assert changed < 0.1 * size, (key, changed, size)
        assert range_label(page, "Wi_x") == range_text(scales["shared" if key == "shared" else
                                                             "Wi_x"])
    assert_numbers(page, model, trace, 9, 37)  # the step and the neuron stay


def range_label(page, term: str) -> str:
    """The colour range written under one of the grids."""
    return page.locator(f"{VIEW} figure.grid[data-term='{term}'] .range").inner_text()


def range_text(z: float) -> str:
    """A symmetric range as the step view writes it under a grid."""
    digits = 2 if z < 10 else 1
    return f"−{z:.{digits}f} … {z:.{digits}f}"


def cell_rgb(page, term: str, k: int) -> list[int]:
    """The colour painted in the middle of neuron k's cell of a grid."""
    x, y = cell_centre(page, term, k)
    return page.locator(f"{VIEW} figure.grid[data-term='{term}'] canvas").evaluate(
        """(c, [x, y]) => {
            const box = c.getBoundingClientRect(), f = c.width / box.width;
            const d = c.getContext('2d').getImageData(Math.floor((x - box.left) * f),
                                                      Math.floor((y - box.top) * f), 1, 1).data;
            return [d[0], d[1], d[2]];
        }""", [x, y])


def test_colours_and_speed_are_the_step_views_own(app_server, page, wait_for_app):
    """A link's ?colour=shared&speed=5 opens so; the colour buttons (reached by Tab) repaint
    the grids at once, with no frame from the server; the URL follows both."""
    from figures.style import SIGNED_STOPS
    from session.explorer import build_step_trace

    received = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda data: received.append(len(data))))
    page.set_viewport_size({"width": 1400, "height": 2000})
    open_view(page, wait_for_app, app_server + "/explorer?step=4&neuron=3&colour=shared&speed=5"
              "&text=" + quote(SENTENCE))
    wait_for_app(page)
    model, vocab, enc, trace = trace_of(SENTENCE)
    scales = build_step_trace("english", model, vocab, SENTENCE, SIGNED_STOPS).meta["scales"]
    assert scales["Wi_x"] < scales["shared"]  # the two modes differ on this text
    assert shown(page)["colour"] == "shared" and shown(page)["speed"] == "5"
    group = page.get_by_role("group", name="Colours of the four terms")
    own = group.get_by_role("button", name="each term its own scale", exact=True)
    one = group.get_by_role("button", name="one scale for all terms", exact=True)
    assert (own.get_attribute("aria-pressed"), one.get_attribute("aria-pressed")) == (
        "false", "true")
    assert "99th percentile" in group.get_attribute("title")  # the help, as a tooltip
    assert "99th percentile" in page.locator(f"{VIEW} .colourhelp").inner_text()  # and shown
    speed = page.get_by_role("combobox", name="Speed while playing")
    assert speed.input_value() == "5"
    for term in ("Wi_x", "Wh_h", "b_h", "a"):
        assert range_label(page, term) == range_text(scales["shared"]), term
    assert range_label(page, "h") == "−1.00 … 1.00"  # h_t keeps g's range in either mode
    k = int(np.argmax(np.abs(trace.Wi_x[4])))  # a cell whose colour differs between the modes
    shared_rgb = cell_rgb(page, "Wi_x", k)

    # by keyboard: from the slider, Tab reaches the colour buttons; Enter presses one
    page.get_by_role("slider", name="Step t").focus()
    page.keyboard.press("Tab")
    assert page.locator(VIEW).evaluate("r => r.getRootNode().activeElement?.textContent") == (
        "each term its own scale")
    wait_for_app(page)
    start = len(received)
    # press the focused button (what Enter does) and read the label in the same task: the
    # grids are repainted before the server could have answered anything
    label = page.locator(VIEW).evaluate("""r => {
        r.getRootNode().activeElement.click();
        return r.querySelector('figure.grid[data-term="Wi_x"] .range').textContent;
    }""")
    assert label == range_text(scales["Wi_x"])
    wait_url(page, "colour", "own")
    wait_for_app(page)
    assert sum(received[start:]) < 10_000  # the report's rerun: a reference, not the trace
    assert range_label(page, "b_h") == range_text(scales["b_h"])
    assert cell_rgb(page, "Wi_x", k) != shared_rgb
    assert (own.get_attribute("aria-pressed"), one.get_attribute("aria-pressed")) == (
        "true", "false")
    # a real key press on the other button
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert range_label(page, "Wi_x") == range_text(scales["shared"])
    assert cell_rgb(page, "Wi_x", k) == shared_rgb
    wait_url(page, "colour", "shared")
    assert shown(page)["step"] == "4" and shown(page)["neuron"] == "3"  # nothing else moved

    # the speed is reported with the view and kept in the URL
    speed.select_option("10")
    wait_url(page, "speed", "10")
    wait_for_app(page)

    # another page and back, and a copied link: the same colours and speed
    nav = page.locator('[data-testid="stSidebarNav"]')
    nav.get_by_role("link", name="Home").click()
    wait_for_app(page)
    nav.get_by_role("link", name="Explorer").click()
    wait_for_app(page)
    page.locator(f"{VIEW}[data-ready='1']").wait_for(state="attached", timeout=30_000)
    assert shown(page)["colour"] == "shared" and shown(page)["speed"] == "10"
    assert url_params(page)["colour"] == "shared" and url_params(page)["speed"] == "10"
    other = page.context.new_page()
    other.set_viewport_size({"width": 1400, "height": 1200})
    open_view(other, wait_for_app, page.url)
    assert shown(other)["colour"] == "shared" and shown(other)["speed"] == "10"
    assert other.get_by_role("combobox", name="Speed while playing").input_value() == "10"
    assert range_label(other, "Wi_x") == range_text(scales["shared"])
    other.close()
