"""Console pages of the maintenance app, one module per part (checklists, runbooks, incidents, ...)."""
