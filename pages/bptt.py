"""Placeholder page (bptt)."""

import streamlit as st

st.title("bptt")
st.info("This page is being built.")
