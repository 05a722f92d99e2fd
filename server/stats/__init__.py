"""Statistics of the one-stop desk and the leaders' summary (issue 6)."""
