"""Pieces every FastAPI service mounts: problem+json handlers, health routes, the app factory."""
