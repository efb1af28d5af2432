"""CultureZone domain package shared by the api, ingest and scheduler services."""
