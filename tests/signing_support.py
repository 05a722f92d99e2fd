"""A test certificate authority made in the test session, and PDFs signed with it as an agency signs a result.

``cryptography`` makes a root CA and a signer certificate in the competent agency's name; pyHanko's signer signs
a one-page PDF the project's own PDF library (fpdf2) made. A second, unknown CA signs the "untrusted" ones.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from server.results.validation import outside_event_loop

AGENCY = "Sở Nội vụ tỉnh Thử Nghiệm"
SIGNER = "Nguyễn Văn Ký"
#: The signer certificate's serial number, so that a test can find it on the page (hex, as the server shows it).
SERIAL = 0x5A17C0DE2026


def _name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _usage(signing: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=True, content_commitment=signing, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=not signing,
                         crl_sign=not signing, encipher_only=False, decipher_only=False)


@dataclass
class Authority:
    """A root CA and one signer certificate it issued."""

    root: x509.Certificate
    root_key: ec.EllipticCurvePrivateKey
    signer: x509.Certificate
    signer_key: ec.EllipticCurvePrivateKey

    @classmethod
    def make(cls, root_name: str, serial: int = SERIAL) -> Authority:
        now = datetime.now(UTC)
        root_key = ec.generate_private_key(ec.SECP256R1())
        subject = _name(root_name, "Tổ chức chứng thực thử nghiệm")
        root = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                .public_key(root_key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=365))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(_usage(signing=False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
                .sign(root_key, hashes.SHA256()))
        signer_key = ec.generate_private_key(ec.SECP256R1())
        signer = (x509.CertificateBuilder().subject_name(_name(SIGNER, AGENCY)).issuer_name(subject)
                  .public_key(signer_key.public_key()).serial_number(serial)
                  .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=90))
                  .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                  .add_extension(_usage(signing=True), critical=True)
                  .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
                                 critical=False)
                  .sign(root_key, hashes.SHA256()))
        return cls(root, root_key, signer, signer_key)

    def root_pem(self, folder: Path) -> Path:
        """The root as a PEM file in ``folder`` (what SIGNATURE_TRUST_ROOTS names)."""
        path = folder / "trust-roots.pem"
        path.write_bytes(self.root.public_bytes(serialization.Encoding.PEM))
        return path

    def sign(self, pdf: bytes, timestamp_at: datetime | None = None, stamped_by: Authority | None = None) -> bytes:
        """``pdf`` with a PAdES signature of the signer certificate (an incremental update, as agencies sign);
        with ``timestamp_at``, a time-stamping authority of this CA (or of ``stamped_by``) vouches for that
        signing time."""
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign import signers
        from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
        from pyhanko_certvalidator.registry import SimpleCertificateStore

        signer = signers.SimpleSigner(signing_cert=_asn1(self.signer), signing_key=_asn1_key(self.signer_key),
                                      cert_registry=SimpleCertificateStore.from_certs([_asn1(self.root)]))
        timestamper = None
        if timestamp_at is not None:
            stamper = stamped_by or self
            tsa_cert, tsa_key = stamper._time_stamping_authority()
            timestamper = DummyTimeStamper(tsa_cert=_asn1(tsa_cert), tsa_key=_asn1_key(tsa_key), fixed_dt=timestamp_at,
                                           certs_to_embed=SimpleCertificateStore.from_certs([_asn1(stamper.root)]))
        meta = signers.PdfSignatureMetadata(field_name="ChuKySo", subfilter=None, reason="Ký số kết quả giải quyết")
        return outside_event_loop(lambda: signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), meta,
                                                           signer=signer, timestamper=timestamper).getvalue())

    def _time_stamping_authority(self):
        now = datetime.now(UTC)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # pyHanko's test TSA signs RSA only
        cert = (x509.CertificateBuilder().subject_name(_name("TSA thử nghiệm", "Tổ chức chứng thực thử nghiệm"))
                .issuer_name(self.root.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - timedelta(days=400)).not_valid_after(now + timedelta(days=365))
                .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.root_key.public_key()),
                               critical=False)
                .sign(self.root_key, hashes.SHA256()))
        return cert, key


def _asn1(cert: x509.Certificate):
    from asn1crypto import x509 as asn1_x509

    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _asn1_key(key):
    from asn1crypto import keys

    return keys.PrivateKeyInfo.load(key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                                      serialization.NoEncryption()))


def result_pdf(title: str = "QUYET DINH TRO CAP") -> bytes:
    """A small one-page PDF made with fpdf2 (the library the statutory forms use), uncompressed so that a test
    can find and change one byte of the page's text."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_compression(False)
    pdf.set_title(title)
    pdf.add_page()
    pdf.set_font("helvetica", size=14)
    pdf.cell(text=title)
    return bytes(pdf.output())


def tampered(signed: bytes, needle: bytes = b"TRO CAP") -> bytes:
    """``signed`` with one byte of the page's text changed (inside the signed range)."""
    at = signed.index(needle)
    return signed[:at] + bytes([signed[at] ^ 0x01]) + signed[at + 1:]


@pytest.fixture(scope="session")
def authority() -> Authority:
    """The test session's certificate authority, the one the test apps trust."""
    return Authority.make("CA Chính phủ thử nghiệm")


@pytest.fixture(scope="session")
def stranger_authority() -> Authority:
    """A CA no test app trusts (a self-made certificate, a foreign provider)."""
    return Authority.make("CA không được tin cậy", serial=0xBADCA)


@pytest.fixture
def trusting(app, authority, tmp_path) -> Authority:
    """The test app trusts :func:`authority` (SIGNATURE_TRUST_ROOTS names its root's PEM file)."""
    app.config["SIGNATURE_TRUST_ROOTS"] = str(authority.root_pem(tmp_path))
    return authority
