"""Headless smoke test of the whole app with Streamlit's AppTest (no browser, no server)."""

from __future__ import annotations

import pytest

from tests.conftest import REPO, errors, open_app

PAGE_FILES = sorted(
    p.relative_to(REPO).as_posix()
    for p in (REPO / "pages").glob("*.py")
    if not p.name.startswith("_")
)


def test_app_runs():
    open_app()  # fails on any exception the first script run shows


def test_page_files_found():
    assert PAGE_FILES, "no page files found in pages/"


@pytest.mark.parametrize("page_file", PAGE_FILES)
def test_page_runs(page_file):
    at = open_app()
    at.switch_page(page_file).run()
    assert not at.exception, f"{page_file}:\n{errors(at)}"


@pytest.mark.parametrize("page_file", ["pages/explorer.py", "pages/bptt.py", "pages/space.py",
                                       "pages/atlas.py"])
def test_page_without_any_model_says_so_and_offers_upload(page_file, tmp_path, monkeypatch):
    import session.shelf

    monkeypatch.setattr(session.shelf, "MODELS_DIR", tmp_path)  # no built-in checkpoints
    at = open_app()
    at.switch_page(page_file).run()
    assert not at.exception, f"{page_file}:\n{errors(at)}"
    assert any("No model is loaded yet" in i.value for i in at.info)
    assert at.sidebar.get("file_uploader"), "the upload stays available"
