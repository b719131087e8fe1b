"""tk.release: reproducible dataset releases (spec, hashes, licenses, attribution)."""
