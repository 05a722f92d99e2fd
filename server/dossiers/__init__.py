"""Dossiers: the lifecycle, codes, deadlines and the staff actions."""
