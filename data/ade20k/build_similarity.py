"""Rebuild classes.csv and similarity.csv (maintainer tool; not imported by photostyle).

Needs nltk and WordNet 3.0's dict files (see README.md in this folder):

    NLTK_DATA=/path/to/nltk_data python data/ade20k/build_similarity.py

Each of ADE20K's 150 classes (objectinfo150.txt: the official names and synonyms, in the
network's output order) is mapped to one WordNet noun synset: the first sense of its first name
unless SENSES says otherwise. The similarity of two classes is Li et al.'s (2003) measure on their
synsets, exp(-ALPHA * l) * tanh(BETA * h), with l the shortest path between them and h the depth
of their lowest common hypernym, as sematch computes it for Automated DPST (alpha 0.2, beta 0.6).
"""

from __future__ import annotations

import csv
import math
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ALPHA, BETA = 0.2, 0.6

#: Classes whose first WordNet sense is not the one a scene-parsing label means.
SENSES = {
    "plant": "plant.n.02", "bed": "bed.n.01", "cabinet": "cabinet.n.01", "earth": "earth.n.02",
    "door": "door.n.01", "table": "table.n.02", "car": "car.n.01", "painting": "painting.n.01",
    "shelf": "shelf.n.01", "field": "field.n.01", "seat": "seat.n.03", "rock": "rock.n.01",
    "wardrobe": "wardrobe.n.01", "lamp": "lamp.n.02", "railing": "railing.n.01", "base": "base.n.08",
    "box": "box.n.01", "column": "column.n.07", "signboard": "signboard.n.01", "counter": "counter.n.01",
    "sink": "sink.n.01", "grandstand": "grandstand.n.02", "path": "path.n.02", "stairs": "stairs.n.01",
    "case": "case.n.05", "screen door": "screen_door.n.01", "river": "river.n.01", "bridge": "bridge.n.01",
    "blind": "blind.n.03", "toilet": "toilet.n.02", "flower": "flower.n.01", "book": "book.n.02",
    "stove": "stove.n.01", "palm": "palm.n.03", "computer": "computer.n.01", "bar": "bar.n.03",
    "bus": "bus.n.01", "light": "light.n.02", "tower": "tower.n.01", "booth": "booth.n.02",
    "airplane": "airplane.n.01", "apparel": "apparel.n.01", "pole": "pole.n.01", "land": "land.n.04",
    "bottle": "bottle.n.01", "buffet": "buffet.n.01", "poster": "poster.n.01", "stage": "stage.n.03",
    "van": "van.n.05", "ship": "ship.n.01", "fountain": "fountain.n.01", "canopy": "canopy.n.03",
    "washer": "washer.n.03", "plaything": "plaything.n.01", "stool": "stool.n.01", "barrel": "barrel.n.02",
    "basket": "basket.n.01", "tent": "tent.n.01", "bag": "bag.n.01", "cradle": "cradle.n.01",
    "oven": "oven.n.01", "ball": "ball.n.01", "food": "food.n.02", "step": "step.n.04",
    "tank": "tank.n.02", "trade name": "trade_name.n.01", "microwave": "microwave.n.02",
    "pot": "pot.n.04", "animal": "animal.n.01", "bicycle": "bicycle.n.01", "lake": "lake.n.01",
    "dishwasher": "dishwasher.n.01", "screen": "screen.n.04", "blanket": "blanket.n.01",
    "sculpture": "sculpture.n.01", "hood": "hood.n.06", "vase": "vase.n.01",
    "traffic light": "traffic_light.n.01", "tray": "tray.n.01", "fan": "fan.n.01", "pier": "pier.n.01",
    "crt screen": "screen.n.03", "plate": "plate.n.04", "monitor": "monitor.n.04",
    "bulletin board": "bulletin_board.n.02", "shower": "shower.n.01", "radiator": "radiator.n.02",
    "glass": "glass.n.02", "clock": "clock.n.01", "flag": "flag.n.01", "mirror": "mirror.n.01",
    "sea": "sea.n.01", "rug": "rug.n.01", "fence": "fence.n.01", "desk": "desk.n.01",
    "cushion": "cushion.n.03", "sand": "sand.n.01", "hill": "hill.n.01", "bench": "bench.n.01",
    "boat": "boat.n.01", "towel": "towel.n.01", "truck": "truck.n.01", "chandelier": "chandelier.n.01",
    "awning": "awning.n.01", "streetlight": "streetlight.n.01", "pillow": "pillow.n.01",
    "curtain": "curtain.n.01", "chair": "chair.n.01", "water": "body_of_water.n.01", "house": "house.n.01",
    "mountain": "mountain.n.01", "grass": "grass.n.01", "road": "road.n.01", "tree": "tree.n.01",
    "person": "person.n.01", "sky": "sky.n.01", "building": "building.n.01", "wall": "wall.n.01",
    "floor": "floor.n.01", "ceiling": "ceiling.n.01", "windowpane": "windowpane.n.01",
    "sidewalk": "sidewalk.n.01", "sofa": "sofa.n.01", "armchair": "armchair.n.01",
    "bathtub": "bathtub.n.01", "stairway": "stairway.n.01",
    "bookcase": "bookcase.n.01", "coffee table": "coffee_table.n.01", "kitchen island": "kitchen_island.n.01",
    "swivel chair": "swivel_chair.n.01", "arcade machine": "slot_machine.n.01", "hovel": "hovel.n.01",
    "television receiver": "television_receiver.n.01", "dirt track": "dirt_track.n.01",
    "bannister": "banister.n.01", "escalator": "escalator.n.02", "ottoman": "ottoman.n.03",
    "conveyer belt": "conveyer_belt.n.01", "swimming pool": "swimming_pool.n.01", "minibike": "minibike.n.01",
    "waterfall": "waterfall.n.01", "sconce": "sconce.n.04", "ashcan": "ashcan.n.01",
    "countertop": "countertop.n.01", "chest of drawers": "chest_of_drawers.n.01",
    "fireplace": "fireplace.n.01", "refrigerator": "electric_refrigerator.n.01", "runway": "runway.n.04",
    "pool table": "pool_table.n.01", "skyscraper": "skyscraper.n.01",
}


def classes() -> list[list[str]]:
    """The 150 classes, each as its list of names (first name first)."""
    lines = (HERE / "objectinfo150.txt").read_text().splitlines()
    return [line.split(";") for line in lines if line.strip()]


def choose_synset(wn, names: list[str]):
    """The class's synset: SENSES, else the first noun sense of its first name WordNet knows."""
    if names[0] in SENSES:
        return wn.synset(SENSES[names[0]])
    for name in names:
        found = wn.synsets(name.replace(" ", "_"), "n")
        if found:
            return found[0]
    raise LookupError(f"no WordNet noun for {names}")


def li_similarity(a, b) -> float:
    """Li et al. (2003): exp(-alpha * path length) * tanh(beta * depth of the lowest common hypernym)."""
    if a == b:
        return 1.0
    path = a.shortest_path_distance(b)
    common = a.lowest_common_hypernyms(b)
    if path is None or not common:
        return 0.0
    return math.exp(-ALPHA * path) * math.tanh(BETA * common[0].max_depth())


def main() -> int:
    from nltk.corpus import wordnet as wn

    if wn.get_version() != "3.0":
        print(f"expected WordNet 3.0, found {wn.get_version()}", file=sys.stderr)
        return 1
    table = classes()
    synsets = [choose_synset(wn, names) for names in table]
    with open(HERE / "classes.csv", "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["index", "name", "synonyms", "synset", "gloss"])
        for i, (names, syn) in enumerate(zip(table, synsets)):
            out.writerow([i, names[0], ";".join(names[1:]), syn.name(), syn.definition()])
    with open(HERE / "similarity.csv", "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow([""] + [names[0] for names in table])
        for names, a in zip(table, synsets):
            out.writerow([names[0]] + [f"{li_similarity(a, b):.4f}" for b in synsets])
    return 0


if __name__ == "__main__":
    sys.exit(main())
