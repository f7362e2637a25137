"""Forms of the maintenance app, one module per part."""
