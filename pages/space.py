"""Placeholder page (space)."""

import streamlit as st

st.title("space")
st.info("This page is being built.")
