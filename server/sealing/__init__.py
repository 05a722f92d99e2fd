"""Sealing: what an officer's phone finalises is encrypted to the server's public key (issue 12 point 1).

``keys.py`` keeps the key pairs (current, kept, retired), ``envelope.py`` opens what the phone sealed
(pwa/lib/seal.js writes it), ``cli.py`` is ``flask sealing``, ``api.py`` serves the current public key.
"""
