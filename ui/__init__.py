"""Streamlit helpers shared by the pages: per-session state and widgets (``*_ui`` functions)."""
