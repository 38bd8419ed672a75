"""Optimizer wrappers that freeze and unfreeze variables at run time, without rebuilding."""
