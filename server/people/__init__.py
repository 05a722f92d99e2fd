"""People: dossier owners, submitters and other subjects, and the checks on their identity data."""
