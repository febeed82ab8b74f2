"""Prefect tasks: one module per DAG stage, wrapping photostyle.core."""
