"""Speed figures, printed side by side (no assertions): our matting Laplacian against pymatting's, our Gatys
iteration against the ``pastiche`` package's, and where our iteration's time goes.

1. Laplacian (radius 1, eps 1e-7) of the content photo at 700 and 256 px long side:
   ``photostyle.core.laplacian.matting_laplacian`` against ``pymatting.cf_laplacian`` (numba), median and min
   of ``--repeats`` alternating runs after a warm-up, and the largest difference of the two matrices. Then
   each one's first call in a fresh subprocess, imports included: pymatting compiles its numba kernels at
   import, or loads them from numba's on-disk cache when that is warm (the default run measures whatever
   cache this machine has); ``--numba-cold`` adds a run with an empty ``NUMBA_CACHE_DIR`` (about a minute).
2. Gatys at ``--size`` px long side on the CPU, ``--iterations`` L-BFGS iterations from the content photo:
   ours (``run_method`` with ``GatysConfig()``) against pastiche's ``PasticheArtist`` on the same 8-bit
   images, with the same VGG-19 weights (pastiche ships the file ours reads), layers, L-BFGS history (100),
   learning rate and content/style weights (pastiche's per-layer weights are set to equal ours). What still
   differs: our TV term (1e-3, squared differences; pastiche's default is none) and the bookkeeping around
   a step. Each side runs twice with half the iterations, in the order ours, pastiche, pastiche, ours;
   seconds per iteration (median over both runs), and the setup (VGG load, targets) of each run apart.
3. Profile: one of our iterations split into VGG forward, each loss term and backward, then
   torch.profiler's top operators by own CPU time.

    python benchmarks/speed.py
    python benchmarks/speed.py --size 256 --iterations 20 --repeats 5 \\
        --content data/samples/chelsea.jpg --style data/samples/rocket.jpg [--threads 1] [--numba-cold]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.profiler import ProfilerActivity, profile

from photostyle.core.config import GatysConfig, OptimizerConfig
from photostyle.core.imageio import load_image, resize_long_side
from photostyle.core.laplacian import matting_laplacian
from photostyle.core.losses import LossContext, Objective, WeightedTerm, weighted_terms
from photostyle.core.methods import MethodInputs, Progress, run_method
from photostyle.core.neural_style import last_layer, pixel_scale
from photostyle.core.optimize import LBFGS_HISTORY, to_tensor
from photostyle.core.vgg import build_vgg, load_weights

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
EPS, RADIUS = 1e-7, 1  # the pipeline's matting Laplacian (tasks/laplacian.py)
#: Output channels of VGG-19's blocks, for pastiche's per-layer style weights.
BLOCK_CHANNELS = {1: 64, 2: 128, 3: 256, 4: 512, 5: 512}

_COLD_CALL = """
import sys, time
t0 = time.perf_counter()
import numpy as np
{imports}
t1 = time.perf_counter()
image = np.load(sys.argv[1])
t2 = time.perf_counter()
{call}
t3 = time.perf_counter()
{call}
t4 = time.perf_counter()
print(t1 - t0, t3 - t2, t4 - t3)
"""
_COLD_OURS = ("from photostyle.core.laplacian import matting_laplacian", "matting_laplacian(image, eps=1e-7, radius=1)")
_COLD_PYMATTING = ("import pymatting", "pymatting.cf_laplacian(image, epsilon=1e-7, radius=1)")


def alternate(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    """Seconds of each run, ``repeats`` times, alternating between them so that load drifts hit all alike.

    The order flips every round: a run right after another one pays for memory the other just gave back
    (about 3 ms of 15 at 256 px), which would otherwise always fall on the same side.
    """
    times: dict[str, list[float]] = {name: [] for name in runs}
    for round_ in range(repeats):
        for name, run in list(runs.items())[:: 1 if round_ % 2 == 0 else -1]:
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return times


def fmt_times(times: list[float]) -> str:
    """Median and min of some timings, in seconds."""
    return f"median {statistics.median(times):.4f} s  min {min(times):.4f} s  (n={len(times)})"


def laplacian_speed(path: Path, sizes: list[int], repeats: int, numba_cold: bool) -> None:
    """Section 1: our matting Laplacian against pymatting's, warm and cold."""
    import pymatting

    print(f"\n== 1. matting Laplacian (radius {RADIUS}, eps {EPS}) of {path.name}: ours vs pymatting.cf_laplacian ==")
    for size in sizes:
        image = resize_long_side(load_image(str(path)), size).astype(np.float64)  # pymatting takes float64 only
        runs = {
            "ours": lambda image=image: matting_laplacian(image, eps=EPS, radius=RADIUS),
            "pymatting": lambda image=image: pymatting.cf_laplacian(image, epsilon=EPS, radius=RADIUS),
        }
        ours, theirs = runs["ours"](), runs["pymatting"]()
        diff = abs(ours - theirs).max() / abs(theirs).max()
        times = alternate(runs, repeats)
        print(f"{image.shape[1]}x{image.shape[0]} px, nnz {ours.nnz}, max |ours - pymatting| / max |L| = {diff:.1e}")
        for name, values in times.items():
            print(f"  {name:<10} {fmt_times(values)}")
        ratio = statistics.median(times["pymatting"]) / statistics.median(times["ours"])
        print(f"  pymatting / ours (medians): {ratio:.2f}")
    cold_size = sizes[0]
    image = resize_long_side(load_image(str(path)), cold_size).astype(np.float64)
    print(f"first call in a fresh process at {cold_size} px (import s, first call s, second call s):")
    with tempfile.TemporaryDirectory() as tmp:
        array = Path(tmp) / "image.npy"
        np.save(array, image)
        cases = [("ours", _COLD_OURS, None), ("pymatting, numba cache as found", _COLD_PYMATTING, None)]
        if numba_cold:
            cases.append(("pymatting, empty numba cache", _COLD_PYMATTING, str(Path(tmp) / "numba")))
        for label, (imports, call), cache_dir in cases:
            imported, first, second = cold_call(array, imports, call, cache_dir)
            print(f"  {label:<32} import {imported:7.2f}  first {first:.3f}  second {second:.3f}")


def cold_call(array: Path, imports: str, call: str, numba_cache: str | None) -> tuple[float, float, float]:
    """Import, first-call and second-call seconds of ``call`` in a fresh Python process."""
    env = dict(os.environ)
    if numba_cache is not None:
        env["NUMBA_CACHE_DIR"] = numba_cache
    code = _COLD_CALL.format(imports=imports, call=call)
    out = subprocess.run([sys.executable, "-c", code, str(array)], env=env, check=True, capture_output=True, text=True)
    imported, first, second = (float(v) for v in out.stdout.split()[-3:])
    return imported, first, second


def save_png(image: np.ndarray, path: Path) -> np.ndarray:
    """Write an HxWx3 [0,1] image as an 8-bit PNG and return the 8-bit values as [0,1] float32."""
    pixels = np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(path)
    return pixels.astype(np.float32) / 255.0


def gatys_ours(content: np.ndarray, style: np.ndarray, iterations: int, cold: bool) -> dict:
    """Our Gatys (``cold``: VGG loaded again): setup seconds, per-iteration seconds, the first step's terms."""
    if cold:
        build_vgg.cache_clear()
        load_weights.cache_clear()
    stamps: list[float] = []
    reports: list[Progress] = []

    def progress(report: Progress) -> None:
        stamps.append(time.perf_counter())
        reports.append(report)

    start = time.perf_counter()
    run_method(
        MethodInputs(content, style),
        GatysConfig(),
        OptimizerConfig(iterations=iterations, init="content"),
        "pastiche",
        "cpu",
        progress=progress,
    )
    steps = list(np.diff(stamps))
    setup = stamps[0] - start - (statistics.median(steps) if steps else 0.0)
    return {"setup": setup, "steps": steps, "evaluations": len(stamps), "start": reports[0].terms}


def gatys_pastiche(content_png: Path, style_png: Path, shapes: tuple, iterations: int) -> dict:
    """pastiche's Gatys on the same images with our content/style weights: setup and per-iteration seconds."""
    from pastiche.pastiche import PasticheArtist

    method = GatysConfig()
    style_layers = [f"block{n[4]}_relu{n[6]}" for n in method.style_layers]
    start = time.perf_counter()
    artist = PasticheArtist(
        str(content_png),
        [str(style_png)],
        device="cpu",
        size=shapes[0],
        style_size=shapes[1],
        content_layers=[f"block{n[4]}_relu{n[6]}" for n in method.content_layers],
        style_layers=style_layers,
        content_layer_weights=[method.content_weight],
        # pastiche's Gram is F F^T / (H W), ours F F^T / (C H W): its squared error is C^2 times ours
        style_layer_weights=[method.style_weight / BLOCK_CHANNELS[int(n[5])] ** 2 for n in style_layers],
    )
    setup = time.perf_counter() - start
    first = artist.loss
    steps = []
    for _ in range(iterations):
        begin = time.perf_counter()
        artist.draw()
        steps.append(time.perf_counter() - begin)
    return {"setup": setup, "steps": steps, "evaluations": iterations, "start": first}


def gatys_speed(content_path: Path, style_path: Path, size: int, iterations: int) -> float:
    """Section 2: our Gatys iteration against pastiche's; returns our median seconds per iteration.

    Each side runs twice, half the iterations each, in the order ours, pastiche, pastiche, ours, so that a
    change in the machine's load between runs falls on both sides alike.
    """
    threads = torch.get_num_threads()
    half = max(1, iterations // 2)
    print(f"\n== 2. Gatys at {size} px, 2 x {half} L-BFGS iterations each, CPU, {threads} torch threads ==")
    runs: dict[str, list[dict]] = {"ours": [], "pastiche": []}
    with tempfile.TemporaryDirectory() as tmp:
        content_png, style_png = Path(tmp) / "content.png", Path(tmp) / "style.png"
        content = save_png(resize_long_side(load_image(str(content_path)), size), content_png)
        style = save_png(resize_long_side(load_image(str(style_path)), size), style_png)
        print(
            f"content {content_path.name} {content.shape[1]}x{content.shape[0]}, style {style_path.name} "
            f"{style.shape[1]}x{style.shape[0]}"
        )
        for name in ("ours", "pastiche", "pastiche", "ours"):
            if name == "ours":
                runs[name].append(gatys_ours(content, style, half, cold=not runs[name]))
            else:
                runs[name].append(gatys_pastiche(content_png, style_png, (content.shape[:2], style.shape[:2]), half))
    medians = {}
    for name, results in runs.items():
        steps = [t for r in results for t in r["steps"]]
        medians[name] = statistics.median(steps)
        setups = ", ".join(f"{r['setup']:.2f}" for r in results)
        evaluations = sum(r["evaluations"] for r in results)
        print(
            f"  {name:<9} per iteration {fmt_times(steps)}; {evaluations} loss evaluations; "
            f"setup (VGG load, targets) per run {setups} s"
        )
    print("  (our second run finds the VGG already built, as a worker does after its first photo)")
    print(f"  pastiche / ours per iteration (medians): {medians['pastiche'] / medians['ours']:.2f}")
    ours, theirs = runs["ours"][0]["start"], runs["pastiche"][0]["start"]
    print(
        f"  style loss at the content start: ours {ours.get('gram', float('nan')):.6g} "
        f"(+ TV {ours.get('tv', 0.0):.4g}), pastiche {theirs:.6g}"
    )
    return medians["ours"]


def our_terms(content: np.ndarray, style: np.ndarray) -> tuple[Objective, list[WeightedTerm], torch.Tensor]:
    """Our Gatys objective as ``run_gatys`` builds it, its terms, and the content start as pixels."""
    method = GatysConfig()
    device = torch.device("cpu")
    vgg = build_vgg("pastiche", method.pooling, last_layer(method), "cpu")
    x, s = to_tensor(content, device), to_tensor(style, device)
    ctx = LossContext(vgg, x, s, method.content_layers, method.style_layers)
    weights = {"content": method.content_weight, "gram": method.style_weight, "tv": method.tv_weight}
    terms = weighted_terms(ctx, weights, pixel_scale(method, content.shape))
    return Objective(vgg, terms), terms, x


def step_parts(objective: Objective, terms: list[WeightedTerm], x: torch.Tensor) -> dict[str, float]:
    """Seconds of one forward/backward step, by part."""
    x.grad = None
    start = time.perf_counter()
    features = objective.vgg(x, objective.layers)
    parts = {"VGG forward (to conv5_1)": time.perf_counter() - start}
    total = None
    for t in terms:
        begin = time.perf_counter()
        value = t.weight * t.term(x, features)
        parts[f"loss term {t.name}"] = time.perf_counter() - begin
        total = value if total is None else total + value
    begin = time.perf_counter()
    total.backward()
    parts["backward"] = time.perf_counter() - begin
    return parts


def lbfgs_update(objective: Objective, start: torch.Tensor, iterations: int) -> tuple[float, float]:
    """Seconds per iteration of an L-BFGS run set up as ``run_stage`` does, and the part spent outside the
    loss evaluations (the L-BFGS update, with a history of at most ``iterations`` here)."""
    x = start.clone().requires_grad_(True)
    opt = torch.optim.LBFGS(
        [x],
        lr=1.0,
        max_iter=iterations,
        max_eval=iterations,
        tolerance_grad=-1,
        tolerance_change=-1,
        history_size=LBFGS_HISTORY,
    )
    inside: list[float] = []

    def closure() -> torch.Tensor:
        begin = time.perf_counter()
        opt.zero_grad()
        loss, _ = objective(x)
        loss.backward()
        inside.append(time.perf_counter() - begin)
        return loss

    begin = time.perf_counter()
    opt.step(closure)
    total = time.perf_counter() - begin
    return total / len(inside), (total - sum(inside)) / len(inside)


def two_loop(x: torch.Tensor, history: int = LBFGS_HISTORY) -> float:
    """Seconds of L-BFGS's two-loop recursion over ``history`` pairs of vectors the size of ``x`` (its
    per-iteration cost once the history is full, beyond the first ``history`` iterations)."""
    n = x.numel()
    s, y = torch.randn(history, n), torch.randn(history, n)
    q = torch.randn(n)
    rho = 1.0 / (s * y).sum(1)
    begin = time.perf_counter()
    alpha = torch.empty(history)
    for i in range(history - 1, -1, -1):
        alpha[i] = s[i].dot(q) * rho[i]
        q.add_(y[i], alpha=-float(alpha[i]))
    for i in range(history):
        beta = y[i].dot(q) * rho[i]
        q.add_(s[i], alpha=float(alpha[i] - beta))
    return time.perf_counter() - begin


def profile_step(content_path: Path, style_path: Path, size: int, repeats: int, per_iteration: float | None) -> None:
    """Section 3: where one of our iterations spends its time."""
    content = resize_long_side(load_image(str(content_path)), size)
    style = resize_long_side(load_image(str(style_path)), size)
    objective, terms, start = our_terms(content, style)
    x = start.clone().requires_grad_(True)
    step_parts(objective, terms, x)  # warm-up
    runs = [step_parts(objective, terms, x) for _ in range(repeats)]
    print(f"\n== 3. one of our iterations at {size} px, by part (median of {repeats}) ==")
    medians = {name: statistics.median(r[name] for r in runs) for name in runs[0]}
    step = sum(medians.values())
    for name, seconds in medians.items():
        print(f"  {name:<26} {seconds:.4f} s  {100 * seconds / step:5.1f} %")
    print(f"  {'forward + backward':<26} {step:.4f} s")
    evaluation, update = lbfgs_update(objective, start, 3)
    print(
        f"  L-BFGS set up as run_stage does (3 iterations): {evaluation:.4f} s per iteration, {update:.4f} s of it "
        f"outside the loss evaluations;\n  the two-loop recursion at full history ({LBFGS_HISTORY}) takes "
        f"{two_loop(x):.4f} s per iteration"
    )
    if per_iteration is not None:
        print(f"  (section 2 measured {per_iteration:.4f} s per iteration; the machine's load moves both)")
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step_parts(objective, terms, x)
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total_us = sum(e.self_cpu_time_total for e in events)
    print("  torch.profiler, top operators by own CPU time (one step):")
    for e in events[:10]:
        share = 100 * e.self_cpu_time_total / total_us
        print(f"    {e.key:<34} {e.self_cpu_time_total / 1e3:8.1f} ms  {share:5.1f} %  calls {e.count}")


def main() -> None:
    """Parse the flags and print the chosen sections."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=256, help="long side (px) of the Gatys runs and the profile")
    parser.add_argument("--iterations", type=int, default=20, help="L-BFGS iterations of each Gatys run")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each Laplacian build (and profile)")
    parser.add_argument("--content", type=Path, default=SAMPLES / "chelsea.jpg", help="content photo")
    parser.add_argument("--style", type=Path, default=SAMPLES / "rocket.jpg", help="style photo")
    parser.add_argument("--laplacian-sizes", default="700,256", help="long sides (px) of the Laplacian builds")
    parser.add_argument("--parts", default="laplacian,gatys,profile", help="sections to run, comma-separated")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--numba-cold", action="store_true", help="also time pymatting with an empty numba cache")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    parts = set(args.parts.split(","))
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"{os.cpu_count()} CPUs, load average {load} (other processes move every figure below)")
    start = time.perf_counter()
    if "laplacian" in parts:
        sizes = [int(s) for s in args.laplacian_sizes.split(",")]
        laplacian_speed(args.content, sizes, args.repeats, args.numba_cold)
    per_iteration = None
    if "gatys" in parts:
        per_iteration = gatys_speed(args.content, args.style, args.size, args.iterations)
    if "profile" in parts:
        profile_step(args.content, args.style, args.size, max(1, min(args.repeats, 3)), per_iteration)
    print(f"\n({time.perf_counter() - start:.0f} s in all)")


if __name__ == "__main__":
    main()
