"""Kubernetes manifests in: load, validate like the API server, default.

    objects, warnings = load_and_validate(["app.yaml", "k8s/"])

raises ManifestError carrying every problem found, in every file, at once.
"""

from __future__ import annotations

from typing import TextIO

from .defaults import apply_defaults
from .last_applied import annotated
from .load import Doc, ManifestError, Problem, load_paths, load_with_problems
from .unemulated import unemulated_fields, without_helm_hooks
from .validate import split_supported, validate
from .validate_scheduling import missing_priority_classes
from .validate_service import validate_node_ports

__all__ = ["Doc", "Problem", "ManifestError", "load_paths", "validate", "validate_node_ports",
           "split_supported", "apply_defaults", "load_and_validate"]


def load_and_validate(paths: list[str], stdin: TextIO | None = None,
                      allow_privileged: bool = False) -> tuple[list[dict], list[str]]:
    """Defaulted objects of the kinds emukube emulates; warnings: one per skipped document, one
    per field emukube accepts but does not act on."""
    docs, problems = load_with_problems(paths, stdin)
    docs, hooks = without_helm_hooks(docs)
    supported, warnings = split_supported(docs)
    problems.extend(validate(supported, allow_privileged=allow_privileged))
    if problems:
        raise ManifestError(problems)
    # Written as `kubectl apply` writes, so that kubectl apply and diff carry on from it.
    objects = [apply_defaults(annotated(doc.obj)) for doc in supported]
    return objects, hooks + warnings + unemulated_fields(supported) + missing_priority_classes(objects)
