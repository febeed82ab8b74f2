"""Prefect flows composing the stage tasks, and the command-line interface."""
