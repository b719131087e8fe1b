"""Lists every subpackage of the stage folders so `pip install -e .` maps them under `tk.`."""
from pathlib import Path

from setuptools import setup

# the floors (docs/design.md "Layers"): the core in tk/, the stages beside it, the products under products/
ROOTS = {"tk": "tk", "tk.curate": "curate", "tk.render": "render", "tk.model": "model", "tk.train": "train",
         "tk.release": "products/release", "tk.demo": "products/demo"}


def _packages() -> tuple[list[str], dict[str, str]]:
    packages, package_dir = [], {}
    for name, folder in ROOTS.items():
        for init in sorted(Path(folder).rglob("__init__.py")):
            rel = init.parent.relative_to(folder)
            pkg = ".".join([name, *rel.parts]) if rel.parts else name
            packages.append(pkg)
            package_dir[pkg] = str(init.parent)
    return packages, package_dir


packages, package_dir = _packages()
# The model and training presets (configs/) ship inside the wheel as tk/configs, where tk.model.config and
# tk.train.config look for them (parents[1] of their module: the repo root when editable, tk/ when installed).
packages.append("tk.configs")
package_dir["tk.configs"] = "configs"
setup(packages=packages, package_dir=package_dir, include_package_data=True,
      package_data={"tk.configs": ["*.yaml", "*/*.yaml", "*/*.json"], "tk.train": ["lpips_views/*.png"]})
