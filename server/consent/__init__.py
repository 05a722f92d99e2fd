"""Consent per purpose and per channel (PDPL 91/2025/QH15), kept apart from the statutory processing of dossiers."""
