"""Reference data: administrative units, agencies (one-stop desks) and the procedure catalogue."""
