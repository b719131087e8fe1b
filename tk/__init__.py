"""tk: curate 3D data, render it with Blender, and train TripoSR on it.

Importing tk is cheap: stages import bpy, torch and ray only when they run.
"""

__version__ = "0.1.0"
