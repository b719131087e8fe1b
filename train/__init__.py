"""tk.train: see docs/design.md."""
