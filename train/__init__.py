"""tk.train: see DESIGN.md."""
