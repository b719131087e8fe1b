"""tk.render: see DESIGN.md."""
