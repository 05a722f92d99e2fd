"""Issue 15: the competent agency's signed result (Decree 45/2020 Art. 14(3)): a PDF with a PAdES signature the
server validates, offered to the citizen as ``<dossier code>-KQ<n>``."""
