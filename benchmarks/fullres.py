"""Full-resolution benchmark: real large photos through the pair flow with the default settings.

For a 2560x1600 photo and the same photo enlarged to 12 and 24 megapixels (4256x2832, 6000x4000),
each in a fresh process so its peak memory is its own, it prints seconds per stage, the flow's wall
time, and apart from it the one-off costs that a batch pays once, timed before the pair's flow:
the temporary Prefect server's start (an empty flow) and, on a GPU, CUDA's, the peak resident memory
(the flow's process; the temporary Prefect server runs in another), the output's size against the
input's, and the quality of the full-resolution output brought back to the working size against
the working-size result: structure, photorealism and style distance, as ratios (1.00 is equal).

The photos are Debian's ``mate-backgrounds`` (GPL-2+; ``apt-get install mate-backgrounds``), read
where apt puts them and never copied into the repository; the enlarged photos are written to a
temporary folder. Example (its settings flags are the CLI's, ``photostyle stylize --help``):

    python benchmarks/fullres.py
    python benchmarks/fullres.py --device cuda          # the same on a GPU
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MATE = Path("/usr/share/backgrounds/mate/nature")
#: Content and style photos (both 2560x1600 in mate-backgrounds 1.26).
CONTENT, STYLE = MATE / "Garden.jpg", MATE / "YellowFlower.jpg"
#: The enlarged photos' sizes: 12 and 24 megapixels, 3:2 cameras'.
ENLARGED = ((4256, 2832), (6000, 4000))
METRICS = ("structure", "photorealism", "style_distance")


def enlarge(source: Path, size: tuple[int, int], folder: Path) -> Path:
    """``source`` resized (bicubic) to ``size`` as a high-quality JPEG in ``folder``."""
    from PIL import Image

    out = folder / f"{source.stem}-{size[0]}x{size[1]}.jpg"
    with Image.open(source) as img:
        img.convert("RGB").resize(size, Image.Resampling.BICUBIC).save(out, quality=95)
    return out


def gpu_peak_mb() -> float | None:
    """The most GPU memory torch held at once in this process (None without CUDA)."""
    import torch

    return torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None


def prefect_start_seconds() -> float:
    """Seconds an empty flow takes, which on a process's first flow is mostly the start of the
    temporary Prefect server."""
    from prefect import flow

    @flow(name="warm-up")
    def warm_up() -> None:
        return None

    start = time.perf_counter()
    warm_up()
    return time.perf_counter() - start


def cuda_start_seconds() -> float | None:
    """Seconds CUDA takes to start in this process (its context, a first kernel); None without it."""
    import torch

    if not torch.cuda.is_available():
        return None
    start = time.perf_counter()
    torch.ones(1, device="cuda").add_(1).cpu()
    return time.perf_counter() - start


def run_one(content: str, style: str, out: str, settings: str) -> dict:
    """One pair run in this process: seconds per stage, peak memory, sizes and quality ratios."""
    from photostyle.flows.prefect_env import apply_prefect_defaults

    apply_prefect_defaults()
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from PIL import Image

    from photostyle.core.artifacts import ArtifactStore
    from photostyle.core.config import StyleConfig
    from photostyle.core.imageio import load_image, resize_to
    from photostyle.core.metrics import score_all
    from photostyle.flows.stylize_pair import stylize_pair
    from photostyle.tasks.laplacian import load_laplacian
    from photostyle.tasks.optimize import load_result

    config = StyleConfig.model_validate_json(settings)
    root = str(Path(out).parent / "artifacts")
    prefect_start = prefect_start_seconds()
    cuda_start = cuda_start_seconds() if config.device != "cpu" else None
    start = time.perf_counter()
    sidecar = stylize_pair(content=content, style=style, output=out, config=config, artifact_root=root)
    wall = time.perf_counter() - start
    store = ArtifactStore(root)
    stages = sidecar["stages"]
    ref = lambda name: store.get(name.split("_")[0], stages[name]["key"])  # noqa: E731
    working_content, working_style = store.read_image(ref("prepare_content")), store.read_image(ref("prepare_style"))
    working = load_result(store, ref("finish" if "finish" in stages else "optimize"))
    lap = load_laplacian(store, ref("laplacian"))
    back = resize_to(load_image(out), working.shape[:2])
    ours = score_all(working_content, working_style, back, lap).to_dict()
    base = score_all(working_content, working_style, working, lap).to_dict()
    with Image.open(content) as a, Image.open(out) as b:
        sizes = {"input": list(a.size), "output": list(b.size)}
    return {
        "seconds": {name: s["seconds"] for name, s in stages.items()},
        "wall": wall,
        "prefect_start": prefect_start,
        "cuda_start": cuda_start,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_gpu_mb": gpu_peak_mb(),
        "sizes": sizes,
        "working": base,
        "full_at_working": ours,
        "ratio": {m: ours[m] / base[m] for m in METRICS},
        "device": sidecar["device"],
    }


def print_row(r: dict) -> None:
    """One photo's figures, printed as soon as its run ends."""
    w, h = r["sizes"]["input"]
    secs = " ".join(f"{k}={v:.1f}" for k, v in r["seconds"].items() if v is not None)
    print(f"{r['photo']} {w}x{h} ({w * h / 1e6:.1f} MP) -> {r['sizes']['output'][0]}x{r['sizes']['output'][1]}")
    cuda = f", CUDA's {r['cuda_start']:.1f}" if r.get("cuda_start") is not None else ""
    print(f"  seconds: {secs}; flow wall {r['wall']:.1f} (before it, Prefect's start {r['prefect_start']:.1f}{cuda})")
    gpu = f", peak GPU memory {r['peak_gpu_mb']:.0f} MB" if r["peak_gpu_mb"] is not None else ""
    print(f"  peak RSS {r['peak_rss_mb']:.0f} MB{gpu}")
    ratios = " ".join(f"{m}={r['ratio'][m]:.3f}" for m in METRICS)
    print(f"  full-res output at the working size / working result: {ratios}", flush=True)


def main(argv: list[str] | None = None) -> int:
    from photostyle.flows.cli import add_settings_flags, config_from_args

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--content", default=str(CONTENT), help="a large photo (default: mate-backgrounds' Garden)")
    p.add_argument("--style", default=str(STYLE), help="the style photo")
    p.add_argument("--out", default="bench-out/fullres", help="folder for outputs and artifacts")
    p.add_argument("--only-big", action="store_true", help="just the 24 MP photo")
    p.add_argument("--child", nargs=4, metavar=("CONTENT", "STYLE", "OUT", "SETTINGS"), help=argparse.SUPPRESS)
    add_settings_flags(p)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(run_one(*args.child)))
        return 0
    if not Path(args.content).exists():
        sys.exit(f"{args.content} is missing: apt-get install mate-backgrounds (or give --content)")
    settings = config_from_args(args).model_dump_json()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        sizes = ENLARGED[-1:] if args.only_big else ENLARGED
        photos = [] if args.only_big else [Path(args.content)]
        photos += [enlarge(Path(args.content), size, Path(tmp)) for size in sizes]
        for photo in photos:
            target = out / f"{photo.stem}.jpg"
            cmd = [sys.executable, __file__, "--child", str(photo), args.style, str(target), settings]
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode != 0:
                sys.exit(f"{photo.name} failed:\n{done.stderr[-3000:]}")
            row = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append({"photo": photo.name, **row})
            if len(rows) == 1:
                print(f"# {settings} device={row['device']}", flush=True)
            print_row(rows[-1])
    (out / "results.json").write_text(json.dumps({"config": json.loads(settings), "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
