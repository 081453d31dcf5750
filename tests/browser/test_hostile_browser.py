"""Issue 15 in a real browser: link injection (D8), values across pages (D5, D10), upload
limits (D11, D12)."""

from __future__ import annotations

import urllib.parse

import pytest

TEXT_INPUT = 'input[aria-label="Text for the network to read"]'
ALERT = '[data-testid="stAlert"]'


def go(page, wait_for_app, name: str) -> None:
    """Click a page in the sidebar navigation and wait for its run."""
    page.locator('[data-testid="stSidebarNav"] a', has_text=name).first.click()
    page.wait_for_timeout(300)
    wait_for_app(page)


def text_value(page) -> str:
    from playwright.sync_api import expect

    box = page.locator(f'[data-testid="stMain"] {TEXT_INPUT}').last
    expect(box).to_be_visible(timeout=20_000)
    return box.input_value()


# -- D8: nothing from a link becomes a link, a heading or markup -------------------------------

INJECTIONS = [
    ("model", "x\r\rSession expired. Log in at www.evil-example.com/login"),
    ("model", "foo\r===\rbar"),
    ("model", "&lt;b&gt;bold&lt;/b&gt; https://evil-example.com a@evil-example.com"),
    ("step", "1\r\r# Session expired\r\rLog in at www.evil-example.com/login"),
    ("neuron", "2\n\n## Heading\n\nhttp://evil-example.com"),
]


@pytest.mark.parametrize("param,value", INJECTIONS, ids=["crcr", "setext", "entities", "step",
                                                         "neuron"])
def test_d8_link_parameters_stay_plain_text(app_server, page, wait_for_app, param, value):
    query = urllib.parse.urlencode({"text": "Hello there", param: value})
    page.goto(f"{app_server}/explorer?{query}")
    wait_for_app(page)
    alerts = page.locator(f'[data-testid="stMain"] {ALERT}')
    alerts.first.wait_for(timeout=20_000)
    warning = alerts.filter(has_text="link").first
    text = warning.inner_text()
    assert warning.locator("a").count() == 0, warning.inner_html()
    assert warning.locator("h1, h2, h3, h4, h5, h6, hr, b, strong, script").count() == 0
    if "&lt;" in value:
        assert "&lt;b&gt;" in text  # the entity as typed, not a rendered <b>
    for word in ("evil-example", "Session expired", "===", "Heading"):
        if word in value:
            assert word in text.replace("\u2060", "")
    assert page.locator('[data-testid="stMain"] a[href*="evil"]').count() == 0


# -- D10 and D5: every value survives a visit to another page ----------------------------------


def test_d10_shared_text_follows_to_every_page(app_server, page, wait_for_app):
    page.goto(f"{app_server}/explorer?text=A%20shared%20sentence")
    wait_for_app(page)
    assert text_value(page) == "A shared sentence"
    for name in ("Backprop", "Hidden-state", "Home", "Explorer", "Hidden-state", "Explorer"):
        go(page, wait_for_app, name)
        if name != "Home":
            assert text_value(page) == "A shared sentence", name


def test_d5_train_settings_and_pasted_corpus_survive_other_pages(app_server, page,
                                                                 wait_for_app):
    from playwright.sync_api import expect

    page.goto(f"{app_server}/train")
    wait_for_app(page)
    main = page.locator('[data-testid="stMain"]')
    main.get_by_text("Paste text", exact=True).click()
    wait_for_app(page)
    pasted = "A corpus pasted by hand, long enough to train on. " * 20  # B=32 streams of T=25
    area = main.locator("textarea").first
    area.fill(pasted)
    area.press("Control+Enter")
    wait_for_app(page)
    hidden = main.locator('input[aria-label="Hidden size H"]')
    hidden.fill("32")
    hidden.press("Enter")
    wait_for_app(page)
    go(page, wait_for_app, "Explorer")
    go(page, wait_for_app, "Train live")
    expect(main.locator("textarea").first).to_have_value(pasted, timeout=20_000)
    expect(main.locator('input[aria-label="Hidden size H"]')).to_have_value("32")
    assert main.get_by_text("You changed").count() == 0


# -- D11, D12: the browser refuses what the server would, in the units the page states ---------


def test_d12_corpus_limit_in_the_units_the_page_states(app_server, page, wait_for_app):
    from session.limits import MAX_CORPUS_BYTES

    page.goto(f"{app_server}/train")
    wait_for_app(page)
    main = page.locator('[data-testid="stMain"]')
    main.get_by_text("Upload a .txt file", exact=True).click()
    wait_for_app(page)
    uploader = main.locator('[data-testid="stFileUploader"]').first
    stated = uploader.inner_text()
    assert f"{MAX_CORPUS_BYTES // 10**6} MB" in stated, stated
    body = (b"abcdefghij " * (MAX_CORPUS_BYTES // 11 + 1))[:MAX_CORPUS_BYTES]
    uploader.locator('input[type="file"]').set_input_files(
        {"name": "limit.txt", "mimeType": "text/plain", "buffer": body})
    page.wait_for_timeout(500)
    wait_for_app(page)
    assert "or smaller" not in uploader.inner_text()  # exactly the limit: accepted
    assert main.locator(ALERT).filter(has_text="limit").count() == 0
    uploader.locator('input[type="file"]').set_input_files(
        {"name": "over.txt", "mimeType": "text/plain", "buffer": body + b"x"})
    page.wait_for_timeout(500)
    assert f"{MAX_CORPUS_BYTES // 10**6}.0MB or smaller" in uploader.inner_text()


def test_d11_oversized_checkpoint_never_reaches_the_server(app_server, page, wait_for_app):
    from session.limits import MAX_CHECKPOINT_BYTES

    page.goto(f"{app_server}/explorer")
    wait_for_app(page)
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("Upload a checkpoint").first.click()
    uploader = sidebar.locator('[data-testid="stFileUploader"]').first
    sent = []
    page.on("request", lambda r: sent.append(r.url) if "upload_file" in r.url else None)
    uploader.locator('input[type="file"]').set_input_files(
        {"name": "big.npz", "mimeType": "application/octet-stream",
         "buffer": b"\0" * (MAX_CHECKPOINT_BYTES + 1)})
    page.wait_for_timeout(1000)
    assert f"{MAX_CHECKPOINT_BYTES // 10**6}.0MB or smaller" in uploader.inner_text()
    assert sent == []
