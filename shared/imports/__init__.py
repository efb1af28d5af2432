"""File imports (xlsx/csv): all-or-nothing, refusing with every bad row and why."""
