"""The one-stop desk's pages (staff and leaders of a ward)."""
