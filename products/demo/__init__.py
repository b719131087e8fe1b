"""`tk demo`: the whole pipeline on a few sample objects (curate, render, train, infer, figures)."""

from tk.demo.cli import register

__all__ = ["register"]
