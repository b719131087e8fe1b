"""`tk release verify`: hashes, schemas, counts and licenses of a release folder.

Checks run in that order and stop at the first group that fails, since a changed file makes every
later check about it meaningless; the first problem names the file.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tk import contracts
from tk.contracts import release as layout
from tk.contracts import renders
from tk.curate.licenses import allowed as policy_allows
from tk.errors import ContractError, TkError
from tk.release import attribution, licenses, sums
from tk.release.spec import SpecError, check_where
from tk.release.stats import compute_stats
from tk.release.stats import kept_rows

class VerifyError(TkError):
    """A release that fails verification; `problems` lists every problem found in the failing group."""

    def __init__(self, root: Path, problems: list[str]) -> None:
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        super().__init__(f"release {root} fails verification: {problems[0]}{more}")
        self.problems = problems


@dataclass
class VerifyReport:
    """What a passing verification checked, one line per group, for the CLI's table."""

    checks: list[tuple[str, str]] = field(default_factory=list)


def verify_release(root: str | Path) -> VerifyReport:
    """Verify the release at `root`; raise VerifyError naming the first problem."""
    root = Path(root)
    record = layout.read_record(root)
    report = VerifyReport()
    _group(root, sums.check_sums(root))
    report.checks.append(("hashes", f"{len(sums.read_sums(root))} files match {layout.SUMS}"))
    _group(root, check_spec(root, record))
    report.checks.append(("spec", f"{layout.SPEC} holds only what a rebuild may run"))
    _group(root, check_schemas(root))
    report.checks.append(("schemas", f"manifest, objects and {len(layout.shards(root))} shard(s) match tk contracts"))
    _group(root, check_counts(root, record))
    c = record["stats"]
    report.checks.append(
        ("counts", f"{c['kept']} kept, {c['rendered']} rendered x {c['views_per_object']} views = {c['shard_rows']} rows")
    )
    _group(root, check_licenses(root, record))
    report.checks.append(("licenses", f"{', '.join(f'{k} {n}' for k, n in c['licenses_kept'].items())}; all credited"))
    _group(root, check_record(root, record))
    report.checks.append(("record", f"{layout.RELEASE_JSON} states the counts of the data"))
    return report


def _group(root: Path, problems: list[str]) -> None:
    if problems:
        raise VerifyError(root, problems)


def check_spec(root: Path, record: dict[str, Any]) -> list[str]:
    """The spec a rebuild would run (spec.yaml, and its copy in RELEASE.json) passes the spec's own checks
    that need no sources: its curation `where` is one predicate tk would run (tk.curate.predicate)."""
    import yaml

    try:
        shipped = yaml.safe_load((root / layout.SPEC).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return [f"{layout.SPEC}: not readable YAML"]
    problems = []
    for label, spec in ((f"{layout.SPEC}: curation.where", shipped), (f"{layout.RELEASE_JSON}: spec.curation.where", record["spec"])):
        if not isinstance(spec, dict) or not isinstance(spec.get("curation") or {}, dict):
            problems.append(f"{label.split(':')[0]}: the spec is not a mapping with a 'curation' mapping")
            continue
        try:
            check_where(spec.get("curation"), label)
        except SpecError as e:
            problems.append(str(e))
    return problems


def check_schemas(root: Path) -> list[str]:
    """Every table of the release reads and validates against its tk contract."""
    problems = []
    shards = layout.shards(root)
    if not shards:
        problems.append(f"{layout.RENDERS_DIR}/{renders.SHARDS_DIR}: no {renders.SHARD_PATTERN} files")
    for path, spec in [(layout.manifest(root), contracts.MANIFEST), (layout.objects(root), contracts.OBJECTS)] + [
        (p, contracts.SHARD) for p in shards
    ]:
        try:
            contracts.read_table(path, spec)
        except ContractError as e:
            problems.append(str(e).replace(f"{root}/", "", 1))
    return problems


def check_counts(root: Path, record: dict[str, Any]) -> list[str]:
    """Objects cover the kept rows, every rendered object has all its views in one shard, stats match."""
    problems: list[str] = []
    manifest = {r["uid"]: r for r in contracts.read_table(layout.manifest(root), contracts.MANIFEST).to_pylist()}
    kept = {u for u, r in manifest.items() if r["status"] == "keep"}
    objects = contracts.read_table(layout.objects(root), contracts.OBJECTS, columns=["uid", "status"]).to_pylist()
    ok = {o["uid"] for o in objects if o["status"] == "ok"}
    where = f"{layout.RENDERS_DIR}/objects.parquet"
    if missing := sorted(kept - {o["uid"] for o in objects}):
        problems.append(f"{where}: {len(missing)} kept object(s) of the manifest have no row, e.g. {missing[0]}")
    if extra := sorted({o["uid"] for o in objects} - kept):
        problems.append(f"{where}: {len(extra)} object(s) not kept by the manifest, e.g. {extra[0]}")
    views_expected = int(record["stats"]["views_per_object"])
    views: dict[str, list[int]] = defaultdict(list)
    shard_of: dict[str, set[str]] = defaultdict(set)
    for path in layout.shards(root):
        name = path.relative_to(root).as_posix()
        for row in contracts.read_table(path, contracts.SHARD, columns=["uid", "view", "split"]).to_pylist():
            views[row["uid"]].append(row["view"])
            shard_of[row["uid"]].add(name)
            if row["uid"] not in ok:
                problems.append(f"{name}: rows of object {row['uid']}, which objects.parquet does not mark ok")
                break
            if row["split"] != manifest[row["uid"]]["split"]:
                problems.append(f"{name}: object {row['uid']} is in split {row['split']}, the manifest says "
                                f"{manifest[row['uid']]['split']}")
                break
    for uid in sorted(ok):
        if sorted(views.get(uid, [])) != list(range(views_expected)):
            problems.append(f"object {uid}: views {sorted(views.get(uid, []))}, expected 0..{views_expected - 1}")
        elif len(shard_of[uid]) > 1:
            problems.append(f"object {uid}: views split over {', '.join(sorted(shard_of[uid]))}")
    return problems


def check_record(root: Path, record: dict[str, Any]) -> list[str]:
    """The counts RELEASE.json states are the counts of the data."""
    stats = compute_stats(root).to_dict()
    return [
        f"{layout.RELEASE_JSON}: stats.{key} is {record['stats'].get(key)}, the data has {value}"
        for key, value in stats.items()
        if record["stats"].get(key) != value
    ]


def check_licenses(root: Path, record: dict[str, Any]) -> list[str]:
    """Every kept object's license is allowed by the release's policy and credited where it must be."""
    problems: list[str] = []
    policy = record.get("license_policy") or {}
    allowed = policy.get("allowed")  # None: the policy allows every license
    try:
        expected = policy_allows(str(policy.get("policy")))
    except TkError:
        expected = frozenset()
    if (None if expected is None else sorted(expected)) != allowed:
        return [f"{layout.RELEASE_JSON}: license_policy.allowed is not what policy '{policy.get('policy')}' allows"]
    if not (root / layout.ATTRIBUTION).is_file():
        return [f"{layout.ATTRIBUTION}: missing"]
    credited = attribution.credited_uids((root / layout.ATTRIBUTION).read_text(encoding="utf-8"))
    for row in kept_rows(root):
        lic = licenses.normalise(row["license"])
        if allowed is not None and lic not in allowed:
            problems.append(f"{layout.manifest(root).relative_to(root)}: object {row['uid']} has license {lic}, "
                            f"which the release's policy does not allow")
        elif (licenses.requires_attribution(lic) or licenses.requires_notice(lic)) and row["uid"] not in credited:
            problems.append(f"{layout.ATTRIBUTION}: object {row['uid']} ({lic}) is not credited")
    return problems
