"""What a run shows people: thumbnails a browser loads without any file access (data: URIs),
and Markdown/table content summarising results. No Prefect here; tasks/ publishes it."""

from __future__ import annotations

import base64

import numpy as np

from photostyle.core.imageio import encode_image, resize_long_side

THUMBNAIL_SIDE = 320


def thumbnail_data_uri(image: np.ndarray, side: int = THUMBNAIL_SIDE) -> str:
    """A JPEG thumbnail (long side ``side``, never enlarged) as a ``data:`` URI."""
    small = resize_long_side(image, min(side, max(image.shape[:2])))
    return "data:image/jpeg;base64," + base64.b64encode(encode_image(small, "jpeg", 85)).decode()


def _fmt(value: float | str | None) -> str:
    if value is None:
        return "-"
    return value if isinstance(value, str) else f"{value:.4g}"


def pair_markdown(
    title: str,
    images: dict[str, np.ndarray],
    scores: dict,
    facts: dict[str, str],
    candidates: list[dict] | None = None,
) -> str:
    """Markdown with the images side by side (as thumbnails), the scores, the candidates the
    result was chosen from (if any) and a few facts."""
    header = "| " + " | ".join(images) + " |\n|" + "---|" * len(images) + "\n"
    row = "| " + " | ".join(f"![{name}]({thumbnail_data_uri(img)})" for name, img in images.items()) + " |\n"
    score_rows = "".join(f"| {name} | {_fmt(value)} |\n" for name, value in scores.items())
    fact_rows = "".join(f"- **{name}**: {value}\n" for name, value in facts.items())
    return (
        f"# {title}\n\n{header}{row}\n| score | value |\n|---|---|\n{score_rows}\n"
        f"{candidates_markdown(candidates or [])}{fact_rows}"
    )


def candidates_markdown(candidates: list[dict]) -> str:
    """A table of the candidates (method, seed, working-size scores), the published one marked."""
    if not candidates:
        return ""
    names = ("nima_mean", "structure", "photorealism", "style_distance")
    head = "| candidate | method | seed | " + " | ".join(names) + " | published |\n|" + "---|" * (len(names) + 4)
    rows = "".join(
        f"\n| {c['index'] + 1} | {c['method']} | {c['seed']} | "
        + " | ".join(_fmt((c.get("scores") or {}).get(n)) for n in names)
        + f" | {'yes' if c['chosen'] else ''} |"
        for c in candidates
    )
    return f"Candidates, scored at the working size:\n\n{head}{rows}\n\n"


def chosen_candidate(candidates: list[dict] | None) -> str:
    """``i of N (method)`` for a result chosen among candidates, else empty."""
    chosen = [c for c in candidates or [] if c.get("chosen")]
    return f"{chosen[0]['index'] + 1} of {len(candidates)} ({chosen[0]['method']})" if chosen else ""


def collection_rows(rows: list[dict]) -> list[dict]:
    """Manifest rows trimmed to what a table in the UI shows: photo, status, scores, output."""
    return [
        {
            "photo": r["input_uri"],
            "status": r["status"],
            "structure": _fmt(r.get("structure")),
            "photorealism": _fmt(r.get("photorealism")),
            "style_distance": _fmt(r.get("style_distance")),
            "nima_mean": _fmt(r.get("nima_mean")),
            "nima_std": _fmt(r.get("nima_std")),
            "candidate": chosen_candidate(r.get("candidates")),
            "output": r.get("output_uri") if r["status"] != "failed" else "",
            "error": r.get("error") or "",
        }
        for r in rows
    ]
