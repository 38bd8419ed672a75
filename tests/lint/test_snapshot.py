"""The environment snapshot: what a warm run knows of the rules without importing them, and
when it is taken anew."""

import json
import os

from tfcollections.lint import snapshot as snapshots
from tfcollections.lint.registry import load_selected, rule_entry_points
from tfcollections.lint.snapshot import Snapshot


def _stored(folder):
    [path] = (folder / ".tfc-lint-cache").glob("environment-*.json")
    return path


def test_the_snapshot_holds_every_rules_precheck(tmp_path):
    taken = Snapshot.take(tmp_path)
    taken.save(tmp_path)
    again = Snapshot.take(tmp_path)
    assert not again._dirty  # read back, not taken anew
    for rule in load_selected(sorted(rule_entry_points())):
        facts = again.rules[rule.code]
        assert (facts.precheck, facts.project_precheck, facts.follows) == (
            rule.PRECHECK,
            rule.PROJECT_PRECHECK,
            rule.FOLLOWS_PROJECT,
        )


def test_an_edited_rule_module_or_a_missing_code_retakes_it(tmp_path):
    Snapshot.take(tmp_path).save(tmp_path)
    path = _stored(tmp_path)
    stored = json.loads(path.read_text())
    stored["rules"]["TFC005"][5][1] -= 1  # the module's mtime as it was before an edit
    path.write_text(json.dumps(stored))
    assert Snapshot.take(tmp_path)._dirty
    del stored["rules"]["TFC005"]
    stored["rules"]["TFC004"][5][1] += 1
    path.write_text(json.dumps(stored))
    assert Snapshot.take(tmp_path, ("TFC005",))._dirty


def test_installing_a_package_changes_the_snapshots_key(tmp_path, monkeypatch):
    before = snapshots._path(tmp_path)
    folder = tmp_path / "site-packages"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    with_folder = snapshots._path(tmp_path)
    (folder / "newpackage").mkdir()  # what pip does to site-packages
    os.utime(folder, ns=(1, 10**18))
    assert len({before, with_folder, snapshots._path(tmp_path)}) == 3


def test_a_damaged_snapshot_is_taken_anew(tmp_path):
    Snapshot.take(tmp_path).save(tmp_path)
    _stored(tmp_path).write_text("{not json")
    assert Snapshot.take(tmp_path)._dirty
