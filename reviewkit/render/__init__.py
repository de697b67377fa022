"""Renderers: plain data is built first (data.py), then each format fills it in."""
