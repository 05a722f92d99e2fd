"""Web basics: pages, language choice, health check."""
