"""tk.curate: see DESIGN.md."""
