"""Draw the app icons (run once by hand: ``.venv/bin/python pwa/icons/make_icons.py``; the PNGs are committed).

A white house with the door open on the brand blue, the one-stop office coming to the citizen's home. The
"any" icons have rounded corners; the maskable icon fills its square and keeps the drawing inside the central
safe zone (a circle of 40 % of the size), since launchers crop it to their own shape.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from PIL import ImageDraw

HERE = Path(__file__).resolve().parent
BRAND = (11, 79, 138, 255)  # --brand in static/css/app.css
WHITE = (255, 255, 255, 255)
GOLD = (242, 183, 5, 255)
SUPERSAMPLE = 4  # draw large, then shrink: smooth edges without an anti-aliasing library


def _house(draw: ImageDraw.ImageDraw, size: int, scale: float) -> None:
    """The house, centred, its width ``scale`` × the icon size."""
    width = size * scale
    left, top = (size - width) / 2, (size - width * 0.92) / 2
    roof_bottom = top + width * 0.42
    draw.polygon([(left - width * 0.04, roof_bottom), (size / 2, top), (left + width * 1.04, roof_bottom)], fill=WHITE)
    body_left, body_right, bottom = left + width * 0.12, left + width * 0.88, top + width * 0.92
    draw.rectangle([body_left, roof_bottom - 1, body_right, bottom], fill=WHITE)
    door_w = width * 0.22
    door_left = size / 2 - door_w / 2
    draw.rectangle([door_left, bottom - width * 0.34, door_left + door_w, bottom], fill=BRAND)
    # The open door leaf and the doorstep, in the warm colour of the receipt handed over at the door.
    draw.polygon([(door_left + door_w, bottom - width * 0.34), (door_left + door_w * 1.45, bottom - width * 0.30),
                  (door_left + door_w * 1.45, bottom - width * 0.02), (door_left + door_w, bottom)], fill=GOLD)
    draw.rectangle([left + width * 0.08, bottom, left + width * 0.92, bottom + width * 0.05], fill=GOLD)


def draw_icon(size: int, maskable: bool) -> Image.Image:
    big = size * SUPERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if maskable:
        draw.rectangle([0, 0, big, big], fill=BRAND)
        _house(draw, big, 0.52)
    else:
        draw.rounded_rectangle([0, 0, big - 1, big - 1], radius=big * 0.18, fill=BRAND)
        _house(draw, big, 0.66)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    for name, size, maskable in (("icon-192.png", 192, False), ("icon-512.png", 512, False),
                                 ("maskable-512.png", 512, True)):
        draw_icon(size, maskable).save(HERE / name, optimize=True)
        print(name, (HERE / name).stat().st_size, "bytes")


if __name__ == "__main__":
    main()
