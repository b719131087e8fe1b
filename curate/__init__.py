"""tk.curate: see docs/design.md."""
