"""tk.render: see docs/design.md."""
