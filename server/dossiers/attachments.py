"""Content-addressed storage of uploaded files (photos of papers, scanned PDFs).

A file is named by its SHA-256, so a retried upload is harmless and a document refers to bytes that cannot change.
Checks, in order: size (413), hash (422), type by magic bytes (415), and for images that they decode within a pixel
limit (422), so that a decompression bomb never reaches the desk's browsers. The bytes go to the configured store
(server/storage/: a local folder or an S3 bucket); the Attachment row records what the server checked.
"""

from __future__ import annotations

import hashlib
import io
import threading
import warnings

from flask import current_app
from PIL import Image
from sqlalchemy import or_
from sqlalchemy import select

from server.auth.models import User
from server.dossiers.models import Attachment
from server.dossiers.models import AttachmentUpload
from server.extensions import db
from server.storage import backend

#: Leading bytes of the accepted types: the client's Content-Type is not trusted.
MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
)


class AttachmentError(Exception):
    """A refused upload: HTTP status, machine code and a message in both languages."""

    def __init__(self, status: int, code: str, vi: str, en: str):
        super().__init__(en)
        self.status, self.code, self.vi, self.en = status, code, vi, en


def sniff(data: bytes) -> str | None:
    for magic, media_type in MAGIC:
        if data.startswith(magic):
            return media_type
    return None


#: Pixel modes a phone or a scanner produces, at most 8 bits per channel (4 bytes a pixel). A 16-bit PNG
#: ("I;16", "I"), a float image ("F") or anything else costs more to decode and is not something the app makes.
_IMAGE_MODES = {"1", "L", "LA", "P", "PA", "RGB", "RGBA", "CMYK", "YCbCr"}
_decoders: threading.BoundedSemaphore | None = None
_decoders_lock = threading.Lock()


def _decoding_slots() -> threading.BoundedSemaphore:
    """At most ``IMAGE_DECODE_CONCURRENCY`` images are decoded at once in this process (memory is bounded)."""
    global _decoders
    with _decoders_lock:
        if _decoders is None:
            _decoders = threading.BoundedSemaphore(current_app.config["IMAGE_DECODE_CONCURRENCY"])
        return _decoders


def _image_size(data: bytes) -> tuple[int, int]:
    limit = current_app.config["MAX_IMAGE_PIXELS"]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > limit:
                    raise Image.DecompressionBombError("too many pixels")
                if image.mode not in _IMAGE_MODES:  # read from the header: nothing decoded yet
                    raise AttachmentError(422, "image_mode", "Ảnh có độ sâu màu không được hỗ trợ (tối đa 8 bit "
                                          "mỗi kênh).", "The image's colour depth is not supported (at most 8 bits "
                                          "per channel).")
                with _decoding_slots():
                    image.load()  # decodes the whole file: truncated or corrupt data fails here
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise AttachmentError(422, "image_too_large", f"Ảnh quá lớn (tối đa {limit:,} điểm ảnh).",
                              f"The image has too many pixels (at most {limit:,}).") from None
    except (OSError, SyntaxError, ValueError):
        raise AttachmentError(422, "image_unreadable", "Không đọc được ảnh: tệp bị hỏng hoặc không trọn vẹn.",
                              "The image cannot be decoded: the file is damaged or incomplete.") from None
    return width, height


def store(sha256: str, data: bytes, uploaded_by_id: int | None, device_id=None) -> tuple[Attachment, bool]:
    """Check and keep ``data`` under ``sha256``; returns (attachment, created). Idempotent.

    :raises AttachmentError: 413 too large, 422 hash mismatch or bad image, 415 unsupported type.
    :raises server.storage.StorageError: 507 store full, 503 store read-only or unreachable.
    """
    limit = current_app.config["MAX_ATTACHMENT_BYTES"]
    if len(data) > limit:
        raise AttachmentError(413, "too_large", f"Tệp quá lớn (tối đa {limit // 1_000_000} MB).",
                              f"The file is too large (at most {limit // 1_000_000} MB).")
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise AttachmentError(422, "hash_mismatch", "Mã băm SHA-256 không khớp nội dung tệp (tệp bị hỏng khi gửi?).",
                              "The SHA-256 does not match the content (was the file damaged in transit?).")
    existing = db.session.get(Attachment, sha256)
    files = backend()
    if existing is not None and files.has(sha256):
        _record_holder(sha256, uploaded_by_id, device_id)
        return existing, False
    media_type = sniff(data)
    if media_type is None:
        raise AttachmentError(415, "unsupported_type", "Chỉ nhận ảnh JPEG, PNG hoặc tệp PDF.",
                              "Only JPEG or PNG images and PDF files are accepted.")
    width = height = None
    if media_type.startswith("image/"):
        width, height = _image_size(data)
    else:
        _check_pdf(data)
    files.put(sha256, data, media_type)  # also when the row exists: the bytes may be on another host's disk only
    if existing is None:
        existing = Attachment(sha256=sha256, media_type=media_type, size_bytes=len(data), width=width, height=height,
                              uploaded_by_id=uploaded_by_id, device_id=device_id)
        db.session.add(existing)
        db.session.flush()
    _record_holder(sha256, uploaded_by_id, device_id)
    return existing, True


#: Names that make a PDF act by itself when opened or viewed (scripts, additional actions); action types refused.
_ACTIVE_NAMES = {"/JavaScript", "/JS", "/AA"}
_ACTIVE_ACTIONS = {"/JavaScript", "/Launch", "/ImportData"}


def _active_content(node, seen: set, depth: int = 0) -> bool:
    """Whether a PDF object (followed through references, bounded) holds a script or an automatic action. An
    ``/OpenAction`` that is a destination (``[page /Fit]``, what fpdf2 writes for the zoom) is harmless; one that
    is an action dictionary is refused unless it only goes to a page (``/GoTo``)."""
    from pypdf.generic import ArrayObject
    from pypdf.generic import DictionaryObject
    from pypdf.generic import IndirectObject

    if depth > 50:
        return False
    if isinstance(node, IndirectObject):
        key = (node.idnum, node.generation)
        if key in seen:
            return False
        seen.add(key)
        node = node.get_object()
    if isinstance(node, DictionaryObject):
        if _ACTIVE_NAMES & set(node.keys()) or node.get("/S") in _ACTIVE_ACTIONS:
            return True
        opening = node.get("/OpenAction")
        opening = opening.get_object() if isinstance(opening, IndirectObject) else opening
        if isinstance(opening, DictionaryObject) and opening.get("/S") != "/GoTo":
            return True
        return any(_active_content(value, seen, depth + 1) for key, value in node.items() if key != "/Parent")
    if isinstance(node, ArrayObject):
        return any(_active_content(value, seen, depth + 1) for value in node)
    return False


def _check_pdf(data: bytes) -> None:
    """A PDF must open as a PDF (pypdf parses it and its pages) and carry no JavaScript nor automatic action."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if len(reader.pages) == 0:
            raise ValueError("no pages")
        active = _active_content(reader.trailer["/Root"], set())
    except Exception:  # pypdf raises many kinds on broken input: any of them means "does not open"
        raise AttachmentError(422, "pdf_unreadable", "Không mở được tệp PDF: tệp bị hỏng hoặc không phải PDF.",
                              "The PDF cannot be opened: the file is damaged or not a PDF.") from None
    if active:
        raise AttachmentError(422, "pdf_active_content",
                              "Tệp PDF chứa mã JavaScript hoặc hành động tự chạy: không được nhận.",
                              "The PDF contains JavaScript or an automatic action: it is not accepted.")


def _record_holder(sha256: str, user_id: int | None, device_id) -> None:
    """Remember that this user on this phone has the bytes (once per holder)."""
    known = db.session.scalar(select(AttachmentUpload.id).where(
        AttachmentUpload.sha256 == sha256, AttachmentUpload.user_id == user_id,
        AttachmentUpload.device_id == device_id if device_id is not None else AttachmentUpload.device_id.is_(None)))
    if known is None:
        user = db.session.get(User, user_id) if user_id is not None else None
        db.session.add(AttachmentUpload(sha256=sha256, user_id=user_id, device_id=device_id,
                                        agency_id=user.agency_id if user else None))
        db.session.flush()


def may_cite(sha256: str, user: User, device) -> bool:
    """Whether a dossier of ``user`` on ``device`` may cite the attachment: its phone or its ward uploaded it."""
    holders = [AttachmentUpload.user_id == user.id]
    if device is not None:
        holders.append(AttachmentUpload.device_id == device.id)
    if user.agency_id is not None:
        holders.append(AttachmentUpload.agency_id == user.agency_id)
    return db.session.scalar(select(AttachmentUpload.id).where(
        AttachmentUpload.sha256 == sha256, or_(*holders)).limit(1)) is not None
