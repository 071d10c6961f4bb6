"""Benchmarks: commands that drive the real broker and database and print figures to rerun."""
