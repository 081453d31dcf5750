"""RNN Explorer: see a recurrent neural network think, one step at a time.

Run with ``streamlit run app.py``. This file is the shared frame of every page: the page
config, the navigation and the sidebar footer. Each page lives in ``pages/``.
"""

import streamlit as st

st.set_page_config(page_title="RNN Explorer", page_icon=":material/neurology:", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/explorer.py", title="Explorer", icon=":material/timeline:", url_path="explorer"),
    st.Page("pages/train.py", title="Train live", icon=":material/model_training:", url_path="train"),
    st.Page("pages/bptt.py", title="Backprop through time", icon=":material/undo:", url_path="bptt"),
    st.Page("pages/space.py", title="Hidden-state space", icon=":material/scatter_plot:", url_path="space"),
    st.Page("pages/atlas.py", title="Neuron atlas", icon=":material/grid_view:", url_path="atlas"),
]

page = st.navigation(PAGES)
page.run()
