"""bench.model: TripoSR forward and patch-render-with-backward, tk against the official code (`python -m bench.model`)."""
