"""RNN Explorer: see a recurrent neural network think, one step at a time.

Run with ``streamlit run app.py``. This file is the shared frame of every page (page config and
navigation, in ``ui/nav.py``); each page lives in ``pages/``.
"""

from ui.nav import run_app

run_app()
