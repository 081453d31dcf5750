"""A shared link opened on a freshly started server shows the page inside the app's frame."""


def test_deep_link_on_fresh_server_uses_app_navigation(
    fresh_app_server, page, wait_for_app, screenshot
):
    # Nobody has opened "/" on this server: Streamlit would run pages/explorer.py on its own
    # (old pages/ folder mode) unless the page hands over to app.py's navigation.
    page.goto(f"{fresh_app_server}/explorer?text=Hello%20there&step=3")
    wait_for_app(page)
    nav = page.locator('[data-testid="stSidebarNav"]')
    nav.wait_for(timeout=15_000)
    labels = nav.inner_text()
    assert "Explorer" in labels and "Train live" in labels, labels  # titles, not file names
    assert "app" not in labels.split()  # the old mode lists the main script as "app"
    assert page.locator('[data-testid="stMain"] h1').first.inner_text() == "Explorer"
    from playwright.sync_api import expect  # here: without playwright the fixtures skip first

    # the page reruns once through app.py; the text from the link arrives with that rerun
    expect(page.locator('[data-testid="stTextInput"] input').first).to_have_value(
        "Hello there", timeout=20_000)
    assert "/explorer" in page.url and "text=Hello" in page.url
    screenshot(page, "deep-link-fresh-server")
