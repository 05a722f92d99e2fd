"""Sync 20 dossiers of 3 photos each over an emulated 3G link (run: .venv/bin/python bench/sync_3g.py).

What it does, end to end, with figures and no assertions on time:
1. Generates a camera-like 12-megapixel photo of a printed A4 page (Vietnamese administrative text, table, stamp,
   signature, paper texture, perspective, uneven light, sensor noise, a wooden table around it), deterministically
   from a seed, and saves it as a phone does: a 4000x3000 JPEG with EXIF (maker, GPS, orientation 6).
   Each of the 60 shots is that scene re-framed by a few pixels with fresh sensor noise, so that no two photos share
   a hash (as with real repeated shots).
2. Serves the app (waitress, throw-away SQLite database, demo seed) on http://localhost:<port> with the push worker
   in the same process (as ./dev run embeds it: it renders the receipts' PDFs after each sync), signs the demo officer
   in with the test-only session mechanism of tests/helpers.py, and opens /app in headless Chromium.
3. In the page, runs every shot through the phone's own ``preparePhoto`` (pwa/lib/images.js), as the camera input
   does at capture time (not timed: photos are prepared when taken, not when sent).
4. Emulates 3G with CDP ``Network.emulateNetworkConditions`` (750 kbit/s up, 1.6 Mbit/s down, 150 ms latency) and
   syncs from the page as the outbox does: GET /api/v1/session once (probe and CSRF token), then for each dossier its
   three photos (PUT /api/v1/attachments/{sha256}) and the dossier (PUT /api/v1/dossiers/{uuid}), one request at a
   time. The time runs from the first request to the last response.
5. Prints bytes per photo and per dossier, the sync time, the link's floor (uploaded bytes / uplink rate, plus one
   round trip per request) and their ratio, the server's own time per dossier PUT, and how long the worker took to
   render the receipts left when the sync ended; checks in the database that the 20 dossiers and 60 photos arrived
   with the same SHA-256 as on the phone (the documents the phone sent: not the receipts the server issued) and that
   every receipt has its PDF (exit status 1 otherwise).

Options: ``--quality 0.7`` overrides the JPEG quality of images.js for this run; ``--sweep 0.8,0.7,0.6`` first prints
the size of the prepared photos at each quality (``--no-sync`` stops there); ``--out DIR`` is where the sample camera
photo, a prepared photo and 100 % crops of it are written (default: a folder in the system's temporary directory).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from PIL import Image
from PIL import ImageChops
from PIL import ImageDraw
from PIL import ImageFilter
from PIL import ImageFont
from PIL import ImageStat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SEED = 20260309
DOSSIERS = 20
PHOTOS_PER_DOSSIER = 3

# The link: CDP takes bytes per second; its latency is added once per request, between the request being sent and
# the response headers arriving, so it is the round trip the floor counts for each request.
UPLINK_BITS = 750_000
DOWNLINK_BITS = 1_600_000
LATENCY_MS = 150

# Targets of the specification.
MAX_DOSSIER_BYTES = 600_000
MAX_RATIO = 1.3

# The camera: a 12-megapixel sensor held upright (stored lying on its side, EXIF orientation 6).
CAMERA_SIZE = (3000, 4000)  # as seen, width x height
FRAMING_MARGIN = 64  # pixels of extra scene around the frame: each shot is framed a little differently
CAMERA_JPEG_QUALITY = 92  # what phone cameras typically write
PAGE_PX_PER_MM = 12  # resolution the page is rendered at, close to its size in the frame (no resampling loss)

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")


# --- the camera photo --------------------------------------------------------------------------------------------

def font_file(name: str, pattern: str) -> str:
    """A font with Vietnamese glyphs: DejaVu Serif (Debian's fonts-dejavu-core), else whatever fc-match finds."""
    path = FONT_DIR / name
    if path.exists():
        return str(path)
    found = subprocess.run(["fc-match", "-f", "%{file}", f"{pattern}:lang=vi"], capture_output=True, text=True)
    if found.returncode != 0 or not found.stdout:
        sys.exit(f"no font with Vietnamese glyphs found ({name}); install fonts-dejavu-core")
    return found.stdout


def fonts(size_pt: float) -> dict[str, ImageFont.FreeTypeFont]:
    px = round(size_pt * 0.3528 * PAGE_PX_PER_MM)  # points to millimetres to pixels
    return {
        "regular": ImageFont.truetype(font_file("DejaVuSerifCondensed.ttf", "DejaVu Serif Condensed"), px),
        "bold": ImageFont.truetype(font_file("DejaVuSerifCondensed-Bold.ttf", "DejaVu Serif Condensed:bold"), px),
        "italic": ImageFont.truetype(font_file("DejaVuSerifCondensed-Italic.ttf", "DejaVu Serif Condensed:italic"),
                                     px),
    }


def mm(value: float) -> int:
    return round(value * PAGE_PX_PER_MM)


def uniform_noise(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """Uniform 0-255 noise from the seeded generator (Image.effect_noise cannot be seeded)."""
    return Image.frombytes("L", size, rng.randbytes(size[0] * size[1]))


def gaussian_noise(rng: random.Random, size: tuple[int, int], sigma: float, blur: float) -> Image.Image:
    """Zero-mean noise centred on 128 with standard deviation ``sigma``, correlated over ``blur`` pixels."""
    noise = uniform_noise(rng, size)
    if blur:
        noise = noise.filter(ImageFilter.GaussianBlur(blur))
    mean = ImageStat.Stat(noise).mean[0]
    spread = ImageStat.Stat(noise).stddev[0] or 1.0
    scale = sigma / spread
    return noise.point([max(0, min(255, round(128 + (v - mean) * scale))) for v in range(256)])


def add_centred(image: Image.Image, noise: Image.Image) -> Image.Image:
    """image + (noise - 128), clipped."""
    return ImageChops.add(image, noise, scale=1.0, offset=-128)


def wrap(draw: ImageDraw.ImageDraw, text: str, font, width: int, indent: int = 0) -> list[tuple[str, int]]:
    """Greedy word wrap; returns (line, x offset) pairs, the first line indented."""
    lines, line, offset = [], "", indent
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if draw.textlength(candidate, font=font) <= width - offset:
            line = candidate
            continue
        lines.append((line, offset))
        line, offset = word, 0
    lines.append((line, offset))
    return lines


def justified(draw, y: int, x: int, width: int, line: str, font, last: bool) -> None:
    words = line.split()
    if last or len(words) < 2:
        draw.text((x, y), line, font=font, fill=0)
        return
    spare = width - sum(draw.textlength(w, font=font) for w in words)
    gap = spare / (len(words) - 1)
    position = float(x)
    for word in words:
        draw.text((round(position), y), word, font=font, fill=0)
        position += draw.textlength(word, font=font) + gap


PAGE_TEXT = {
    "intro": "Căn cứ Nghị định số 20/2021/NĐ-CP ngày 15 tháng 3 năm 2021 của Chính phủ quy định chính sách trợ "
             "giúp xã hội đối với đối tượng bảo trợ xã hội; xét đề nghị của công chức Tư pháp – Hộ tịch,",
    "body": "Ủy ban nhân dân phường Hai Bà Trưng xác nhận ông có tên nêu trên hiện đang cư trú thường xuyên tại "
            "địa phương, sống một mình, không có lương hưu, trợ cấp bảo hiểm xã hội hằng tháng; sức khỏe yếu, đi "
            "lại khó khăn do tuổi cao. Hồ sơ đã được tiếp nhận tại nhà theo yêu cầu của người dân; bản chính các "
            "giấy tờ đã được đối chiếu và trả lại ngay cho người nộp.",
    "end": "Giấy xác nhận này có giá trị trong thời hạn 30 ngày kể từ ngày ký, được dùng để bổ sung hồ sơ đề "
           "nghị hưởng trợ cấp xã hội hằng tháng và không thay thế các giấy tờ khác theo quy định.",
}
TABLE_ROWS = [
    ("Họ và tên", "Trần Văn Phúc"),
    ("Ngày, tháng, năm sinh", "12/05/1941"),
    ("Số định danh cá nhân", "001041012345"),
    ("Nơi thường trú", "Số 5, ngõ 5 phố Huế, phường Hai Bà Trưng, thành phố Hà Nội"),
    ("Số điện thoại", "0912 345 678"),
    ("Đối tượng", "Người cao tuổi từ đủ 80 tuổi trở lên, không có lương hưu"),
]


def render_page(rng: random.Random) -> Image.Image:
    """An A4 page at PAGE_PX_PER_MM: paper with its texture, black print, a red stamp and a blue signature."""
    width, height = mm(210), mm(297)
    # Paper: warm off-white with blotches (fibres, uneven whiteness) and a fine grain.
    paper = Image.new("RGB", (width, height), (246, 244, 237))
    blotches = gaussian_noise(rng, (width // 24, height // 24), 2.2, 0).resize((width, height), Image.BICUBIC)
    grain = gaussian_noise(rng, (width // 2, height // 2), 2.0, 0.6).resize((width, height), Image.BICUBIC)
    texture = ImageChops.add(blotches, grain, scale=1.0, offset=-128)
    paper = add_centred(paper, Image.merge("RGB", (texture, texture, texture)))

    ink = Image.new("L", (width, height), 255)  # black print, multiplied onto the paper
    draw = ImageDraw.Draw(ink)
    f13, f12, f14 = fonts(13), fonts(12), fonts(14)
    left, right, top = mm(30), width - mm(15), mm(20)
    text_width = right - left

    def centred(y, text, font, centre):
        draw.text((centre - draw.textlength(text, font=font) / 2, y), text, font=font, fill=0)

    # National motto block (right) and issuing body (left), Decree 30/2020/NĐ-CP layout.
    col_left, col_right = left + mm(30), right - mm(48)
    line = mm(6.2)
    centred(top, "ỦY BAN NHÂN DÂN", f13["regular"], col_left)
    centred(top + line, "PHƯỜNG HAI BÀ TRƯNG", f13["bold"], col_left)
    draw.line([col_left - mm(12), top + 2 * line + mm(1), col_left + mm(12), top + 2 * line + mm(1)], fill=0,
              width=4)
    centred(top, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", f12["bold"], col_right)
    centred(top + line, "Độc lập - Tự do - Hạnh phúc", f13["bold"], col_right)
    motto = draw.textlength("Độc lập - Tự do - Hạnh phúc", font=f13["bold"]) / 2
    draw.line([col_right - motto, top + 2 * line + mm(1), col_right + motto, top + 2 * line + mm(1)], fill=0,
              width=4)
    y = top + 3 * line
    centred(y, f"Số: {rng.randint(100, 999):04d}/GXN-UBND", f13["regular"], col_left)
    centred(y, "Hà Nội, ngày 09 tháng 3 năm 2026", f13["italic"], col_right)

    y += mm(13)
    centred(y, "GIẤY XÁC NHẬN", f14["bold"], (left + right) / 2)
    y += mm(7)
    centred(y, "Về hoàn cảnh gia đình của người đề nghị hưởng trợ cấp xã hội", f13["bold"], (left + right) / 2)
    y += mm(10)

    body_font, line_height = f13["regular"], mm(6.2)

    def paragraph(text, y, font=body_font):
        lines = wrap(draw, text, font, text_width, indent=mm(10))
        for index, (words, offset) in enumerate(lines):
            justified(draw, y, left + offset, text_width - offset, words, font, index == len(lines) - 1)
            y += line_height
        return y + mm(1.5)

    y = paragraph(PAGE_TEXT["intro"], y, f13["italic"])
    draw.text((left + mm(10), y), "ỦY BAN NHÂN DÂN PHƯỜNG HAI BÀ TRƯNG XÁC NHẬN:", font=f13["bold"], fill=0)
    y += mm(9)

    # A ruled table: label | value.
    split = left + mm(52)
    row_top = y
    for label, value in TABLE_ROWS:
        value_lines = wrap(draw, value, f13["bold"], right - split - mm(6))
        row_height = mm(3) + line_height * len(value_lines)
        draw.text((left + mm(3), y + mm(1.5)), label, font=body_font, fill=0)
        for index, (words, _) in enumerate(value_lines):
            draw.text((split + mm(3), y + mm(1.5) + index * line_height), words, font=f13["bold"], fill=0)
        y += row_height
        draw.line([left, y, right, y], fill=0, width=3)
    draw.rectangle([left, row_top, right, y], outline=0, width=3)
    draw.line([split, row_top, split, y], fill=0, width=3)
    y += mm(6)

    y = paragraph(PAGE_TEXT["body"], y)
    y = paragraph(PAGE_TEXT["end"], y)

    # Recipients (left) and signature block (right).
    y += mm(3)
    sign_x = left + mm(118)
    draw.text((left, y), "Nơi nhận:", font=f12["bold"], fill=0)
    for index, item in enumerate(["- Ông Trần Văn Phúc;", "- Bộ phận Một cửa;", "- Lưu: VT, TP-HT."]):
        draw.text((left, y + mm(6) * (index + 1)), item, font=f12["regular"], fill=0)
    centred(y, "TM. ỦY BAN NHÂN DÂN", f13["bold"], sign_x)
    centred(y + line, "KT. CHỦ TỊCH", f13["bold"], sign_x)
    centred(y + 2 * line, "PHÓ CHỦ TỊCH", f13["bold"], sign_x)
    centred(y + 2 * line + mm(32), "Nguyễn Thị Lan", f13["bold"], sign_x)
    page = ImageChops.multiply(paper, Image.merge("RGB", (ink, ink, ink)))

    # Red stamp over the left of the signature, blue signature: coloured inks multiplied onto the print.
    colour = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(colour)
    stamp_x, stamp_y, radius = sign_x - mm(14), y + 2 * line + mm(18), mm(18)
    red = (214, 58, 64)
    draw.ellipse([stamp_x - radius, stamp_y - radius, stamp_x + radius, stamp_y + radius], outline=red, width=9)
    inner = radius - mm(4.5)
    draw.ellipse([stamp_x - inner, stamp_y - inner, stamp_x + inner, stamp_y + inner], outline=red, width=5)
    star = [(stamp_x + mm(4) * (1 if k % 2 == 0 else 0.4) * _cos(k * 36 - 90),
             stamp_y - mm(3) + mm(4) * (1 if k % 2 == 0 else 0.4) * _sin(k * 36 - 90)) for k in range(10)]
    draw.polygon(star, fill=red)
    stamp_font = ImageFont.truetype(font_file("DejaVuSans-Bold.ttf", "DejaVu Sans:bold"), mm(2.1))
    label = "UBND P. HAI BÀ TRƯNG"
    draw.text((stamp_x - draw.textlength(label, font=stamp_font) / 2, stamp_y + mm(3)), label, font=stamp_font,
              fill=red)
    points, x0 = [], sign_x - mm(12)
    for step in range(120):  # a quick flourish: a loop and a long stroke
        t = step / 119
        points.append((x0 + mm(30) * t + mm(4) * _sin(t * 1500), stamp_y - mm(2) + mm(5) * _cos(t * 900) - mm(4) * t))
    draw.line(points, fill=(40, 60, 150), width=7, joint="curve")
    colour = colour.filter(ImageFilter.GaussianBlur(1.2))  # ink soaking into the paper
    page = ImageChops.multiply(page, colour)
    return page.filter(ImageFilter.GaussianBlur(0.7))  # toner spread


def _sin(degrees: float) -> float:
    return math.sin(math.radians(degrees))


def _cos(degrees: float) -> float:
    return math.cos(math.radians(degrees))


def perspective_coefficients(scene: list[tuple[float, float]], page: list[tuple[float, float]]) -> list[float]:
    """Image.transform PERSPECTIVE data mapping scene points to page points (8 unknowns, Gaussian elimination)."""
    rows = []
    for (x, y), (u, v) in zip(scene, page, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -x * u, -y * u, u])
        rows.append([0, 0, 0, x, y, 1, -x * v, -y * v, v])
    for col in range(8):
        pivot = max(range(col, 8), key=lambda r: abs(rows[r][col]))
        rows[col], rows[pivot] = rows[pivot], rows[col]
        for r in range(8):
            if r != col:
                factor = rows[r][col] / rows[col][col]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[col], strict=True)]
    return [rows[i][8] / rows[i][i] for i in range(8)]


def render_scene(rng: random.Random) -> Image.Image:
    """The page lying on a wooden table, photographed slightly askew under a lamp, before sensor noise."""
    width, height = CAMERA_SIZE[0] + 2 * FRAMING_MARGIN, CAMERA_SIZE[1] + 2 * FRAMING_MARGIN
    # Table: dark wood, grain along x.
    grain = gaussian_noise(rng, (24, 900), 14, 0).resize((width, height), Image.BICUBIC)
    fine = gaussian_noise(rng, (width // 3, height // 3), 5, 0).resize((width, height), Image.BICUBIC)
    wood = ImageChops.add(grain, fine, scale=1.0, offset=-128)
    table = add_centred(Image.new("RGB", (width, height), (104, 76, 56)), Image.merge("RGB", (wood, wood, wood)))

    page = render_page(rng)
    pw, ph = page.size
    m = FRAMING_MARGIN
    jitter = [(rng.uniform(-25, 25), rng.uniform(-25, 25)) for _ in range(4)]
    corners = [(m + 245, m + 300), (m + 2790, m + 215), (m + 2860, m + 3830), (m + 170, m + 3770)]  # tilted, rotated
    corners = [(x + dx, y + dy) for (x, y), (dx, dy) in zip(corners, jitter, strict=True)]
    coefficients = perspective_coefficients(corners, [(0, 0), (pw, 0), (pw, ph), (0, ph)])
    warped = page.transform((width, height), Image.PERSPECTIVE, coefficients, Image.BICUBIC)
    mask = Image.new("L", page.size, 255).transform((width, height), Image.PERSPECTIVE, coefficients,
                                                     Image.BILINEAR)
    shadow = ImageChops.offset(mask, 18, 26).filter(ImageFilter.GaussianBlur(30)).point(lambda v: 255 - v * 0.45)
    scene = ImageChops.multiply(table, Image.merge("RGB", (shadow, shadow, shadow)))
    scene.paste(warped, (0, 0), mask)

    # Light: a lamp up and to the left, falling off towards the bottom right, the phone's shadow near the bottom,
    # a warm tint. Computed small and enlarged (light varies slowly).
    small = (width // 10, height // 10)
    radial = Image.radial_gradient("L").resize((small[0] * 2, small[1] * 2), Image.BILINEAR)
    light = radial.crop((small[0] - small[0] * 35 // 100, small[1] - small[1] * 28 // 100,
                         2 * small[0] - small[0] * 35 // 100, 2 * small[1] - small[1] * 28 // 100))
    light = light.point(lambda v: 255 - v * 0.5)  # 100 % at the lamp, 50 % in the far corner
    phone_shadow = Image.new("L", small, 255)
    ImageDraw.Draw(phone_shadow).ellipse([small[0] * 0.45, small[1] * 0.78, small[0] * 1.1, small[1] * 1.15],
                                         fill=185)
    phone_shadow = phone_shadow.filter(ImageFilter.GaussianBlur(small[0] / 12))
    light = ImageChops.multiply(light, phone_shadow).resize((width, height), Image.BICUBIC)
    lit = ImageChops.multiply(scene, Image.merge("RGB", (light, light, light)))
    lit = ImageChops.multiply(lit, Image.new("RGB", (width, height), (255, 246, 228)))
    # Lens softness, then the phone's sharpening.
    return lit.filter(ImageFilter.GaussianBlur(0.8)).filter(ImageFilter.UnsharpMask(radius=2, percent=60,
                                                                                     threshold=2))


class Camera:
    """Shots of the scene: each framed a few pixels differently, each with its own sensor noise, saved as JPEG."""

    def __init__(self, seed: int = SEED):
        rng = random.Random(seed)
        self.rng = rng
        self.scene = render_scene(rng)
        size = self.scene.size
        # Sensor noise after the phone's denoising: luminance about 3.5 levels, chroma about 1.5, a little blotchy.
        luma = gaussian_noise(rng, size, 3.5, 0.7)
        chroma = [gaussian_noise(rng, size, 1.5, 1.2) for _ in range(3)]
        self.noise = Image.merge("RGB", [ImageChops.add(luma, c, scale=1.0, offset=-128) for c in chroma])

    def shot(self, index: int) -> bytes:
        """The ``index``-th photo: a 4000x3000 JPEG lying on its side with EXIF orientation 6, maker and GPS."""
        rng = random.Random(SEED * 1000 + index)
        width, height = CAMERA_SIZE
        m2 = 2 * FRAMING_MARGIN
        fx, fy = rng.randint(0, m2), rng.randint(0, m2)
        nx, ny = rng.randint(0, m2), rng.randint(0, m2)
        frame = self.scene.crop((fx, fy, fx + width, fy + height))
        frame = add_centred(frame, self.noise.crop((nx, ny, nx + width, ny + height)))
        stored = frame.transpose(Image.Transpose.ROTATE_90)  # sensor orientation; EXIF 6 turns it upright
        exif = Image.Exif()
        exif[0x010F] = "PhoneMaker"  # Make
        exif[0x0110] = "Model 12MP"  # Model
        exif[0x0112] = 6  # Orientation
        exif[0x0132] = f"2026:03:09 09:{index % 60:02d}:00"  # DateTime
        exif[0x8825] = {1: "N", 2: (21.0, 1.0, 42.0), 3: "E", 4: (105.0, 50.0, 24.0)}  # GPS: the citizen's house
        out = io.BytesIO()
        stored.save(out, "JPEG", quality=CAMERA_JPEG_QUALITY, exif=exif)
        return out.getvalue()


# --- the server --------------------------------------------------------------------------------------------------

class ServerTimes:
    """WSGI middleware: the server's own time for each dossier PUT (from the request reaching the app to its
    response being ready), apart from the link's. What a phone waits for beyond the bytes on the wire."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app
        self.dossier_puts: list[float] = []

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        body = self.wsgi_app(environ, start_response)
        if environ["REQUEST_METHOD"] == "PUT" and environ["PATH_INFO"].startswith("/api/v1/dossiers/"):
            self.dossier_puts.append((time.perf_counter() - started) * 1000)
        return body


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


def start_server(tmp: str):
    """The app on a throw-away SQLite database with the demo seed, served by waitress (as ./dev run does).

    Returns (app, base URL, session cookie of the signed-in demo officer, stop function).
    """
    from flask_migrate import upgrade
    from sqlalchemy import select
    from waitress.server import create_server

    from server import create_app
    from server.auth.models import Device
    from server.auth.models import Role
    from server.demo import seed_demo
    from server.extensions import db
    from server.push import keys
    from server.push.sender import run_worker
    from tests.helpers import demo_user
    from tests.helpers import sign_in

    settings = {"APP_ENV": "testing", "SECRET_KEY": "bench", "INSTANCE_PATH": tmp,
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.sqlite3"}
    app = create_app(settings)
    with app.app_context():
        upgrade()
        seed_demo()
        db.session.commit()
        officer = demo_user(Role.OFFICER)
        device = db.session.scalar(select(Device).where(Device.user_id == officer.id))
        # Test-only sign-in (tests/helpers.py): a session cookie as Flask-Login writes it, no passkey ceremony.
        client = app.test_client()
        sign_in(client, officer, device)
        cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
        db.session.remove()
    app.wsgi_app = ServerTimes(app.wsgi_app)
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    base_url = f"http://localhost:{server.effective_port}"
    # The push worker in the same process, as ./dev run embeds it: it renders the receipts' PDFs after each sync's
    # commit (server/forms/rendering.py), competing with the requests for the CPU as it would there.
    keys.init_keys(app)
    stop_worker = threading.Event()
    worker = threading.Thread(target=run_worker, args=(app, stop_worker), name="push-worker", daemon=True)
    worker.start()

    def stop():
        stop_worker.set()
        worker.join(timeout=30)
        # Close every socket from the server's own loop (closing from here races its select()): the loop then ends.
        server.trigger.pull_trigger(lambda: [channel.close() for channel in list(server._map.values())])
        thread.join(timeout=5)
        server.task_dispatcher.shutdown()

    return app, base_url, cookie, stop


def wait_for_receipts(app, deadline_seconds: float = 120) -> dict:
    """Wait until the worker has rendered every issued form (the database says so); how many were left, how long."""
    from sqlalchemy import func
    from sqlalchemy import select

    from server.dossiers.models import DossierDocument
    from server.extensions import db
    from server.forms.rendering import pending_count

    started = time.perf_counter()
    with app.app_context():
        issued = db.session.scalar(select(func.count()).where(DossierDocument.form_key.is_not(None)))
        pending = left = pending_count()
        while left and time.perf_counter() - started < deadline_seconds:
            db.session.remove()
            time.sleep(0.05)  # polling the database: the worker has no other way of saying it is done
            left = pending_count()
        db.session.remove()
    return {"issued": issued, "pending": pending, "left": left, "seconds": time.perf_counter() - started}


def verify(app, dossiers: list[dict], photos: list[dict]) -> list[str]:
    """What the server stored against what the phone sent; returns the differences (none when all is well)."""
    from sqlalchemy import func
    from sqlalchemy import select

    from server.dossiers.models import Attachment
    from server.dossiers.models import Dossier
    from server.dossiers.models import DossierDocument
    from server.extensions import db
    from server.storage import backend

    problems = []
    with app.app_context():
        wanted = {uuid.UUID(d["client_uuid"]): d for d in dossiers}
        stored = db.session.scalars(select(Dossier).where(Dossier.client_uuid.in_(wanted))).all()
        if len(stored) != len(wanted):
            problems.append(f"{len(stored)} dossiers stored, {len(wanted)} sent")
        for dossier in stored:
            sent = [doc["sha256"] for doc in wanted[dossier.client_uuid]["payload"]["documents"]]
            # What the phone sent: the papers' photos, not the forms the server issued (the receipt, Mẫu 01).
            kept = [doc.sha256 for doc in sorted(dossier.documents, key=lambda d: d.id) if doc.form_key is None]
            if kept != sent:
                problems.append(f"dossier {dossier.client_uuid}: photos {kept} stored, {sent} sent")
        hashes = {p["sha256"] for p in photos}
        attachments = db.session.scalars(select(Attachment).where(Attachment.sha256.in_(hashes))).all()
        if len(attachments) != len(hashes):
            problems.append(f"{len(attachments)} photos stored, {len(hashes)} sent")
        for attachment in attachments:
            data = backend().read(attachment.sha256)
            if hashlib.sha256(data).hexdigest() != attachment.sha256 or len(data) != attachment.size_bytes:
                problems.append(f"photo {attachment.sha256}: stored bytes do not match their hash")
        linked = db.session.scalar(select(func.count()).select_from(DossierDocument).where(
            DossierDocument.sha256.in_(hashes)))
        if linked != len(photos):
            problems.append(f"{linked} dossier documents point to the photos, {len(photos)} expected")
        # The receipts the server issued (Mẫu 01), rendered by the worker after each sync: a PDF each.
        receipts = [d for dossier in stored for d in dossier.documents if d.form_key is not None]
        for receipt in receipts:
            if receipt.sha256 is None:
                problems.append(f"receipt {receipt.form_number}: its PDF was never rendered")
            elif hashlib.sha256(backend().read(receipt.sha256)).hexdigest() != receipt.sha256:
                problems.append(f"receipt {receipt.form_number}: stored PDF does not match its hash")
        db.session.remove()
        if not problems:
            print(f"server check:   {len(stored)} dossiers and {len(attachments)} photos stored; every dossier "
                  f"points to the photos it was sent with, every stored file hashes to the phone's SHA-256; "
                  f"{len(receipts)} receipts rendered")
    return problems


# --- the phone ---------------------------------------------------------------------------------------------------

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

ADD_CAMERA_INPUT_JS = """() => {
    const input = Object.assign(document.createElement("input"), {type: "file", id: "camera", accept: "image/*"});
    document.body.append(input);
    window.benchPhotos = [];
}"""

# preparePhoto on the file the camera input holds; the prepared blob stays in the page for the sync.
PREPARE_JS = """async ({quality, keep}) => {
    const images = await import("/pwa/lib/images.js");
    const file = document.getElementById("camera").files[0];
    const started = performance.now();
    const photo = await images.preparePhoto(file, quality ? {quality} : {});
    const milliseconds = performance.now() - started;
    if (keep) window.benchPhotos.push(photo);
    return {sha256: photo.sha256, size: photo.size, width: photo.width, height: photo.height, milliseconds,
            quality: quality || images.JPEG_QUALITY, type: photo.blob.type};
}"""

PHOTO_BASE64_JS = """async (index) => {
    const bytes = new Uint8Array(await window.benchPhotos[index].blob.arrayBuffer());
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(binary);
}"""

# The app's own outbox does the sync: the dossiers and photos are queued in IndexedDB as the capture form leaves
# them, then pwa/lib/outbox-flush.js sends them (session probe and CSRF token, then per dossier its photos and the
# dossier itself, one request at a time). Its fetch is wrapped only to count requests. Times are taken around the
# flush: from the first request to the last response and the phone's own bookkeeping.
SYNC_JS = """async (dossiers) => {
    const Db = await import("/pwa/lib/outbox-db.js");
    const { flushOutbox } = await import("/pwa/lib/outbox-flush.js");
    const session = await (await fetch("/api/v1/session", {credentials: "same-origin"})).json();
    const userId = session.user.id;
    const db = await Db.openOutbox();
    const photos = new Map(window.benchPhotos.map((photo) => [photo.sha256, photo]));
    for (const [index, dossier] of dossiers.entries()) {
        for (const document of dossier.payload.documents) {
            const photo = photos.get(document.sha256);
            await Db.put(db, Db.STORES.photos, {sha256: photo.sha256, user_id: userId, blob: photo.blob,
                media_type: photo.blob.type, size: photo.blob.size, dossier_uuids: [dossier.client_uuid],
                uploaded: false});
        }
        await Db.put(db, Db.STORES.dossiers, {client_uuid: dossier.client_uuid, user_id: userId,
            status: Db.STATUS.QUEUED, completed_at: index + 1, payload: dossier.payload, receipt: {}});
    }
    const requests = [];
    let jsonBytes = 0;
    const counting = async (path, init = {}) => {
        const response = await fetch(path, init);
        requests.push({path, status: response.status});
        if (path.startsWith("/api/v1/dossiers/")) jsonBytes += new TextEncoder().encode(init.body).length;
        return response;
    };
    const started = performance.now();
    const outcome = await flushOutbox(db, {fetch: counting});
    const milliseconds = performance.now() - started;
    db.close();
    return {milliseconds, requests, jsonBytes, result: outcome.result, sent: outcome.sent};
}"""


class Traffic:
    """Bytes on the wire as Chromium reports them (CDP Network events), per request."""

    def __init__(self, cdp):
        self.requests: dict[str, dict] = {}
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.requestWillBeSentExtraInfo", self._sent_extra)
        cdp.on("Network.loadingFinished", self._finished)
        self.recording = False

    def _entry(self, request_id: str) -> dict:
        return self.requests.setdefault(request_id, {})

    def _sent(self, event) -> None:
        if self.recording:
            request = event["request"]
            entry = self._entry(event["requestId"])
            entry["url"], entry["method"] = request["url"], request["method"]

    def _sent_extra(self, event) -> None:
        if self.recording:
            # The headers actually sent (with Cookie, Host, Content-Length...), not the page's view of them.
            self._entry(event["requestId"])["headers"] = event["headers"]

    def _finished(self, event) -> None:
        if event["requestId"] in self.requests:
            self.requests[event["requestId"]]["received"] = event["encodedDataLength"]

    @staticmethod
    def header_bytes(entry: dict) -> int:
        """HTTP/1.1 request line and header block: "METHOD /path HTTP/1.1", "Name: value" lines, CRLFs."""
        path = "/" + entry["url"].split("/", 3)[3]
        size = len(f"{entry['method']} {path} HTTP/1.1\r\n") + 2
        for name, value in entry["headers"].items():
            size += len(name.encode()) + 2 + len(value.encode()) + 2
        return size


def capture(page, camera: Camera, count: int, quality: float | None, out: Path) -> list[dict]:
    """Take ``count`` shots and prepare each in the page as the phone does; the blobs stay in the page."""
    photos = []
    for index in range(count):
        original = camera.shot(index)
        page.set_input_files("#camera", files=[{"name": f"IMG_{index:04d}.jpg", "mimeType": "image/jpeg",
                                                "buffer": original}])
        photo = page.evaluate(PREPARE_JS, {"quality": quality, "keep": True})
        photo["original"] = len(original)
        photos.append(photo)
        if index == 0:
            (out / "camera-12mp.jpg").write_bytes(original)
            save_prepared(page, 0, out, "prepared")
    return photos


def save_prepared(page, index: int, out: Path, name: str) -> None:
    """The prepared photo as uploaded, and two 100 % crops to look at: the table, and the small print with the stamp
    and the signature (PNG: no second compression)."""
    data = base64.b64decode(page.evaluate(PHOTO_BASE64_JS, index))
    (out / f"{name}.jpg").write_bytes(data)
    image = Image.open(io.BytesIO(data))
    width, height = image.size  # 1200 x 1600
    image.crop((width // 8, height * 27 // 100, width // 8 + 800, height * 27 // 100 + 500)).save(
        out / f"{name}-crop-100pct.png")
    image.crop((width // 8, height * 72 // 100, width // 8 + 800, height * 72 // 100 + 400)).save(
        out / f"{name}-crop-small-print-100pct.png")


def sweep(page, camera: Camera, qualities: list[float], out: Path) -> None:
    """Sizes of the prepared photos at several JPEG qualities (the first 3 shots), before the real run."""
    print("JPEG quality sweep (preparePhoto on the first 3 shots, 1200x1600):")
    shots = [camera.shot(index) for index in range(PHOTOS_PER_DOSSIER)]
    for quality in qualities:
        sizes = []
        for index, original in enumerate(shots):
            page.set_input_files("#camera", files=[{"name": f"IMG_{index:04d}.jpg", "mimeType": "image/jpeg",
                                                    "buffer": original}])
            sizes.append(page.evaluate(PREPARE_JS, {"quality": quality, "keep": index == 0})["size"])
        save_prepared(page, page.evaluate("window.benchPhotos.length") - 1, out,
                      f"quality-{quality:.2f}")
        print(f"  quality {quality:.2f}: {statistics.mean(sizes):>9,.0f} bytes a photo, "
              f"{sum(sizes):>9,} bytes for 3 photos   ({out}/quality-{quality:.2f}-crop-100pct.png)")
    page.evaluate("window.benchPhotos = []")


def dossier_payloads(photos: list[dict]) -> list[dict]:
    """20 home-visit dossiers of the monthly social allowance, 3 photos each (TP1, TP2, TP3), provisional codes."""
    rng = random.Random(SEED)
    names = ["Trần Văn Phúc", "Nguyễn Thị Hòa", "Lê Văn Đức", "Phạm Thị Lụa", "Hoàng Văn Thắng"]
    dossiers = []
    for number in range(DOSSIERS):
        chunk = photos[number * PHOTOS_PER_DOSSIER:(number + 1) * PHOTOS_PER_DOSSIER]
        documents = [{"required_document_code": f"TP{k + 1}", "name": None, "sha256": photo["sha256"],
                      "sighted_original": True} for k, photo in enumerate(chunk)]
        dossiers.append({"client_uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "payload": {
            "procedure_key": "tro-cap-xa-hoi-hang-thang",
            "received_at": f"2026-03-09T{8 + number // 4:02d}:{(number % 4) * 15:02d}:00+07:00",
            "provisional_code": f"TAM-260309-{number + 1:04d}",
            "reception_mode": "home_visit",
            "owner": {"full_name": names[number % len(names)], "personal_id": f"0010{41 + number:02d}0{number:05d}",
                      "phone": f"{rng.choice(['091', '098'])}{rng.randint(1_000_000, 9_999_999)}",
                      "address": f"Số {number + 1}, ngõ 5 phố Huế, phường Hai Bà Trưng, Hà Nội"},
            "documents": documents,
            "citizen_requested_receipt": False,
        }})
    return dossiers


# --- the run -----------------------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quality", type=float, help="JPEG quality for preparePhoto (default: images.js)")
    parser.add_argument("--sweep", help="comma-separated JPEG qualities to compare first, e.g. 0.8,0.7,0.6")
    parser.add_argument("--no-sync", action="store_true", help="stop after the sweep")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "motcua-bench-sync-3g",
                        help="where the sample photos are written")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    camera = Camera()
    print(f"camera scene generated in {time.perf_counter() - started:.1f} s (seed {SEED})")
    tmp = tempfile.mkdtemp(prefix="motcua-bench-")
    try:
        return run(args, camera, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(args, camera: Camera, tmp: str) -> int:
    from playwright.sync_api import sync_playwright

    app, base_url, cookie, stop = start_server(tmp)
    chromium = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium if Path(chromium).exists() else None,
                                                 args=CHROMIUM_ARGS, headless=True)
            # No service worker: the page's fetches go straight to the network, and nothing else runs meanwhile.
            context = browser.new_context(base_url=base_url, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
                                          service_workers="block")
            context.add_cookies([{"name": app.config["SESSION_COOKIE_NAME"], "value": cookie,
                                  "url": base_url, "httpOnly": True, "sameSite": "Lax"}])
            page = context.new_page()
            # A page of the app that runs no sync of its own (the officer's shell would start its outbox).
            page.goto("/offline")
            page.evaluate(ADD_CAMERA_INPUT_JS)
            if args.sweep:
                sweep(page, camera, [float(q) for q in args.sweep.split(",")], args.out)
            if args.no_sync:
                return 0

            count = DOSSIERS * PHOTOS_PER_DOSSIER
            started = time.perf_counter()
            photos = capture(page, camera, count, args.quality, args.out)
            print(f"{count} shots taken and prepared in the page in {time.perf_counter() - started:.1f} s "
                  f"(preparePhoto median {statistics.median(p['milliseconds'] for p in photos):.0f} ms)")
            dossiers = dossier_payloads(photos)

            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            traffic = Traffic(cdp)
            cdp.send("Network.emulateNetworkConditions", {
                "offline": False, "latency": LATENCY_MS,
                "downloadThroughput": DOWNLINK_BITS / 8, "uploadThroughput": UPLINK_BITS / 8})
            traffic.recording = True
            result = page.evaluate(SYNC_JS, dossiers)
            page.wait_for_timeout(200)  # the last loadingFinished event
            traffic.recording = False
            cdp.send("Network.emulateNetworkConditions", {
                "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
            browser.close()
            receipts = wait_for_receipts(app)
    finally:
        stop()
    problems = report(photos, dossiers, result, traffic)
    if result["result"] != "done" or result["sent"] != DOSSIERS:
        problems.append(f"the outbox flush ended with {result['result']!r} after sending {result['sent']} dossiers")
    times = app.wsgi_app.dossier_puts
    print(f"dossier PUT:    {statistics.median(times):>11.1f} ms median, p95 {percentile(times, 0.95):.1f} ms, "
          f"max {max(times):.1f} ms ({len(times)} requests; server time, link excluded)")
    print(f"receipts:       {receipts['pending']:>11} of {receipts['issued']} PDFs still to render when the sync "
          f"ended, all rendered {receipts['seconds']:.1f} s later by the worker")
    problems += verify(app, dossiers, photos)
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print(f"to look at:     {args.out}/camera-12mp.jpg (a camera shot), prepared.jpg (as uploaded), "
          "prepared-crop-100pct.png and prepared-crop-small-print-100pct.png (100 % crops)")
    return 1 if problems else 0


def report(photos: list[dict], dossiers: list[dict], result: dict, traffic: Traffic) -> list[str]:
    problems = []
    statuses = [r["status"] for r in result["requests"]]
    expected = [200] + ([201] * (PHOTOS_PER_DOSSIER + 1)) * DOSSIERS
    if statuses != expected:
        wrong = [r for r in result["requests"] if r["status"] not in (200, 201)]
        problems.append(f"unexpected answers: {wrong[:5] or statuses}")
    ours = [e for e in traffic.requests.values() if "/api/v1/" in e.get("url", "")]
    others = [e["url"] for e in traffic.requests.values() if "/api/v1/" not in e.get("url", "")]
    measured = [e for e in ours if "headers" in e]
    header_bytes = sum(Traffic.header_bytes(e) for e in measured)
    header_bytes += 700 * (len(ours) - len(measured))  # estimate for any request whose headers were not reported
    received = sum(e.get("received", 0) for e in ours)

    sizes = [p["size"] for p in photos]
    photo_bytes = sum(sizes)
    body_bytes = photo_bytes + result["jsonBytes"]
    uploaded = body_bytes + header_bytes
    requests = len(result["requests"])
    uplink = UPLINK_BITS / 8
    rtt = LATENCY_MS / 1000
    floor = uploaded / uplink + requests * rtt
    seconds = result["milliseconds"] / 1000
    ratio = seconds / floor
    per_dossier = body_bytes / DOSSIERS
    quality = photos[0]["quality"]

    print()
    print(f"link (CDP): up {UPLINK_BITS / 1000:.0f} kbit/s = {uplink:,.0f} B/s, down {DOWNLINK_BITS / 1000:.0f} "
          f"kbit/s, latency {LATENCY_MS} ms (CDP adds it once per request: taken as the round trip)")
    print(f"camera photos:  {statistics.mean(p['original'] for p in photos):>11,.0f} bytes on average "
          f"(4000x3000 JPEG q{CAMERA_JPEG_QUALITY}, EXIF)")
    print(f"prepared photo: {statistics.mean(sizes):>11,.0f} bytes on average, min {min(sizes):,}, max {max(sizes):,} "
          f"({photos[0]['width']}x{photos[0]['height']} JPEG, quality {quality})")
    print(f"dossier JSON:   {result['jsonBytes'] / DOSSIERS:>11,.0f} bytes on average")
    print(f"per dossier:    {per_dossier:>11,.0f} bytes of request bodies (3 photos + JSON; "
          f"{uploaded / DOSSIERS:,.0f} with request headers)   "
          f"target <= {MAX_DOSSIER_BYTES:,}: {'met' if per_dossier <= MAX_DOSSIER_BYTES else 'MISSED'}")
    print(f"requests:       {requests:>11} (1 session probe, {DOSSIERS * PHOTOS_PER_DOSSIER} photos, "
          f"{DOSSIERS} dossiers), one at a time")
    print(f"uploaded:       {uploaded:>11,} bytes = {body_bytes:,} of bodies + {header_bytes:,} of request "
          f"headers ({len(measured)} of {len(ours)} header blocks as Chromium sent them, "
          f"{header_bytes // max(1, len(ours))} B each)")
    print(f"downloaded:     {received:>11,} bytes (responses, headers included; not in the floor)")
    print(f"sync time:      {seconds:>11.1f} s (first request to last response)")
    print(f"floor:          {floor:>11.1f} s = {uploaded:,} B / {uplink:,.0f} B/s ({uploaded / uplink:.1f} s) "
          f"+ {requests} x {rtt:.3f} s ({requests * rtt:.1f} s)")
    print(f"ratio:          {ratio:>11.2f}   target <= {MAX_RATIO}: {'met' if ratio <= MAX_RATIO else 'MISSED'}")
    if others:
        print(f"other requests during the sync: {len(others)} {others[:3]}")
    return problems


if __name__ == "__main__":
    sys.exit(main())
