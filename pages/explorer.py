"""Placeholder page (explorer)."""

import streamlit as st

st.title("explorer")
st.info("This page is being built.")
