"""Every page of the app renders in a real browser, without an exception and with a title."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

# URL paths as registered with st.navigation in app.py ("/" is the default page).
PAGE_PATHS = ["/", "/explorer", "/train", "/bptt", "/space", "/atlas"]


@pytest.mark.parametrize("path", PAGE_PATHS, ids=lambda p: p.strip("/") or "home")
def test_page_renders(app_server, page, wait_for_app, screenshot, path):
    page.goto(app_server + path)
    wait_for_app(page)

    screenshot(page, f"smoke-{path.strip('/') or 'home'}")  # for a person to look at

    # An unknown url_path makes Streamlit show "Page not found" and fall back to "/".
    assert urlparse(page.url).path.rstrip("/") == path.rstrip("/"), (
        f"{path} was redirected to {page.url}; is it still a url_path in app.py?"
    )
    assert page.locator('[data-testid="stException"]').count() == 0

    title = page.locator('[data-testid="stMain"] h1').first
    assert title.is_visible(), f"no visible h1 page title on {path}"
    assert title.inner_text().strip(), f"the h1 page title on {path} is empty"
