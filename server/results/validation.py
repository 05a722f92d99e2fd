"""What a result PDF's PAdES signature is worth, found by pyHanko: one verdict, never an exception.

A result is the competent agency's document, signed with its certificate (Decree 45/2020 Art. 14(3)). The desk
attaches whatever file it was given; this module says, before anything is stored, whether that file is

- ``valid``: every signature is intact (the digest of the signed bytes matches and the signature is the
  certificate's), the last one covers the whole file, or what was added after it is only signature upkeep (a
  document timestamp, validation data: pyHanko's ``LTA_UPDATES``), and the signer's certificate chains to one of
  the trust roots the operator configured (``SIGNATURE_TRUST_ROOTS``);
- ``untrusted``: intact and covering the document, but the certificate does not chain to a configured root (an
  unknown CA, a self-made certificate, an expired or revoked one);
- ``modified``: intact, but a later incremental update changed more than signature upkeep (a form filled in,
  a page's content replaced): the document shown is not the one that was signed;
- ``broken``: a signature whose digest or cryptographic value does not match (a byte changed after signing);
- ``unsigned``: a readable PDF without any signature;
- ``unreadable``, ``not_pdf``, ``too_large``: nothing can be said about a signature.

Only ``valid`` makes a result signed; the desk may still accept any other readable PDF as unsigned, with a reason
(server/results/views.py). The trust roots are only those configured, never the operating system's web CAs: a
TLS authority says nothing about a ward's or a department's signature. Revocation is not checked online (the
server reaches no CA): a certificate revoked after signing still looks valid until its root is removed.

Validation runs at the time of the upload, against the certificate's validity at that moment.
"""

from __future__ import annotations

import asyncio
import io
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from pathlib import Path

from flask import current_app

log = logging.getLogger(__name__)

# pyHanko and its certificate validator log each failed path or digest with the certificate's subject: a
# signer's own name. Their verdict reaches the desk through the dataclass below; their log lines must not
# reach the server's log (no personal data in logs).
for _noisy in ("pyhanko", "pyhanko_certvalidator"):
    logging.getLogger(_noisy).setLevel(logging.CRITICAL)

VERDICTS = ("valid", "untrusted", "modified", "broken", "unsigned", "unreadable", "not_pdf", "too_large")
#: The verdicts of a file that opens as a PDF: the desk may accept any of them but "valid" only as unsigned.
READABLE = frozenset({"valid", "untrusted", "modified", "broken", "unsigned"})


@dataclass(frozen=True)
class SignatureCheck:
    """What the validation found. The certificate fields are those of the last signature (the one that covers
    the most of the file); ``signatures`` counts them all."""

    verdict: str
    signatures: int = 0
    intact: bool = False  #: every signature's digest and value match
    trusted: bool = False  #: the last signer's certificate chains to a configured trust root
    whole_document: bool = False  #: the last signature covers every byte of the file
    #: what a later incremental update changed, when the last signature does not cover the whole file:
    #: "signature_upkeep" (timestamps, validation data), "form_filling", "other"
    later_changes: str | None = None
    signer_name: str | None = None  #: the certificate's subject common name
    signer_organisation: str | None = None
    certificate_issuer: str | None = None
    certificate_serial: str | None = None  #: upper-case hex
    signed_at: datetime | None = None  #: the signing time the signature claims (UTC)
    #: "timestamp" when a time-stamping authority vouches for it, "signer" when only the signer's clock does
    time_source: str | None = None
    problems: tuple[str, ...] = field(default=())  #: short codes: "trust_roots_unreadable", ...

    @property
    def valid(self) -> bool:
        return self.verdict == "valid"

    def summary(self) -> str:
        """The stored, language-neutral summary (DossierResult.validation_summary): ``key=value`` pairs the
        pages turn back into sentences (:func:`read_summary`)."""
        parts = {"verdict": self.verdict, "signatures": str(self.signatures),
                 "intact": _yes(self.intact), "trusted": _yes(self.trusted),
                 "whole_document": _yes(self.whole_document)}
        if self.later_changes:
            parts["later_changes"] = self.later_changes
        if self.time_source:
            parts["time_source"] = self.time_source
        if self.problems:
            parts["problems"] = ",".join(self.problems)
        return "; ".join(f"{key}={value}" for key, value in parts.items())


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def read_summary(summary: str | None) -> dict[str, str]:
    """The pairs of a stored summary; unknown or damaged text gives what it can (never raises)."""
    pairs = {}
    for part in (summary or "").split(";"):
        key, _sep, value = part.strip().partition("=")
        if key and value:
            pairs[key] = value
    return pairs


def trust_roots() -> tuple[list, list[str]]:
    """The configured trust roots as asn1crypto certificates, and the problems met reading them.

    ``SIGNATURE_TRUST_ROOTS``: a PEM file, or a folder whose ``*.pem``/``*.crt`` files are read, each holding one
    or more certificates; several paths may be given separated by the system's path separator (``:``).
    """
    import os

    from asn1crypto import pem
    from asn1crypto import x509

    setting = current_app.config.get("SIGNATURE_TRUST_ROOTS")
    if not setting:
        return [], []
    files: list[Path] = []
    for entry in str(setting).split(os.pathsep):
        path = Path(entry.strip())
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix.lower() in (".pem", ".crt", ".cer")))
        elif entry.strip():
            files.append(path)
    roots, problems = [], []
    for path in files:
        try:
            data = path.read_bytes()
            ders = [der for _kind, _headers, der in pem.unarmor(data, multiple=True)] if pem.detect(data) else [data]
            found = [x509.Certificate.load(der) for der in ders]
            for root in found:
                root.native  # noqa: B018 -- parses the whole certificate now, so a damaged one fails here
            roots.extend(found)
        except (OSError, ValueError, TypeError) as error:
            # The path is the operator's own setting: safe to log, and they need it to fix the setting.
            log.error("SIGNATURE_TRUST_ROOTS: cannot read %s (%s)", path, type(error).__name__)
            problems.append("trust_roots_unreadable")
    return roots, sorted(set(problems))


def _subject(name, key: str) -> str | None:
    value = name.native.get(key)
    if isinstance(value, list):  # several organisation names: keep them all
        value = ", ".join(str(v) for v in value)
    return str(value)[:300] if value else None


def _issuer(name) -> str:
    """The issuing CA as a clerk reads it: its common name and organisation (the full name when it has neither)."""
    parts = [part for part in (_subject(name, "common_name"), _subject(name, "organization_name")) if part]
    return (" — ".join(dict.fromkeys(parts)) or name.human_friendly)[:300]


def _later_changes(status) -> str | None:
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation import SignatureCoverageLevel

    if status.coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return None
    level = status.modification_level
    if level in (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES):
        return "signature_upkeep"
    if level == ModificationLevel.FORM_FILLING:
        return "form_filling"
    return "other"


def outside_event_loop(function, *args):
    """``function(*args)`` where no asyncio loop runs: pyHanko's synchronous API calls ``asyncio.run()``, which a
    thread with a running loop refuses (an asynchronous server; Playwright's sync API in the test session). A
    short-lived thread has none."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function(*args)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pyhanko") as pool:
        return pool.submit(function, *args).result()


def validate(data: bytes) -> SignatureCheck:
    """Validate the signatures of ``data`` (the file's bytes). Never raises on what the file holds."""
    limit = int(current_app.config["SIGNED_RESULT_MAX_BYTES"])
    if len(data) > limit:
        return SignatureCheck("too_large")
    if not data.startswith(b"%PDF-"):  # as the attachment store sniffs it (server/dossiers/attachments.py)
        return SignatureCheck("not_pdf")
    roots, problems = trust_roots()
    try:
        return outside_event_loop(_validate, data, roots, tuple(problems))
    except Exception as error:  # pyHanko raises many kinds on hostile input: all of them mean "cannot read it"
        log.info("A result PDF could not be read for its signature: %s", type(error).__name__)
        return SignatureCheck("unreadable", problems=tuple(problems))


def _validate(data: bytes, roots: list, problems: tuple[str, ...]) -> SignatureCheck:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import SignatureCoverageLevel
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.settings import KeyUsageConstraints
    from pyhanko_certvalidator import ValidationContext

    reader = PdfFileReader(io.BytesIO(data), strict=False)
    reader.root  # noqa: B018 -- a file without a readable catalogue fails here, not later
    embedded = reader.embedded_signatures
    if not embedded:
        return SignatureCheck("unsigned", problems=problems)
    # Agencies' certificates carry non-repudiation, digital signature, or both: either is a signing key.
    usage = KeyUsageConstraints(key_usage={"non_repudiation", "digital_signature"}, match_all_key_usages=False)
    statuses = []
    for signature in embedded:
        # allow_fetching stays off: no CRL, OCSP or issuer is ever fetched (the server reaches no CA).
        context = ValidationContext(trust_roots=list(roots), allow_fetching=False)
        statuses.append(validate_pdf_signature(signature, context, key_usage_settings=usage))
    last = statuses[-1]
    intact = all(s.intact and s.valid for s in statuses)
    cert = last.signing_cert
    timestamp = getattr(last, "timestamp_validity", None)
    signed_at, time_source = last.signer_reported_dt, "signer" if last.signer_reported_dt else None
    if timestamp is not None and timestamp.intact and timestamp.valid:
        if timestamp.trusted:
            signed_at, time_source = timestamp.timestamp, "timestamp"
        else:
            # Anyone can run a time-stamping authority: an untrusted one's time is no better than the signer's
            # own claim, and shown as such (a back-dated result must not read "theo dấu thời gian").
            problems = (*problems, "timestamp_untrusted")
    whole = last.coverage == SignatureCoverageLevel.ENTIRE_FILE
    later = _later_changes(last)
    if not intact:
        verdict = "broken"
    elif last.coverage not in (SignatureCoverageLevel.ENTIRE_FILE, SignatureCoverageLevel.ENTIRE_REVISION) \
            or later not in (None, "signature_upkeep"):
        verdict = "modified"
    elif not last.trusted:
        verdict = "untrusted"
    else:
        verdict = "valid"
    return SignatureCheck(
        verdict=verdict, signatures=len(statuses), intact=intact, trusted=bool(last.trusted), whole_document=whole,
        later_changes=later, signer_name=_subject(cert.subject, "common_name"),
        signer_organisation=_subject(cert.subject, "organization_name"),
        certificate_issuer=_issuer(cert.issuer), certificate_serial=format(cert.serial_number, "X"),
        signed_at=signed_at.astimezone(UTC) if signed_at else None, time_source=time_source,
        problems=problems)
