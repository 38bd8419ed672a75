"""Generate one page per registered rule (and the rules' index) from the rule classes, with
the text `tfc-lint rule CODE` prints: the rule class is the single source."""

import mkdocs_gen_files

from tfcollections.lint.registry import load_selected, rule_entry_points
from tfcollections.lint.rule_docs import rule_page

rules = load_selected(sorted(rule_entry_points()))
rows = ["| code | name | what it finds | fix |", "| --- | --- | --- | --- |"]
for rule in rules:
    page = f"rules/{rule.code.lower()}.md"
    with mkdocs_gen_files.open(page, "w") as stream:
        stream.write(rule_page(rule))
    fix = rule.FIX[0] if rule.FIX else "-"
    rows.append(
        f"| [{rule.code}]({rule.code.lower()}.md) | {rule.name} | {rule.summary()} | {fix} |"
    )
with mkdocs_gen_files.open("rules/index.md", "w") as stream:
    stream.write("# Rules\n\n" + "\n".join(rows) + "\n")
