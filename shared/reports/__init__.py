"""Reports of the reporting calendar: monthly updates, quarterly in-depth reports, annual reports, self-assessments."""
