"""ADE20K's 150 scene-parsing classes and their WordNet similarity (shipped in data/ade20k/).

The classes are in the order a PSPNet trained on ADE20K SceneParsing outputs them (0 = wall ...
149 = flag). The similarity table is Li et al.'s (2003) WordNet measure between one chosen synset
per class, as Automated DPST uses it to merge classes between content and style at about 0.8
(data/ade20k/README.md says how it was made and how to rebuild it). numpy only.
"""

from __future__ import annotations

import csv
import io
from functools import lru_cache
from importlib import resources

import numpy as np

#: Number of ADE20K SceneParsing classes.
NUM_CLASSES = 150


def _read(name: str) -> list[list[str]]:
    text = (resources.files("photostyle.data") / "ade20k" / name).read_text(encoding="utf-8")
    return list(csv.reader(io.StringIO(text)))


@lru_cache(maxsize=1)
def classes() -> tuple[dict[str, str], ...]:
    """One row per class in the network's output order: index, name, synonyms, synset, gloss."""
    rows = _read("classes.csv")
    table = tuple(dict(zip(rows[0], row)) for row in rows[1:])
    if [int(row["index"]) for row in table] != list(range(NUM_CLASSES)):
        raise RuntimeError(f"data/ade20k/classes.csv must list classes 0..{NUM_CLASSES - 1} in order")
    return table


@lru_cache(maxsize=1)
def class_names() -> tuple[str, ...]:
    """The first name of each of the 150 classes (0 = wall ... 149 = flag)."""
    return tuple(row["name"] for row in classes())


#: The first name of each class, by index (0 = "wall", 1 = "building", 2 = "sky", ... 149 = "flag").
CLASS_NAMES: tuple[str, ...] = class_names()


def synonyms(index: int) -> list[str]:
    """The class's other names in ADE20K's objectInfo150 (e.g. ["edifice"] for building)."""
    value = classes()[index]["synonyms"]
    return value.split(";") if value else []


def synset(index: int) -> str:
    """The WordNet 3.0 noun synset the class was mapped to (e.g. "plant.n.02")."""
    return classes()[index]["synset"]


@lru_cache(maxsize=1)
def class_similarity() -> np.ndarray:
    """The 150 x 150 WordNet similarity of the classes: float32, symmetric, 1 on the diagonal, read-only."""
    rows = _read("similarity.csv")
    if rows[0][1:] != list(class_names()) or [row[0] for row in rows[1:]] != list(class_names()):
        raise RuntimeError("data/ade20k/similarity.csv does not list the classes of classes.csv")
    table = np.array([[float(v) for v in row[1:]] for row in rows[1:]], dtype=np.float32)
    table.setflags(write=False)
    return table
