"""tk.model: see DESIGN.md."""
