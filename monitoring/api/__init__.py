"""JSON API of the monitoring app, one module per resource."""
