"""Algorithms and I/O for photorealistic style transfer. No Prefect here."""
