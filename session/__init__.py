"""The per-session layer: the objects one browser session holds and the rules about them.

Plain Python on top of ``rnn`` (no Streamlit): ``ui.state`` keeps these objects in the
session, pages drive them, and tests drive them directly.
"""
