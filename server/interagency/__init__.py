"""Issue 15: a dossier across units. The receiving unit and the competent one, the inter-agency chain (liên thông)
of a procedure version with a deadline per step, and the append-only hand-overs the control sheet (Mẫu 06) shows."""
