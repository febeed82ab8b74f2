"""Orchestration benchmark: what the batch flow costs over calling the core functions directly,
and how many photos per minute a batch processes.

1. Overhead: N photos at a tiny size (default 32 px, 2 iterations) through the bare core calls
   (no Prefect, no artifact store), then through ``stylize-collection`` with concurrency 1 (a
   fresh run, then a second, fully cached run). Overhead per photo = (flow - core) / N.
2. Throughput: M photos at 128 px on the chosen device through ``stylize-collection``.

With ``--s3`` the photos, outputs and artifacts live on a local moto S3 server instead of disk.

    python benchmarks/orchestration.py --photos 8 --throughput-photos 8 --iterations 100
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import tempfile
import time
from pathlib import Path

from photostyle.flows.prefect_env import apply_prefect_defaults

apply_prefect_defaults()
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

from PIL import Image  # noqa: E402

from photostyle.core.config import StyleConfig  # noqa: E402
from photostyle.core.imageio import (  # noqa: E402
    decode_image,
    encode_image,
    read_bytes,
    resize_long_side,
    write_bytes_atomic,
)
from photostyle.core.laplacian import matting_laplacian  # noqa: E402
from photostyle.core.metrics import score_all  # noqa: E402
from photostyle.core.regions import pair_regions, single_region  # noqa: E402
from photostyle.core.stylize import stylize  # noqa: E402
from photostyle.flows.stylize_collection import stylize_collection  # noqa: E402

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def make_photos(root: str, count: int, options: dict) -> None:
    """``count`` distinct photos (crops of the sample photos) under ``root``."""
    sources = [Image.open(SAMPLES / n).convert("RGB") for n in ("chelsea.jpg", "coffee.jpg", "rocket.jpg")]
    for i in range(count):
        src = sources[i % 3]
        w, h = src.size
        box = (i * 7 % (w // 3), i * 5 % (h // 3), i * 7 % (w // 3) + 2 * w // 3, i * 5 % (h // 3) + 2 * h // 3)
        buf = io.BytesIO()
        src.crop(box).save(buf, "JPEG", quality=92)
        write_bytes_atomic(f"{root}/p{i:03d}.jpg", buf.getvalue(), options)


def settings(size: int, iterations: int, device: str) -> StyleConfig:
    """The benchmark's settings: dpst from the colour-transfer start."""
    return StyleConfig.model_validate(
        {"size": size, "device": device, "optimizer": {"iterations": iterations, "init": "transfer"}}
    )


def core_only(photos: list[str], style_uri: str, config: StyleConfig, options: dict) -> float:
    """Seconds to run every photo through the core functions directly (the work, no orchestration)."""
    start = time.perf_counter()
    style = resize_long_side(decode_image(read_bytes(style_uri, options), style_uri), config.size)
    for uri in photos:
        content = resize_long_side(decode_image(read_bytes(uri, options), uri), config.size)
        pairs = pair_regions(single_region(content.shape[:2]), single_region(style.shape[:2]))
        lap = matting_laplacian(content)
        result = stylize(content, style, config, pairs.content_masks, pairs.style_masks, lap)
        score_all(content, style, result.image, lap, pairs.content_masks, pairs.style_masks)
        encode_image(result.image, "jpeg")
    return time.perf_counter() - start


def flow_seconds(input_uri: str, style_uri: str, output_uri: str, options: dict, **kwargs) -> tuple[float, dict]:
    """Seconds for one ``stylize-collection`` run and its summary."""
    start = time.perf_counter()
    summary = stylize_collection(
        input_uri=input_uri, style=style_uri, output_uri=output_uri, storage_options=options, **kwargs
    )
    return time.perf_counter() - start, summary


def start_s3() -> tuple[object, dict]:
    """A moto S3 server on 127.0.0.1 with a bucket, and the storage options for it."""
    import boto3
    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bench", aws_secret_access_key="bench"
    ).create_bucket(Bucket="bench")
    # credentials through the environment (flows refuse them as parameters); s3fs reads them
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    return server, {"client_kwargs": {"endpoint_url": endpoint, "region_name": "us-east-1"}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=8, help="photos for the overhead measurement")
    parser.add_argument("--tiny-size", type=int, default=32)
    parser.add_argument("--tiny-iterations", type=int, default=2)
    parser.add_argument("--throughput-photos", type=int, default=8)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--s3", action="store_true", help="photos and outputs on a local moto S3 server")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args()

    server = None
    options: dict = {}
    if args.s3:
        server, options = start_s3()
        root = "s3://bench"
    else:
        root = tempfile.mkdtemp(prefix="photostyle-bench-")
    style_uri = f"{root}/style/coffee.jpg"
    write_bytes_atomic(style_uri, (SAMPLES / "coffee.jpg").read_bytes(), options)
    figures: dict = {"storage": "s3 (moto)" if args.s3 else "local disk", "device": args.device}

    make_photos(f"{root}/tiny", args.photos, options)
    photos = [f"{root}/tiny/p{i:03d}.jpg" for i in range(args.photos)]
    config = settings(args.tiny_size, args.tiny_iterations, args.device)
    tiny = dict(config=config)
    core_only(photos[:1], style_uri, config, options)  # load VGG once
    # start Prefect's API (the ephemeral server takes 10-20 s) before anything is timed
    flow_seconds(f"{root}/tiny", style_uri, f"{root}/warm-up", options, concurrency=1, only=["p000.jpg"], **tiny)
    core = core_only(photos, style_uri, config, options)
    fresh, _ = flow_seconds(f"{root}/tiny", style_uri, f"{root}/tiny-out", options, concurrency=1, **tiny)
    cached, summary = flow_seconds(f"{root}/tiny", style_uri, f"{root}/tiny-out", options, concurrency=1, **tiny)
    assert summary["cached"] == args.photos, summary
    n = args.photos
    figures["overhead"] = {
        "photos": n,
        "size": args.tiny_size,
        "iterations": args.tiny_iterations,
        "core_s_per_photo": round(core / n, 3),
        "flow_s_per_photo": round(fresh / n, 3),
        "overhead_s_per_photo": round((fresh - core) / n, 3),
        "cached_rerun_s_per_photo": round(cached / n, 3),
    }

    make_photos(f"{root}/batch", args.throughput_photos, options)
    seconds, summary = flow_seconds(
        f"{root}/batch",
        style_uri,
        f"{root}/batch-out",
        options,
        config=settings(args.size, args.iterations, args.device),
        concurrency=args.concurrency,
    )
    figures["throughput"] = {
        "photos": args.throughput_photos,
        "size": args.size,
        "iterations": args.iterations,
        "concurrency": args.concurrency,
        "seconds": round(seconds, 1),
        "ok": summary["ok"],
        "photos_per_minute": round(60 * args.throughput_photos / seconds, 2),
    }

    o, t = figures["overhead"], figures["throughput"]
    print(f"storage {figures['storage']}, device {args.device}")
    print(f"overhead at {o['size']} px, {o['iterations']} iterations, {n} photos, concurrency 1:")
    print(f"  core calls      {o['core_s_per_photo']:7.3f} s/photo")
    print(f"  flow, fresh     {o['flow_s_per_photo']:7.3f} s/photo  (overhead {o['overhead_s_per_photo']:.3f} s/photo)")
    print(f"  flow, cached    {o['cached_rerun_s_per_photo']:7.3f} s/photo")
    print(
        f"throughput at {t['size']} px, {t['iterations']} iterations (dpst, two stages), "
        f"concurrency {t['concurrency']}: {t['photos']} photos in {t['seconds']} s = "
        f"{t['photos_per_minute']} photos/min"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    if server is not None:
        server.stop()


if __name__ == "__main__":
    main()
