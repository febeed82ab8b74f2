"""The ``photostyle`` command line: runs the flows locally, no server to start."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import types
import typing
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from photostyle.core.artifacts import DEFAULT_ARTIFACT_ROOT, STAGES
from photostyle.core.collection import DEFAULT_CONCURRENCY
from photostyle.core.config import StyleConfig, validation_messages
from photostyle.core.errors import PhotostyleError
from photostyle.core.filesystems import is_transient, retrying
from photostyle.core.interrupt import request_stop, stop_requested
from photostyle.core.presets import PRESETS, merge, preset_settings
from photostyle.core.registry import OneOf
from photostyle.core.report import chosen_candidate
from photostyle.flows.prefect_env import apply_prefect_defaults
from photostyle.flows.score_command import add_score_command, run_score


@dataclass(frozen=True)
class Flag:
    """A flag that sets the ``StyleConfig`` field at a dotted ``path``; its type, choices, default
    and help come from that field. ``variant``: the registered method or segmenter the field
    belongs to when it is not the default one (giving the flag selects it)."""

    flag: str
    path: str
    metavar: str | None = None
    variant: str | None = None

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")


#: Every settings flag of the command line, one line each.
FLAGS = (
    Flag("--method", "method.name"),
    Flag("--size", "size", "N"),
    Flag("--iterations", "optimizer.iterations", "N"),
    Flag("--first-stage-iterations", "method.first_stage_iterations", "N"),
    Flag("--tolerance", "optimizer.tolerance", "X"),
    Flag("--scales", "optimizer.scales", "N"),
    Flag("--init", "optimizer.init"),
    Flag("--optimizer", "optimizer.algorithm"),
    Flag("--lr", "optimizer.lr", "X"),
    Flag("--content-weight", "method.content_weight", "X"),
    Flag("--style-weight", "method.style_weight", "X"),
    Flag("--tv-weight", "method.tv_weight", "X"),
    Flag("--photo-weight", "method.photo_weight", "X"),
    Flag("--nima-weight", "method.nima_weight", "W"),
    Flag("--postprocess", "finish.postprocess"),
    Flag("--affine-radius", "finish.affine_radius", "N"),
    Flag("--output-size", "upsample.output_size", "full|working|N"),
    Flag("--weights", "weights", "SRC"),
    Flag("--regions", "segmentation.segmenter.regions", "N"),
    Flag("--segmentation-weights", "segmentation.segmenter.weights", "URI#sha256=HEX", variant="ade20k"),
    Flag("--group-threshold", "segmentation.grouping.threshold", "T"),
    Flag("--nima-weights", "scoring.nima_weights", "bundled|none|URI#sha256=HEX"),
    Flag("--candidates", "candidates.count", "N"),
    Flag("--candidate-methods", "candidates.methods", "M,M"),
    Flag("--seed", "optimizer.seed", "N"),
    Flag("--precision", "optimizer.precision"),
    Flag("--device", "device"),
    Flag("--max-megapixels", "max_megapixels", "X"),
)


def _union(info: FieldInfo) -> OneOf | None:
    return next((m for m in info.metadata if isinstance(m, OneOf)), None)


def resolve_field(path: str, variant: str | None = None) -> tuple[FieldInfo, Any, OneOf | None]:
    """The field at ``path`` (through the default members of unions, or ``variant``), its default
    in the default settings (None where the default settings lack it), and the union it selects
    when it is a union's ``name``."""
    model: type[BaseModel] = StyleConfig
    default: Any = StyleConfig()
    union: OneOf | None = None
    parts = path.split(".")
    for i, part in enumerate(parts):
        info = model.model_fields[part]
        if i == len(parts) - 1:
            value = getattr(default, part, None) if default is not None else None
            return info, value, union if part == "name" else None
        union = _union(info)
        default = getattr(default, part, None) if default is not None else None
        if union is not None:
            model = union.registry.get(variant or union.default).config
            if default is not None and not isinstance(default, model):
                default = None
        else:
            model = info.annotation
    raise ValueError(f"no setting at {path!r}")


def _argument(flag: Flag) -> dict[str, Any]:
    """argparse keywords for a flag: type, choices and help from its field; no default, so only
    the flags given reach the settings."""
    info, default, union = resolve_field(flag.path, flag.variant)
    kwargs: dict[str, Any] = {"dest": flag.dest, "default": argparse.SUPPRESS, "metavar": flag.metavar}
    annotation = info.annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        # a union of kinds (a number or a name) is passed as text for the field to parse
        annotation = members[0] if len(members) == 1 else str
    if union is not None:
        kwargs["choices"] = list(union.registry.names())
    elif typing.get_origin(annotation) is typing.Literal:
        kwargs["choices"] = list(typing.get_args(annotation))
    elif typing.get_origin(annotation) is tuple:  # a list, given comma-separated for the field to split
        kwargs["type"] = str
    else:
        kwargs["type"] = annotation
    if union is not None:
        entries = (union.registry.get(name) for name in kwargs["choices"])
        description = "; ".join(f"{e.name}: {e.description}" if e.description else e.name for e in entries)
    else:
        description = (info.description or "").rstrip(".")
    shown = f"; default {default}" if default not in (None, ()) else f"; selects {flag.variant}" if flag.variant else ""
    kwargs["help"] = f"{description}{shown}".replace("%", "%%")
    return kwargs


def add_settings_flags(parser: argparse.ArgumentParser, only: Sequence[str] | None = None) -> None:
    """``--preset`` and the settings flags of ``FLAGS`` (or those of them named in ``only``) on ``parser``."""
    if only is None or "--preset" in only:
        parser.add_argument(
            "--preset",
            choices=list(PRESETS),
            default=argparse.SUPPRESS,
            help="; ".join(f"{p.name}: {p.description}" for p in PRESETS.values()) + " (the flags below override it)",
        )
    for flag in FLAGS:
        if only is None or flag.flag in only:
            parser.add_argument(flag.flag, **_argument(flag))


def _add_style_options(p: argparse.ArgumentParser) -> None:
    """The settings flags and the storage options every command shares."""
    add_settings_flags(p)
    p.add_argument(
        "--storage-options",
        default=None,
        metavar="JSON|@FILE",
        help="fsspec storage options as JSON, or @FILE to read them from a file (e.g. an S3 endpoint); "
        "credentials are best kept off the command line: in the environment (AWS_ACCESS_KEY_ID, ...), "
        "a file or a Secret block",
    )
    p.add_argument(
        "--storage-block", metavar="NAME", help="Prefect Secret block holding the storage options as a JSON object"
    )


def read_storage_options(text: str | None) -> dict | None:
    """The ``--storage-options`` value: a JSON object given inline, or read from a file with
    ``@FILE``. Credentials given inline draw a warning: other users see them in ``ps``, and the
    shell keeps them in its history."""
    if text is None:
        return None
    if text.startswith("@"):
        try:
            text, where = Path(text[1:]).read_text(), f"{text[1:]}: "
        except OSError as exc:
            raise PhotostyleError(f"--storage-options {text}: cannot read it ({exc.strerror})") from None
    else:
        where = ""
    try:
        options = json.loads(text)
    except json.JSONDecodeError as exc:  # its message quotes no part of the text, which may be secret
        raise PhotostyleError(f"--storage-options: {where}not valid JSON ({exc})") from None
    if not isinstance(options, dict):
        raise PhotostyleError(f"--storage-options: {where}not a JSON object")
    from photostyle.flows.storage import split_secrets

    if not where and split_secrets(options)[1]:
        print(
            "photostyle: warning: credentials on the command line are visible to other users (ps) and "
            "kept in the shell's history; use the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), "
            "--storage-options @FILE or --storage-block NAME",
            file=sys.stderr,
        )
    return options


def config_from_args(args: argparse.Namespace, base: dict | None = None) -> StyleConfig:
    """The settings the given flags make over ``--preset``'s, over ``base`` (settings as a dict;
    default: none), over the defaults; a bad value is an error naming its flag."""
    given = {flag.path: flag for flag in FLAGS if flag.dest in vars(args)}
    flags: dict[str, Any] = {}
    for path, flag in given.items():
        parts = path.split(".")
        node = flags
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = getattr(args, flag.dest)
        if flag.variant:
            if node.setdefault("name", flag.variant) != flag.variant:
                raise PhotostyleError(f"{flag.flag} selects {flag.variant}, which {node['name']} excludes")
            node["name"] = flag.variant
    data = merge(base or {}, preset_settings(args.preset)) if "preset" in vars(args) else dict(base or {})
    data = merge(data, flags)
    try:
        config = StyleConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for path, message in validation_messages(exc):
            name = given[path].flag if path in given else path
            problems.append(f"{name}: {message}")
        raise PhotostyleError("; ".join(problems)) from None
    _refuse_unused_optimizer_flags(config, given)
    return config


def _refuse_unused_optimizer_flags(config: StyleConfig, given: dict[str, Flag]) -> None:
    """An optimiser flag the chosen method does not read is an error, not silently ignored."""
    from photostyle.core.methods import method_spec

    spec = method_spec(config.method)
    if spec.optimizer_fields is None:
        return
    unused = [f.flag for p, f in given.items() if p.startswith("optimizer.") and p[10:] not in spec.optimizer_fields]
    if unused:
        reads = ", ".join(f"optimizer.{name}" for name in sorted(spec.optimizer_fields))
        them = "it" if len(unused) == 1 else "them"
        message = f"{spec.name} does not use {them} (of the optimiser, it reads {reads})"
        raise PhotostyleError(f"{', '.join(unused)}: {message}")


def _add_stylize(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "stylize",
        help="re-tone one photo like a style reference",
        description="Stylise CONTENT like STYLE (Gatys, Deep Photo Style Transfer or STROTSS) "
        "and write OUT plus OUT.json (parameters, scores, timings).",
    )
    p.add_argument("content", metavar="CONTENT", help="content photo (path or fsspec URL)")
    p.add_argument("style", metavar="STYLE", help="style reference photo (path or fsspec URL)")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT",
        help="output image (.png, .jpg, .webp, .tif); a sidecar OUT.json is written too",
    )
    p.add_argument("--content-mask", metavar="M", help="region mask of the content (DPST colours or labels)")
    p.add_argument("--style-mask", metavar="M", help="region mask of the style image")
    p.add_argument(
        "--artifacts",
        default=DEFAULT_ARTIFACT_ROOT,
        metavar="URI",
        help=f"artifact store for stage outputs (default {DEFAULT_ARTIFACT_ROOT})",
    )
    _add_style_options(p)


def _add_batch(sub: argparse._SubParsersAction, name: str) -> None:
    rerun = name == "rerun"
    p = sub.add_parser(
        name,
        help="recompute one stage for photos of a batch" if rerun else "re-tone every photo in a folder or bucket",
        description=(
            "Recompute STAGE for the selected photos of a batch (give the batch's options, so "
            "the other stages' keys match); later stages recompute only where it changed."
            if rerun
            else "Stylise every photo under INPUT (recursively; jpg, jpeg, png, webp, tif, tiff) like "
            "STYLE into the same relative paths under OUTPUT, with a Parquet manifest in "
            "OUTPUT/_manifest/. A photo's mask, if any, is <stem>.mask.<ext> beside it."
        ),
    )
    if rerun:
        p.add_argument("--stage", required=True, choices=list(STAGES), help="the stage to recompute")
    p.add_argument("input", metavar="INPUT", help="folder or prefix of photos (path or fsspec URL)")
    p.add_argument("--style", required=True, metavar="STYLE", help="style reference photo")
    p.add_argument("--style-mask", metavar="M", help="region mask of the style image")
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT", help="output folder or prefix")
    p.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"photos in flight at once (default {DEFAULT_CONCURRENCY}); optimisations still take one slot per device",
    )
    p.add_argument(
        "--only", action="append", metavar="GLOB", help="only photos whose path below INPUT matches (repeatable)"
    )
    p.add_argument("--artifacts", metavar="URI", help="artifact store (default OUTPUT/_artifacts)")
    p.add_argument(
        "--dask-address",
        metavar="ADDR",
        help="run the photos on the Dask cluster whose scheduler is at ADDR (tcp://host:8786)",
    )
    p.add_argument(
        "--dask-workers",
        type=int,
        default=0,
        metavar="N",
        help="run the photos on a local Dask cluster of N worker processes",
    )
    _add_style_options(p)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``photostyle`` command."""
    parser = argparse.ArgumentParser(prog="photostyle", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_stylize(sub)
    _add_batch(sub, "batch")
    _add_batch(sub, "rerun")
    add_score_command(sub)
    return parser


@contextmanager
def _flow_options(args: argparse.Namespace) -> Iterator[dict]:
    """The flow parameters every command passes the same way, for the ``with`` block that runs
    the flow: the settings, and the storage. Credentials given in --storage-options travel in a
    temporary Secret block, never as flow parameters, and the block is deleted when the ``with``
    block ends, however it ends."""
    from photostyle.flows.local_api import start_local_api
    from photostyle.flows.storage import temporary_credentials

    start_local_api()
    with temporary_credentials(args.storage_options, args.storage_block) as (storage_options, storage_block):
        yield dict(config=args.config, storage_options=storage_options, storage_block=storage_block)


def check_options(args: argparse.Namespace) -> None:
    """Build the settings and storage options from the flags and refuse values no run could use:
    cheap checks only, made before the inputs are read."""
    args.storage_options = read_storage_options(args.storage_options)
    args.config = config_from_args(args)
    stage = getattr(args, "stage", None)
    if stage and stage not in args.config.stages():
        raise PhotostyleError(f"--stage {stage}: these settings skip that stage; there is nothing to rerun")
    if getattr(args, "concurrency", 1) < 1:
        raise PhotostyleError(f"--concurrency must be at least 1, not {args.concurrency}")


def check_resources(args: argparse.Namespace) -> None:
    """Refuse a run whose models or device are unavailable: the VGG weights, the segmentation
    model, CUDA. Loading them takes seconds and memory, so it comes after the input checks."""
    from photostyle.core.vgg import load_weights

    try:
        load_weights(args.config.weights)
    except RuntimeError as exc:  # torchvision weights neither cached nor downloadable
        raise PhotostyleError(str(exc)) from None
    from photostyle.flows.scoring import resolve_models

    resolve_models(args.config, None if getattr(args, "storage_block", None) else args.storage_options)
    if args.config.device == "cuda":
        from photostyle.core.device import resolve_device

        try:
            resolve_device("cuda")
        except RuntimeError as exc:
            raise PhotostyleError(str(exc)) from None


def check_photo(uri: str, mask_uri: str | None, args: argparse.Namespace) -> None:
    """Decode a photo (at reduced size where its format allows) and its mask, and refuse what
    the run would refuse: a bad or too large file, a short side too small, a mask that does not fit."""
    from photostyle.core.imageio import check_short_side, decode_photo, pixel_cap, read_bytes
    from photostyle.core.masks import fit_mask, load_mask

    opts, size = args.storage_options, args.config.size
    shape = decode_photo(read_bytes(uri, opts), uri, size, pixel_cap(args.config.max_megapixels)).shape
    check_short_side(shape[:2], size, uri)
    if mask_uri:
        fit_mask(load_mask(mask_uri, opts), shape, shape, mask_uri)


def preflight(args: argparse.Namespace) -> None:
    """Check the inputs (after ``check_options``) before starting the flow, so bad input fails in
    one line (and fast: the models load only once the inputs have passed)."""
    from photostyle.core.imageio import check_not_an_input, format_for

    format_for(args.output)
    opts = args.storage_options
    check_not_an_input(args.output, [args.content, args.style, args.content_mask, args.style_mask], opts)
    for image_uri, mask_uri in ((args.content, args.content_mask), (args.style, args.style_mask)):
        check_photo(image_uri, mask_uri, args)
    check_resources(args)


def _stylize(args: argparse.Namespace) -> int:
    check_options(args)
    retrying(lambda: preflight(args), _storage_retry_notice)
    from photostyle.flows.stylize_pair import stylize_pair

    with _flow_options(args) as options:
        sidecar = stylize_pair(
            content=args.content,
            style=args.style,
            output=args.output,
            content_mask=args.content_mask,
            style_mask=args.style_mask,
            artifact_root=args.artifacts,
            **options,
        )
    scores = ", ".join(
        f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in sidecar["scores"].items() if v is not None
    )
    seconds = sum(s["seconds"] or 0 for s in sidecar["stages"].values() if not s["cached"])
    chosen = chosen_candidate(sidecar.get("candidates"))
    chosen = f"; the best NIMA mean of its candidates: {chosen}" if chosen else ""
    print(f"wrote {sidecar['output']} ({scores}; {seconds:.1f} s of stage work{chosen})")
    return 0


def preflight_batch(args: argparse.Namespace) -> None:
    """Cheap checks before a batch starts (after ``check_options``): the style (and its mask), the
    folders; then the models. Photos themselves are checked in the run, where each bad one fails
    only its own row."""
    from photostyle.core.errors import InputError
    from photostyle.core.imageio import same_location, url_to_fs

    if args.storage_block:
        check_resources(args)
        return  # the options live in a Prefect block: the flow reads them and checks the rest
    opts = args.storage_options
    check_photo(args.style, args.style_mask, args)
    fs, root = url_to_fs(args.input, opts)
    if not fs.isdir(root):
        raise InputError(
            args.input,
            "folder not found"
            if not fs.exists(root)
            else "not a folder (give the folder or prefix holding the photos)",
        )
    if same_location(args.input, args.output, opts):
        raise InputError(args.output, "output is the input folder; results would overwrite the photos")
    check_resources(args)


def _batch(args: argparse.Namespace) -> int:
    """Run (or rerun a stage of) a batch; exit 1 when any photo failed, after the summary."""
    check_options(args)
    retrying(lambda: preflight_batch(args), _storage_retry_notice)
    from photostyle.flows.stylize_collection import stylize_collection

    with _flow_options(args) as options:
        state = stylize_collection(
            input_uri=args.input,
            style=args.style,
            output_uri=args.output,
            style_mask=args.style_mask,
            concurrency=args.concurrency,
            artifact_root=args.artifacts,
            only=args.only,
            dask_address=args.dask_address,
            dask_workers=args.dask_workers,
            rerun_stage=getattr(args, "stage", None),
            **options,
            return_state=True,
        )
        summary = state.result(raise_on_failure=False)
    if isinstance(summary, BaseException):
        raise summary
    print(
        f"{summary['photos']} photos: {summary['ok']} ok, {summary['cached']} cached, "
        f"{summary['failed']} failed; manifest {summary['manifest']}"
    )
    for uri, error in summary["failures"].items():
        print(f"failed: {error}" if error.startswith(uri) else f"failed: {uri}: {error}")
    return 1 if summary["failed"] else 0


COMMANDS = {"stylize": _stylize, "batch": _batch, "rerun": _batch, "score": run_score}

#: Seconds a command has to stop after Ctrl-C (recording the run as crashed, stopping its threads
#: and the temporary API) before it exits regardless; a second Ctrl-C exits at once.
STOP_GRACE_SECONDS = 20.0


def _exit_now() -> None:
    """Leave at once with the interrupt's status, skipping what is still running, after the
    cleanups the run owes (its temporary Secret block)."""
    from photostyle.flows.cleanup import run_cleanups

    run_cleanups()
    sys.stderr.flush()
    os._exit(130)


def _on_interrupt(signum: int, frame: types.FrameType | None) -> None:
    """SIGINT: ask every thread to stop, unwind the main thread, and exit within
    STOP_GRACE_SECONDS whatever still runs; a second SIGINT exits at once."""
    if stop_requested():
        _exit_now()
    request_stop()
    watchdog = threading.Timer(STOP_GRACE_SECONDS, _exit_now)
    watchdog.daemon = True
    watchdog.start()
    raise KeyboardInterrupt


def _storage_retry_notice(exc: BaseException, seconds: float) -> None:
    print(f"photostyle: storage error ({exc}); retrying in {seconds:.0f} s", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse, run, and turn input and storage errors into one-line messages and
    Ctrl-C into a prompt stop (exit 130)."""
    apply_prefect_defaults()
    args = build_parser().parse_args(argv)
    previous = signal.signal(signal.SIGINT, _on_interrupt)
    try:
        return COMMANDS[args.command](args)
    except PhotostyleError as exc:
        print(f"photostyle: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("photostyle: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if not is_transient(exc):
            raise
        print(f"photostyle: error: storage unreachable ({type(exc).__name__}): {exc}", file=sys.stderr)
        return 2
    finally:
        signal.signal(signal.SIGINT, previous)


if __name__ == "__main__":
    sys.exit(main())
