""".streamlit/config.toml: Streamlit knows every key in it, and ``streamlit run app.py`` starts
with it (no usage statistics, the app's upload limit, a light and a dark theme, no tracebacks)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
import tomllib

import pytest

from session.limits import MAX_CHECKPOINT_BYTES, MAX_CORPUS_BYTES
from tests.browser.conftest import REPO_ROOT, streamlit_server

CONFIG = REPO_ROOT / ".streamlit" / "config.toml"

# Every option as Streamlit parses it, with where it was set, in a fresh interpreter started in
# the repository, as `streamlit run app.py` is (the project's config is found from there).
READ_OPTIONS = """
import json
from streamlit import config
print(json.dumps({k: [o.value, o.where_defined] for k, o in config.get_config_options().items()}))
"""

# What Streamlit writes when the file fails to parse, holds a key it does not know, or is absent
# (it then sends usage statistics and says so).
BAD_OUTPUT = ("Error parsing config toml", "is not a valid config option",
              "Collecting usage statistics")


def _keys(table: dict, prefix: str = "") -> set[str]:
    """The dotted option names in a parsed TOML table: theme.light.primaryColor, ..."""
    out = set()
    for k, v in table.items():
        out |= _keys(v, f"{prefix}{k}.") if isinstance(v, dict) else {prefix + k}
    return out


def _white_on(colour: str) -> float:
    """Contrast ratio of white text on a #rrggbb colour (WCAG 2)."""
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 1.05 / (0.2126 * r + 0.7152 * g + 0.0722 * b + 0.05)


@pytest.fixture(scope="module")
def parsed():
    """(options, stderr): Streamlit's options that the file set, by name, and what it printed."""
    run = subprocess.run([sys.executable, "-c", READ_OPTIONS], cwd=REPO_ROOT, capture_output=True,
                         text=True, timeout=120, check=True)
    options = json.loads(run.stdout)
    from_file = {k: v for k, (v, where) in options.items() if where == str(CONFIG)}
    return from_file, run.stderr


def test_streamlit_knows_every_key_and_warns_of_nothing(parsed):
    from_file, stderr = parsed
    assert not stderr.strip(), stderr
    assert set(from_file) == _keys(tomllib.loads(CONFIG.read_text()))


def test_no_usage_statistics_and_no_tracebacks(parsed):
    from_file, _ = parsed
    assert from_file["browser.gatherUsageStats"] is False
    assert from_file["client.showErrorDetails"] in ("type", "none")  # never "full"/"stacktrace"


def test_server_upload_limit_is_the_apps_largest_upload_in_whole_mib(parsed):
    """Streamlit counts maxUploadSize in MiB, the app in MB of 10^6 bytes: the server's stop is
    the smallest whole MiB that lets the largest upload the app takes through."""
    from_file, _ = parsed
    largest = max(MAX_CHECKPOINT_BYTES, MAX_CORPUS_BYTES)
    assert from_file["server.maxUploadSize"] == math.ceil(largest / 2**20)


def test_a_light_and_a_dark_theme_and_the_system_chooses(parsed):
    """No theme.base: with [theme.light] and [theme.dark] Streamlit offers both and follows the
    browser's prefers-color-scheme (tests/browser/test_explorer_looks.py sees it happen)."""
    from_file, _ = parsed
    assert "theme.base" not in from_file
    for scheme in ("light", "dark"):
        accent = from_file[f"theme.{scheme}.primaryColor"]
        assert _white_on(accent) >= 4.5, (scheme, accent)  # primary buttons: white text on it


def test_server_starts_with_the_config(tmp_path):
    log = tmp_path / "server.log"
    started = "You can now view your Streamlit app"  # printed after the config is read
    with streamlit_server(log_path=log):  # answers /_stcore/health, else fails
        deadline = time.monotonic() + 30
        while started not in log.read_text(errors="replace") and time.monotonic() < deadline:
            time.sleep(0.2)
    output = log.read_text(errors="replace")
    assert started in output, output
    for bad in BAD_OUTPUT:
        assert bad not in output, output


def test_no_full_garbage_collection_after_every_script_run(parsed):
    """Streamlit's hidden default, runner.postScriptGC, collects all three generations after
    every script run, a fragment's rerun included. With five people on Train live (pages that
    redraw twice a second) that took most of the server's interpreter, and an edit in the
    Explorer waited more than 120 s behind it (README, "Hostile input and load")."""
    from_file, _ = parsed
    assert from_file["runner.postScriptGC"] is False
