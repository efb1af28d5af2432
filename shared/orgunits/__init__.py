"""Org units (the administrative tree) and their departments."""
