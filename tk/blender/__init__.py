"""The persistent Blender worker both stages use: one `bpy` subprocess that serves jobs of any type (a render, a
probe) from a pipe, bounded in memory and time by its parent. bpy is imported only in the subprocess."""
