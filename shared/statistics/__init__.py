"""Data elements and the values entered for them (population first of all)."""
