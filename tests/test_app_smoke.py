"""Headless smoke test of the whole app with Streamlit's AppTest (no browser, no server)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

REPO_ROOT = Path(__file__).resolve().parents[1]
APP = REPO_ROOT / "app.py"  # absolute: AppTest resolves relative paths against this test file
PAGE_FILES = sorted(
    p.relative_to(REPO_ROOT).as_posix()
    for p in (REPO_ROOT / "pages").glob("*.py")
    if not p.name.startswith("_")
)
TIMEOUT_S = 30


def _exceptions(at: AppTest) -> str:
    return "\n\n".join(f"{e.message}\n{''.join(e.stack_trace)}" for e in at.exception)


def test_app_runs():
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S).run()
    assert not at.exception, _exceptions(at)


def test_page_files_found():
    assert PAGE_FILES, "no page files found in pages/"


@pytest.mark.parametrize("page_file", PAGE_FILES)
def test_page_runs(page_file):
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S).run()
    at.switch_page(page_file).run()
    assert not at.exception, f"{page_file}:\n{_exceptions(at)}"


@pytest.mark.parametrize("page_file", ["pages/explorer.py", "pages/bptt.py", "pages/space.py",
                                       "pages/atlas.py"])
def test_page_without_any_model_says_so_and_offers_upload(page_file, tmp_path, monkeypatch):
    import ui.models

    monkeypatch.setattr(ui.models, "MODELS_DIR", tmp_path)  # no built-in checkpoints
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S).run()
    at.switch_page(page_file).run()
    assert not at.exception, f"{page_file}:\n{_exceptions(at)}"
    assert any("No model is loaded yet" in i.value for i in at.info)
    assert at.sidebar.get("file_uploader"), "the upload stays available"
