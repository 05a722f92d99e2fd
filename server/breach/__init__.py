"""A lost officer's phone: what may have been on it, for the breach notification (PDPL 91/2025/QH15 Art. 23)."""
