"""``photostyle score IMAGE...``: NIMA's mean and spread for any photos (folders expand to their
photos), best first, and with ``--content`` (and ``--style``) the scores a run records against
its inputs, so a user can rank a folder of results. A photo that cannot be read does not stop the
ranking of the others: each is named with its problem and the command exits with status 2. Runs in
this process, without Prefect."""

from __future__ import annotations

import argparse
import json
import os
import sys

from photostyle.core.collection import find_photos
from photostyle.core.config import ScoringConfig
from photostyle.core.errors import PhotostyleError
from photostyle.core.imageio import load_image, resize_long_side, resize_to, url_to_fs
from photostyle.core.laplacian import matting_laplacian
from photostyle.core.metrics import photorealism, structure, style_distance
from photostyle.core.nima import load_nima, nima_scores, weights_setting
from photostyle.flows.scoring import NIMA_ENV


def add_score_command(sub: argparse._SubParsersAction) -> None:
    """The ``score`` subcommand's arguments."""
    p = sub.add_parser(
        "score",
        help="score photos with NIMA (and against a content and style photo)",
        description="Print NIMA's mean score (1-10) and its spread for each IMAGE, best first. With "
        "--content, also structure and photorealism against it; with --style too, the style distance.",
    )
    p.add_argument("images", nargs="+", metavar="IMAGE", help="photos or folders of photos (paths or fsspec URLs)")
    p.add_argument("--content", metavar="C", help="the content photo the images were made from")
    p.add_argument("--style", metavar="S", help="the style reference (needs --content)")
    p.add_argument("--size", type=int, default=256, help="long side the content scores are taken at; default 256")
    p.add_argument(
        "--nima-weights",
        default=os.environ.get(NIMA_ENV, "bundled"),
        metavar="bundled|URI#sha256=HEX",
        help=ScoringConfig.model_fields["nima_weights"].description,
    )
    p.add_argument("--json", action="store_true", help="one JSON object per line instead of a table")


def expand(images: list[str]) -> list[str]:
    """The photos named: files as given, folders as the photos under them."""
    out = []
    for uri in images:
        fs, path = url_to_fs(uri, None)
        out += [p.uri for p in find_photos(uri).photos] if fs.isdir(path) else [uri]
    return out


def show_progress(done: int, total: int) -> None:
    """``done/total`` on one line of a terminal's stderr while a folder is scored (nothing when
    stderr is not a terminal, or for one photo)."""
    if total > 1 and sys.stderr.isatty():
        print(f"\rscored {done}/{total}", end="\n" if done == total else "", file=sys.stderr, flush=True)


def score_images(args: argparse.Namespace) -> tuple[list[dict], list[PhotostyleError]]:
    """Each readable image's scores, best NIMA mean first, and the error of each image that could
    not be read."""
    ScoringConfig(nima_weights=args.nima_weights)  # refuses a spec without its sha256
    spec = weights_setting(args.nima_weights)
    if args.style and not args.content:
        raise PhotostyleError("--style needs --content: the style distance is taken over the content's size")
    if spec is None and not args.content:
        raise PhotostyleError("nothing to score: --nima-weights none and no --content")
    model = load_nima(spec) if spec else None
    content = style = lap = None
    if args.content:
        content = resize_long_side(load_image(args.content), args.size)
        lap = matting_laplacian(content)
        style = resize_long_side(load_image(args.style), args.size) if args.style else None
    rows, failures = [], []
    uris = expand(args.images)
    for done, uri in enumerate(uris):
        show_progress(done, len(uris))
        try:
            image = load_image(uri)
        except PhotostyleError as exc:
            failures.append(exc)
            continue
        row: dict = {"image": uri}
        if model is not None:
            row |= nima_scores(model, image)
        if content is not None:
            small = resize_to(image, content.shape[:2])
            row |= {"structure": structure(content, small), "photorealism": photorealism(small, lap)}
            if style is not None:
                row["style_distance"] = style_distance(small, style)
        rows.append(row)
    show_progress(len(uris), len(uris))
    return sorted(rows, key=lambda r: -r.get("nima_mean", 0.0)), failures


def print_scores(rows: list[dict], as_json: bool) -> None:
    """A table (or JSON lines) of the rows."""
    if not rows:
        return
    if as_json:
        for row in rows:
            print(json.dumps(row))
        return
    columns = [c for c in ("nima_mean", "nima_std", "structure", "photorealism", "style_distance") if c in rows[0]]
    print("\t".join([*columns, "image"]))
    for row in rows:
        print("\t".join([*(f"{row[c]:.4g}" for c in columns), row["image"]]))
    if "nima_model" in rows[0]:
        print(f"# NIMA model {rows[0]['nima_model']}")


def run_score(args: argparse.Namespace) -> int:
    """The ``score`` command: 0 when every image was scored, 2 when some could not be read."""
    rows, failures = score_images(args)
    print_scores(rows, args.json)
    for exc in failures:
        print(f"photostyle: error: {exc}", file=sys.stderr)
    if failures:
        print(f"photostyle: {len(failures)} of {len(rows) + len(failures)} images not scored", file=sys.stderr)
    return 2 if failures else 0
