"""ADE20K's 150 scene-parsing classes and their WordNet similarity (shipped in data/ade20k/).

The similarity table is Li et al.'s WordNet measure between one chosen synset per class, as
Automated DPST uses to merge classes between content and style (data/ade20k/README.md says how
it was made and how to rebuild it).
"""

from __future__ import annotations

import csv
import io
from functools import lru_cache
from importlib import resources

import numpy as np


def _read(name: str) -> list[list[str]]:
    text = (resources.files("photostyle.data") / "ade20k" / name).read_text(encoding="utf-8")
    return list(csv.reader(io.StringIO(text)))


@lru_cache(maxsize=1)
def classes() -> tuple[dict[str, str], ...]:
    """One row per class in the network's output order: index, name, synonyms, synset, gloss."""
    rows = _read("classes.csv")
    return tuple(dict(zip(rows[0], row)) for row in rows[1:])


@lru_cache(maxsize=1)
def class_names() -> tuple[str, ...]:
    """The first name of each of the 150 classes (0 = wall ... 149 = flag)."""
    return tuple(row["name"] for row in classes())


@lru_cache(maxsize=1)
def class_similarity() -> np.ndarray:
    """The 150 x 150 WordNet similarity of the classes (symmetric, 1 on the diagonal), read-only."""
    rows = _read("similarity.csv")
    if rows[0][1:] != list(class_names()):
        raise RuntimeError("data/ade20k/similarity.csv does not list the classes of classes.csv")
    table = np.array([[float(v) for v in row[1:]] for row in rows[1:]], dtype=np.float64)
    table.setflags(write=False)
    return table
