"""Data files shipped with photostyle (the ADE20K class table); read with importlib.resources."""
