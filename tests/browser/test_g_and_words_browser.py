"""In a real browser: a word-level model in every view, a ReLU model in the Explorer and the BPTT
page, a PyTorch model uploaded into the Explorer, and Home's choice of g. Screenshots go to
tests/screenshots/ (g-*.png) for a person to look at."""

from __future__ import annotations

from urllib.parse import quote

from rnn import RNN, Vocab, pytorch_bytes

TEXT = "The incomprehensibilities of the keeper, the lamp and the sea."
VIEW = ".rx"  # the Explorer's step view (Playwright's CSS selectors reach into its shadow root)


def _shoot(page, screenshot, name: str) -> None:
    """The whole page: make the viewport as tall as Streamlit's main block first."""
    height = page.evaluate(
        "() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": max(1000, min(int(height) + 40, 5000))})
    page.wait_for_timeout(500)
    screenshot(page, name)
    page.set_viewport_size({"width": 1400, "height": 1000})


def _open(page, url: str, wait_for_app) -> None:
    page.goto(url)
    wait_for_app(page)
    if "/explorer" in url:
        page.locator(f"{VIEW}[data-ready='1']").wait_for(state="attached", timeout=30_000)
    else:
        page.wait_for_selector(".js-plotly-plot", timeout=30_000)
    page.wait_for_timeout(500)


def _go(page, label: str, wait_for_app, text: str = TEXT) -> None:
    """Another page of the same session, by the sidebar's navigation, reading ``text``."""
    page.locator('[data-testid="stSidebarNav"] a', has_text=label).first.click()
    page.wait_for_timeout(500)
    wait_for_app(page, timeout_ms=90_000)
    box = page.locator('[data-testid="stTextInput"] input')
    if box.count() and box.first.input_value() != text:
        box.first.fill(text)
        box.first.press("Enter")
        wait_for_app(page, timeout_ms=90_000)
    page.wait_for_selector(".js-plotly-plot", timeout=60_000)
    page.wait_for_timeout(500)


def _main_text(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def test_word_model_in_every_view(app_server, page, wait_for_app, screenshot):
    _open(page, f"{app_server}/explorer?model=words&text={quote(TEXT)}", wait_for_app)
    text = _main_text(page)
    assert "400 words" in text and "nats per word" in text
    cut = page.locator(f"{VIEW} .tokens .tok[data-t='2']")
    assert cut.inner_text() == "incomprehen…"  # a long word cut in its cell...
    assert cut.get_attribute("title").startswith("incomprehensibilities")  # ...whole on hover
    spill = page.locator(f"{VIEW} .hticks > span").evaluate_all(
        """spans => spans.filter(s => s.scrollWidth > s.clientWidth + 1
                                 && getComputedStyle(s).overflowX !== 'hidden').length""")
    assert page.locator(f"{VIEW} .hticks").is_visible()
    assert spill == 0, "a word's label in the hidden-state view runs into the next column"
    _shoot(page, screenshot, "g-words-explorer")
    for label, name in (("Backprop", "bptt"), ("Hidden-state", "space"), ("atlas", "atlas")):
        _go(page, label, wait_for_app)
        assert page.locator('[data-testid="stException"]').count() == 0
        _shoot(page, screenshot, f"g-words-{name}")
    assert "position in a word" in _main_text(page)  # the atlas says what it left out


def test_relu_model_in_the_explorer_and_bptt(app_server, page, wait_for_app, screenshot):
    _open(page, f"{app_server}/explorer?model=g-relu&text={quote('The keeper climbed.')}",
          wait_for_app)
    text = _main_text(page)
    assert "h = max(0, a)" in text
    assert "ReLU(a" in page.locator(f"{VIEW} figure.grid[data-term='h'] figcaption").inner_text()
    assert "ReLU(" in page.locator(f"{VIEW} .equation").inner_text()
    _shoot(page, screenshot, "g-relu-explorer")
    _go(page, "Backprop", wait_for_app, "The keeper climbed.")
    text = _main_text(page)
    assert "g = relu" in text and "Same text, four activations" in text
    _shoot(page, screenshot, "g-relu-bptt")


def test_uploaded_pytorch_model_in_the_explorer(app_server, page, wait_for_app, screenshot,
                                                tmp_path):
    vocab = Vocab.build("the keeper climbed the stairs to light the lamp")
    model = RNN.create(vocab.size, 24, seed=3, init_std=0.4, activation="relu")
    path = tmp_path / "my_rnn.safetensors"
    path.write_bytes(pytorch_bytes(model, vocab))
    _open(page, f"{app_server}/explorer", wait_for_app)
    page.locator('[data-testid="stSidebar"] [data-testid="stExpander"]',
                 has_text="Upload").first.click()
    page.locator('[data-testid="stSidebar"] input[type="file"]').first.set_input_files(str(path))
    wait_for_app(page)
    page.wait_for_selector("text=PyTorch: my_rnn", timeout=30_000)
    page.locator(f"{VIEW}[data-ready='1']").wait_for(state="attached", timeout=30_000)
    page.wait_for_timeout(800)
    text = _main_text(page)
    assert "PyTorch: my_rnn" in text and "h = max(0, a)" in text and "H = 24" in text
    assert page.locator('[data-testid="stException"]').count() == 0
    _shoot(page, screenshot, "g-pytorch-explorer")


def test_home_switches_g(app_server, page, wait_for_app, screenshot):
    _open(page, app_server + "/", wait_for_app)
    page.locator('[data-testid="stMain"] button', has_text="sigmoid").first.click()
    wait_for_app(page)
    page.wait_for_timeout(800)
    assert "slope h (1 − h)" in page.locator(".js-plotly-plot").first.inner_text()
    _shoot(page, screenshot, "g-home-sigmoid")
