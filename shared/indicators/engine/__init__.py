"""The indicator engine: set-based SQL over a subtree and a period, results written by INSERT … SELECT."""
