"""The shipped ADE20K class table and its WordNet similarity."""

import numpy as np

from photostyle.core.ade20k import class_names, class_similarity, classes
from photostyle.core.masks import LabelMap
from photostyle.core.segmentation import SegmentOptions, Segmentation, group_pair


def test_150_classes_in_the_networks_order():
    names = class_names()
    assert len(names) == 150 and len(set(names)) == 150
    assert names[0] == "wall" and names[2] == "sky" and names[48] == "skyscraper" and names[149] == "flag"
    assert all(row["synset"].count(".n.") == 1 and row["gloss"] for row in classes())


def test_similarity_is_a_symmetric_table_of_wordnet_scores():
    sim = class_similarity()
    assert sim.shape == (150, 150) and np.allclose(sim, sim.T) and np.allclose(np.diag(sim), 1.0)
    assert sim.min() >= 0.0 and sim.max() <= 1.0
    index = {n: i for i, n in enumerate(class_names())}
    assert sim[index["skyscraper"], index["building"]] >= 0.8  # the paper's example merges
    assert sim[index["sky"], index["building"]] < 0.3 and sim[index["tree"], index["person"]] < 0.8
    assert sim[index["plant"], index["building"]] < 0.5  # the flora sense, not a factory


def test_model_labels_group_skyscraper_with_building_at_the_threshold():
    index = {n: i for i, n in enumerate(class_names())}
    present = np.array(sorted([index["sky"], index["skyscraper"], index["building"], index["tree"]]))
    names = [class_names()[k] for k in present]
    k = {n: i for i, n in enumerate(names)}
    content = np.full((8, 8), k["sky"], np.int32)
    content[4:] = k["skyscraper"]
    content[7, :2] = k["tree"]  # 2/64 of the content, and absent from the style
    style = np.full((8, 8), k["sky"], np.int32)
    style[3:] = k["building"]
    seg = Segmentation(LabelMap(content, names), LabelMap(style, list(names)), "model",
                       class_similarity()[np.ix_(present, present)], labelled=True)
    pairs, merges = group_pair(seg, SegmentOptions(threshold=0.8, min_share=0.05))
    built = next(n for n in pairs.names if "skyscraper" in n)
    assert set(built.split("+")) == {"building", "skyscraper"} and merges["skyscraper"] == built
    assert merges["tree"] in pairs.names  # too small and unshared: joined its most similar region
    i = pairs.names.index(built)
    assert pairs.style_masks[i].sum() == 40 and pairs.content_masks[i][4:].sum() >= 30
    strict, _ = group_pair(seg, SegmentOptions(threshold=0.9, min_share=0.05))
    assert not any("+" in n for n in strict.names)  # no merge above 0.818: skyscraper has no partner
