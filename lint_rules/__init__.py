"""tfc-lint's own rules, one a module; registered through the `tfc_lint.rules` entry points."""
