"""Decode cost of the largest images the server still accepts (issue 10, point 6).

Builds, in memory, PNG and JPEG images at the pixel cap (MAX_IMAGE_PIXELS) and at the phone's ~2 MP, runs them
through the same check as an upload (server/dossiers/attachments.py ``_image_size``: header, mode, full decode)
and prints per image: bytes, pixels, decode wall time, CPU time and the process's peak RSS growth. Then it decodes
four cap-sized images at once to show the concurrency cap at work.

    .venv/bin/python bench/decode_limits.py
"""

from __future__ import annotations

import io
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image  # noqa: E402

from server import create_app  # noqa: E402
from server.dossiers import attachments  # noqa: E402


def _png(width: int, height: int, mode: str = "RGB") -> bytes:
    # Uniform content compresses to almost nothing: the cheapest upload for the most decoding (a "bomb").
    out = io.BytesIO()
    Image.new(mode, (width, height), "white").save(out, "PNG")
    return out.getvalue()


def _jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.effect_noise((width, height), 64).convert("RGB").save(out, "JPEG", quality=85)
    return out.getvalue()


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(name: str, data: bytes) -> None:
    before = _peak_mb()
    wall, cpu = time.perf_counter(), time.process_time()
    size = attachments._image_size(data)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{name:<34} {len(data) / 1000:>9.0f} KB {size[0] * size[1] / 1e6:>6.1f} MP "
          f"{wall * 1000:>8.0f} ms wall {cpu * 1000:>8.0f} ms CPU  peak RSS +{_peak_mb() - before:.0f} MB")


def main() -> None:
    app = create_app({"INSTANCE_PATH": tempfile.mkdtemp(), "APP_ENV": "testing"})
    with app.app_context():
        cap = app.config["MAX_IMAGE_PIXELS"]
        width = 4000
        height = cap // width
        print(f"MAX_IMAGE_PIXELS = {cap:,}; IMAGE_DECODE_CONCURRENCY = {app.config['IMAGE_DECODE_CONCURRENCY']}")
        measure("phone photo JPEG 1600x1200", _jpeg(1600, 1200))
        measure(f"JPEG at the cap {width}x{height}", _jpeg(width, height))
        measure(f"PNG RGBA at the cap {width}x{height}", _png(width, height, "RGBA"))
        bomb = _png(width, height, "RGBA")
        errors: list[Exception] = []

        def decode():
            with app.app_context():
                try:
                    attachments._image_size(bomb)
                except Exception as error:  # noqa: BLE001 (a benchmark reports, it does not stop)
                    errors.append(error)

        before = _peak_mb()
        wall = time.perf_counter()
        threads = [threading.Thread(target=decode) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print(f"4 x PNG RGBA at the cap at once: {(time.perf_counter() - wall) * 1000:.0f} ms wall, "
              f"peak RSS +{_peak_mb() - before:.0f} MB, errors {len(errors)}")


if __name__ == "__main__":
    main()
