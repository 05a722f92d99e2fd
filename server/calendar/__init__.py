"""The civil-service working calendar and deadline computation."""
