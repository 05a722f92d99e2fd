"""Cross-cutting pieces of the JSON API: the OpenAPI description and request validation against it."""
