"""Every registered rule proves itself with its own VALID and INVALID examples."""

import re
import textwrap

import pytest

from tfcollections.lint.engine import fix_source, lint_source
from tfcollections.lint.registry import load_selected, rule_entry_points

RULES = load_selected(sorted(rule_entry_points()))
_MARK = re.compile(r"#\s*<-\s*(?P<code>[A-Z]+\d+)\s*$")


def _examples(kind: str):
    return [
        pytest.param(rule, textwrap.dedent(snippet), id=f"{rule.code}-{kind}-{index}")
        for rule in RULES
        for index, snippet in enumerate(getattr(rule, kind))
    ]


def test_the_five_rules_are_registered_and_documented():
    assert [rule.code for rule in RULES] == ["TFC001", "TFC002", "TFC003", "TFC004", "TFC005"]
    for rule in RULES:
        assert rule.VALID and rule.INVALID, rule.code
        assert rule.summary() and len((rule.__doc__ or "").splitlines()) > 3, rule.code


@pytest.mark.parametrize(("rule", "source"), _examples("VALID"))
def test_valid_examples_have_no_finding(rule, source):
    assert lint_source(source.encode(), "example.py", [rule]) == []


@pytest.mark.parametrize(("rule", "source"), _examples("INVALID"))
def test_invalid_examples_report_exactly_the_marked_lines(rule, source):
    expected = [
        number
        for number, line in enumerate(source.splitlines(), start=1)
        if (mark := _MARK.search(line)) and mark.group("code") == rule.code
    ]
    assert expected, "an INVALID example must mark at least one line"
    findings = lint_source(source.encode(), "example.py", [rule])
    assert [finding.line for finding in findings] == expected
    assert {finding.code for finding in findings} == {rule.code}
    patterns = _message_patterns(rule)
    assert all(any(p.fullmatch(finding.message) for p in patterns) for finding in findings)


def _message_patterns(rule) -> list[re.Pattern]:
    """The rule's messages (MESSAGE, MESSAGE_*) with each `{field}` free to be filled in."""
    messages = [value for name, value in vars(rule).items() if name.startswith("MESSAGE")]
    return [
        re.compile(".*?".join(map(re.escape, re.split(r"\{\w+\}", message))), re.DOTALL)
        for message in messages
    ]


@pytest.mark.parametrize(("rule", "source"), _examples("INVALID"))
def test_precheck_lets_every_invalid_example_through(rule, source):
    assert rule.may_apply(source.lower().encode())


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.code)
def test_precheck_rules_out_unrelated_code(rule):
    assert not rule.may_apply(b"import os\nprint(os.getcwd())\n")


def test_tfc002_precheck_skips_parameters_and_literals_but_follows_aliases():
    rule = next(rule for rule in RULES if rule.code == "TFC002")
    plain = b"def f(trainable=True):\n    return tf.Variable(1.0, trainable=trainable)\n"
    assert not rule.may_apply(plain)
    aliased = b"a = tf.constant(true)\nb = a\nv = tf.Variable(1.0, trainable=b)\n"
    assert rule.may_apply(aliased)


def test_each_message_says_what_to_use_instead():
    for rule in RULES:
        assert "DynamicOptimizer" in rule.MESSAGE or "compile() again" in rule.MESSAGE


def test_deeply_nested_valid_code_lints_cleanly():
    header = "import tensorflow as tf\ntrain_op = opt.minimize(loss)\n"
    nested = "y = " + "(" * 1000 + "1" + ")" * 1000 + "\n"
    long_sum = "z = " + " + ".join(["a"] * 3000) + "\n"
    lists = "w = " + "[" * 400 + "tf.GraphKeys.TRAINABLE_VARIABLES" + "]" * 400 + "\n"
    source = (header + nested + long_sum + lists + "tf.get_collection_ref(w)\n").encode()
    assert lint_source(source, "deep.py", RULES) == []


def _fixed_examples():
    return [
        pytest.param(rule, textwrap.dedent(before), textwrap.dedent(after), id=f"{rule.code}-{i}")
        for rule in RULES
        for i, (before, after) in enumerate(rule.FIXED)
    ]


def test_the_rules_with_fixes_show_them():
    assert {rule.code for rule in RULES if rule.FIXED} == {"TFC002", "TFC004", "TFC005"}


@pytest.mark.parametrize(("rule", "before", "after"), _fixed_examples())
def test_fixed_examples_are_what_the_fix_makes_and_lint_clean(rule, before, after):
    findings = lint_source(before.encode(), "example.py", [rule])
    assert findings and all(finding.fix is not None for finding in findings)
    fixed, count, remaining = fix_source(before.encode(), "example.py", [rule], unsafe=True)
    assert fixed.decode() == after
    assert (count, remaining) == (len(findings), [])
    safe = all(finding.fix.safe for finding in findings)
    assert fix_source(before.encode(), "example.py", [rule])[0] == (
        fixed if safe else before.encode()
    )
