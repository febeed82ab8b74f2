"""Contact sheets for the benchmarks' pictures in docs/: images in a grid of thumbnails."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

#: Height in pixels of a caption line.
LINE = 14


def contact_sheet(
    rows: list[list[Path]], columns: list[str], target: Path, tile: int = 180, captions: list[str] | None = None
) -> None:
    """A grid of thumbnails (each fitted in a ``tile`` square), one list of image paths a row,
    with the column headers above, and each row's caption (if any) above the row."""
    thumbs = []
    for row in rows:
        thumbs.append([])
        for path in row:
            with Image.open(path) as img:
                img = img.convert("RGB")
                img.thumbnail((tile - 4, tile - 4))
                thumbs[-1].append(img)
    caption_height = LINE if captions else 0
    heights = [caption_height + max(img.height for img in row) + 4 for row in thumbs]
    grid = Image.new("RGB", (tile * len(columns), LINE + 2 + sum(heights)), "white")
    draw = ImageDraw.Draw(grid)
    for j, name in enumerate(columns):
        draw.text((j * tile + 4, 2), name, fill="black")
    top = LINE + 2
    for i, (row, height) in enumerate(zip(thumbs, heights)):
        if captions:
            draw.text((4, top + 1), captions[i], fill="dimgray")
        for j, img in enumerate(row):
            grid.paste(img, (j * tile + 2, top + caption_height + 2))
        top += height
    target.parent.mkdir(parents=True, exist_ok=True)
    grid.save(target, quality=88)
