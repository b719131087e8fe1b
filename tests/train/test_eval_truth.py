"""Where `tk eval`'s ground truth comes from: the surface stored in the shards, or --gt-meshes files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh

from tk.errors import TkError
from tk.train.meshes import mesh_points, stored_surfaces
from tk.train.shards import ShardIndex


def test_stored_surfaces_are_read_for_the_asked_objects(renders: Path) -> None:
    index = ShardIndex(str(renders), "train")
    everything = stored_surfaces(index, index.objects)
    assert everything.keys() == {r.uid for r in index.objects}
    for points in everything.values():
        assert points.shape == (8192, 3) and np.abs(points).max() <= 0.5 + 1e-3
    one = stored_surfaces(index, index.objects[1:2])
    assert list(one) == [index.objects[1].uid]
    np.testing.assert_array_equal(one[index.objects[1].uid], everything[index.objects[1].uid])


def test_gt_meshes_folder_is_sampled_and_checked(tmp_path: Path) -> None:
    trimesh.creation.box(extents=(1.0, 0.5, 0.25)).export(tmp_path / "abc.ply")
    points = mesh_points(tmp_path, "abc", 2000)
    assert points.shape == (2000, 3)
    np.testing.assert_allclose(np.abs(points).max(0), [0.5, 0.25, 0.125], atol=1e-9)
    assert mesh_points(tmp_path, "missing", 10) is None
    (tmp_path / "flat.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nl 1 2\n")
    with pytest.raises(TkError, match="no triangles"):
        mesh_points(tmp_path, "flat", 10)
