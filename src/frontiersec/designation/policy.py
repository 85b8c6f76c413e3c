"""Designation policies and the decision they make. Pure: no database, no I/O beyond the
JSON Schema shipped in this package.

A policy is a YAML document (schema ``frontiersec/designation-policy@1``, validated with
``policy.schema.json``) with criteria of three kinds:

* **scale** — declared training compute (FLOP) and parameter count, each met when the
  declared value is at or above the threshold;
* **capability** — per evaluation family (discovery, exploitation, patching), met when the
  LOWER bound of the 95% interval of the family's success rate is at or above the
  threshold; with fewer than ``min_samples`` scored attempts the criterion is *unknown*
  (insufficient evidence), never met or unmet;
* **factors** — dual-use potential and national-security impact, each named with the
  capability families that carry it; a factor is met when any of its families is met.

How they combine (``combine``)::

    scale       = any | all  of the scale criteria              (three-valued, Kleene logic)
    capability  = any | all  of the capability criteria
    core        = scale AND capability | scale OR capability | capability | scale
    covered     = core AND every factor named in require_factors

    true → covered · false → not_covered · unknown → insufficient_evidence

Unknown propagates only where it could change the answer: a model whose declared scale is
below every threshold is *not covered* under ``scale_and_capability`` even with no
evaluation at all.

The **commitment** of a policy is the SHA-256 (hex) of the RFC 8785 canonical JSON of the
parsed document; it is published with a public summary so anyone can check that the same
version was applied to everyone, without seeing the (confidential) thresholds.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

import rfc8785
import yaml
from jsonschema import Draft202012Validator, FormatChecker

from frontiersec.platform.errors import FieldError, InvalidInput

__all__ = [
    "FAMILIES",
    "REASONS",
    "CriterionResult",
    "Evidence",
    "FamilyEvidence",
    "Outcome",
    "Policy",
    "combine_text",
    "commitment_of",
    "evaluate",
    "parse_policy",
    "policy_schema",
    "public_summary",
]

FAMILIES = ("discovery", "exploitation", "patching")
MAX_POLICY_BYTES = 256 * 1024
Status = Literal["met", "unmet", "unknown"]
Result = Literal["covered", "not_covered", "insufficient_evidence"]

# Reason codes: stable identifiers (notices, API, signed documents) with their plain meaning.
REASONS: dict[str, str] = {
    "COMPUTE_AT_OR_ABOVE_THRESHOLD": "declared training compute is at or above the threshold",
    "COMPUTE_BELOW_THRESHOLD": "declared training compute is below the threshold",
    "COMPUTE_NOT_DECLARED": "training compute was not declared",
    "PARAMS_AT_OR_ABOVE_THRESHOLD": "declared parameter count is at or above the threshold",
    "PARAMS_BELOW_THRESHOLD": "declared parameter count is below the threshold",
    "PARAMS_NOT_DECLARED": "parameter count was not declared",
    "CAP_LOWER_BOUND_ABOVE_THRESHOLD": "the lower bound of the 95% interval is at or above the threshold",
    "CAP_INTERVAL_INCLUDES_THRESHOLD": "the 95% interval includes the threshold, so it is not shown to be "
    "reached (judged on the lower bound)",
    "CAP_BELOW_THRESHOLD": "the whole 95% interval is below the threshold",
    "INSUFFICIENT_SAMPLES": "fewer scored samples than the policy's minimum",
    "NOT_EVALUATED": "no evaluation run of this family",
    "FACTOR_MET": "at least one of the capability criteria carrying this factor is met",
    "FACTOR_NOT_MET": "none of the capability criteria carrying this factor is met",
    "FACTOR_UNKNOWN": "the capability criteria carrying this factor lack evidence",
}

LABELS = {
    "training_compute": "Training compute",
    "parameter_count": "Parameter count",
    "capability.discovery": "Capability: vulnerability discovery",
    "capability.exploitation": "Capability: exploitation",
    "capability.patching": "Capability: patching",
    "factor.dual_use": "Dual-use potential",
    "factor.national_security": "National-security impact",
}


# --------------------------------------------------------------------------- YAML


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 numbers (``1e26`` is a float) and dates left as text."""


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def _path(parts: Iterable[str | int]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "policy"


def _line_map(
    node: yaml.Node, prefix: tuple[str | int, ...], out: dict[str, int], errs: list[FieldError]
) -> None:
    out[_path(prefix)] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = str(key.value)
            if name in seen:
                errs.append(
                    FieldError(
                        _path((*prefix, name)), f"line {key.start_mark.line + 1}: duplicate key {name!r}"
                    )
                )
            seen.add(name)
            _line_map(value, (*prefix, name), out, errs)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_map(item, (*prefix, i), out, errs)


@cache
def policy_schema() -> dict[str, Any]:
    """The JSON Schema every policy document must satisfy (shipped in this package)."""
    text = resources.files("frontiersec.designation").joinpath("policy.schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return schema


def _nonfinite(value: Any, prefix: tuple[str | int, ...]) -> Iterable[tuple[str | int, ...]]:
    if isinstance(value, float) and not math.isfinite(value):
        yield prefix
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _nonfinite(v, (*prefix, str(k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _nonfinite(v, (*prefix, i))


def _semantic_errors(doc: dict[str, Any]) -> list[FieldError]:
    """Rules a JSON Schema cannot say: what ``combine`` and the factors refer to must exist."""
    errs: list[FieldError] = []
    crit: dict[str, Any] = doc["criteria"]
    families = set(crit.get("capabilities", {}).get("families", {}))
    has_scale = "training_compute" in crit or "parameter_count" in crit
    when = doc["combine"]["covered_when"]
    if "scale" in when and not has_scale:
        errs.append(
            FieldError(
                "combine.covered_when",
                f"{when!r} needs a scale criterion (training_compute or parameter_count)",
            )
        )
    if "capability" in when and not families:
        errs.append(FieldError("combine.covered_when", f"{when!r} needs criteria.capabilities.families"))
    for factor in ("dual_use", "national_security"):
        for i, fam in enumerate(crit.get(factor, {}).get("families", [])):
            if fam not in families:
                errs.append(
                    FieldError(
                        f"criteria.{factor}.families[{i}]",
                        f"family {fam!r} has no capability criterion in criteria.capabilities.families",
                    )
                )
    for i, name in enumerate(doc["combine"].get("require_factors", [])):
        if name not in crit:
            errs.append(FieldError(f"combine.require_factors[{i}]", f"criteria.{name} is not defined"))
    return errs


def commitment_of(document: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the RFC 8785 canonical JSON of a parsed policy document."""
    return hashlib.sha256(rfc8785.dumps(dict(document))).hexdigest()


@dataclass(frozen=True)
class Policy:
    """A parsed, validated policy document and its commitment."""

    document: dict[str, Any]
    commitment: str

    @property
    def version(self) -> str:
        return str(self.document["version"])

    @property
    def title(self) -> str:
        return str(self.document["title"])

    @property
    def confidential_thresholds(self) -> bool:
        return bool(self.document.get("confidential_thresholds", True))

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> Policy:
        """A policy from an already validated document (e.g. decrypted from storage)."""
        return cls(document=document, commitment=commitment_of(document))


def parse_policy(text: str) -> Policy:
    """Parse and validate a policy YAML document.

    Raises :class:`InvalidInput` naming every field at fault by its YAML path (e.g.
    ``criteria.capabilities.families.exploitation.lower_bound_at_least``) with its line.
    """
    if len(text.encode()) > MAX_POLICY_BYTES:
        raise InvalidInput.on("policy", f"larger than {MAX_POLICY_BYTES} bytes")
    try:
        node = yaml.compose(text, Loader=_Loader)
        doc = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InvalidInput.on("policy", f"{where}not valid YAML ({problem})") from exc
    if node is None or not isinstance(doc, dict):
        raise InvalidInput.on("policy", "the document must be a YAML mapping (schema, version, criteria...)")
    lines: dict[str, int] = {}
    errors: list[FieldError] = []
    _line_map(node, (), lines, errors)
    for bad in _nonfinite(doc, ()):
        errors.append(FieldError(_path(bad), f"line {lines.get(_path(bad), 0)}: must be a finite number"))

    validator = Draft202012Validator(policy_schema(), format_checker=FormatChecker())
    for err in sorted(validator.iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path]):
        where = _path(err.absolute_path)
        line = lines.get(where)
        errors.append(FieldError(where, f"line {line}: {err.message}" if line else err.message))
    if not errors:
        for e in _semantic_errors(doc):
            line = lines.get(e.field)
            errors.append(FieldError(e.field, f"line {line}: {e.message}" if line else e.message))
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise InvalidInput(f"policy is not valid: {first.field}: {first.message}{more}", errors=errors)
    return Policy.from_document(doc)


# --------------------------------------------------------------------------- summary


def combine_text(document: Mapping[str, Any]) -> str:
    """The combination rule of a policy in words."""
    comb = document["combine"]
    scale = f"{'at least one' if comb.get('scale', 'any') == 'any' else 'every'} scale criterion"
    cap = f"{'at least one' if comb.get('capability', 'any') == 'any' else 'every'} capability criterion"
    core = {
        "scale_and_capability": f"{scale} is met and {cap} is met",
        "scale_or_capability": f"{scale} is met or {cap} is met",
        "capability": f"{cap} is met",
        "scale": f"{scale} is met",
    }[comb["covered_when"]]
    factors = comb.get("require_factors", [])
    if factors:
        core += " and " + " and ".join(LABELS[f"factor.{f}"].lower() + " is met" for f in factors)
    return (
        f"Covered when {core}. Not covered when the evidence shows this cannot hold. "
        "Insufficient evidence otherwise (a criterion without enough samples or declarations "
        "could change the answer)."
    )


def public_summary(document: Mapping[str, Any]) -> dict[str, Any]:
    """The unclassified summary published for a policy version.

    It names every criterion and the combination rule. Thresholds appear only when the
    policy sets ``confidential_thresholds: false``; rationales never appear.
    """
    crit = document["criteria"]
    show = not bool(document.get("confidential_thresholds", True))
    items: list[dict[str, Any]] = []
    for cid, unit, what in (
        ("training_compute", "FLOP", "Declared training compute at or above a threshold"),
        ("parameter_count", "parameters", "Declared parameter count at or above a threshold"),
    ):
        if cid in crit:
            items.append(
                {
                    "id": cid,
                    "kind": "scale",
                    "label": LABELS[cid],
                    "description": f"{what} ({unit}).",
                    "threshold": crit[cid]["threshold"] if show else None,
                    "unit": unit,
                    "public_note": crit[cid].get("public_note"),
                }
            )
    for fam, spec in crit.get("capabilities", {}).get("families", {}).items():
        items.append(
            {
                "id": f"capability.{fam}",
                "kind": "capability",
                "label": LABELS[f"capability.{fam}"],
                "description": f"Success rate on the {fam} tasks of the cyber-core suite, judged on the lower "
                f"bound of its 95% confidence interval, with at least {spec['min_samples']} scored attempts.",
                "threshold": spec["lower_bound_at_least"] if show else None,
                "unit": "success rate (lower bound of the 95% interval)",
                "min_samples": spec["min_samples"],
                "public_note": spec.get("public_note"),
            }
        )
    for factor in ("dual_use", "national_security"):
        if factor in crit:
            fams = crit[factor]["families"]
            items.append(
                {
                    "id": f"factor.{factor}",
                    "kind": "factor",
                    "label": LABELS[f"factor.{factor}"],
                    "description": "Met when any capability criterion of these families is met: "
                    + ", ".join(fams)
                    + ".",
                    "families": list(fams),
                    "public_note": crit[factor].get("public_note"),
                }
            )
    return {
        "version": document["version"],
        "title": document["title"],
        "effective": document.get("effective"),
        "thresholds_published": show,
        "public_summary": document.get("public_summary"),
        "criteria": items,
        "combination": combine_text(document),
    }


# --------------------------------------------------------------------------- evidence and decision


@dataclass(frozen=True)
class FamilyEvidence:
    """One evaluation family's success rate with its 95% interval (from the capability profile)."""

    family: str
    successes: int
    n: int
    rate: float
    low: float
    high: float
    method: str


@dataclass(frozen=True)
class Evidence:
    """What a determination is decided on: declarations and measured capability."""

    training_compute_flop: float | None = None
    parameter_count: int | None = None
    families: Mapping[str, FamilyEvidence] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """No declaration and no measurement at all."""
        return self.training_compute_flop is None and self.parameter_count is None and not self.families


@dataclass(frozen=True)
class CriterionResult:
    """One criterion applied: measured value, interval, threshold, status and reason code."""

    id: str
    kind: str
    label: str
    status: Status
    reason: str
    threshold: float | None
    unit: str
    measured: float | None = None
    low: float | None = None
    high: float | None = None
    successes: int | None = None
    n: int | None = None
    min_samples: int | None = None
    method: str | None = None
    families: tuple[str, ...] = ()

    def as_dict(self, *, include_threshold: bool = True) -> dict[str, Any]:
        """JSON form; ``include_threshold=False`` leaves a confidential threshold out."""
        out: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "label": self.label,
            "status": self.status,
            "reason": self.reason,
            "reason_text": REASONS[self.reason],
            "unit": self.unit,
            "measured": self.measured,
            "low": self.low,
            "high": self.high,
            "successes": self.successes,
            "n": self.n,
            "min_samples": self.min_samples,
            "method": self.method,
            "threshold": self.threshold if include_threshold else None,
            "threshold_disclosed": include_threshold or self.threshold is None,
        }
        if self.families:
            out["families"] = list(self.families)
        return out


@dataclass(frozen=True)
class Outcome:
    """The result of applying a policy to evidence."""

    result: Result
    criteria: list[CriterionResult]
    groups: dict[str, Status]
    rule: str


def _k_and(values: Iterable[bool | None]) -> bool | None:
    vals = list(values)
    if any(v is False for v in vals):
        return False
    return True if all(v is True for v in vals) else None


def _k_or(values: Iterable[bool | None]) -> bool | None:
    vals = list(values)
    if any(v is True for v in vals):
        return True
    return False if all(v is False for v in vals) else None


def _truth(status: Status) -> bool | None:
    return {"met": True, "unmet": False, "unknown": None}[status]


def _status(value: bool | None) -> Status:
    return "unknown" if value is None else ("met" if value else "unmet")


def _scale(cid: str, spec: Mapping[str, Any], value: float | None, code: str, unit: str) -> CriterionResult:
    threshold = float(spec["threshold"])
    if value is None:
        return CriterionResult(cid, "scale", LABELS[cid], "unknown", f"{code}_NOT_DECLARED", threshold, unit)
    met = value >= threshold
    return CriterionResult(
        cid,
        "scale",
        LABELS[cid],
        "met" if met else "unmet",
        f"{code}_AT_OR_ABOVE_THRESHOLD" if met else f"{code}_BELOW_THRESHOLD",
        threshold,
        unit,
        measured=float(value),
    )


def _capability(fam: str, spec: Mapping[str, Any], ev: FamilyEvidence | None) -> CriterionResult:
    cid = f"capability.{fam}"
    threshold = float(spec["lower_bound_at_least"])
    min_n = int(spec["min_samples"])
    unit = "success rate"
    if ev is None or ev.n == 0:
        return CriterionResult(
            cid, "capability", LABELS[cid], "unknown", "NOT_EVALUATED", threshold, unit, min_samples=min_n
        )
    common: dict[str, Any] = {
        "measured": ev.rate,
        "low": ev.low,
        "high": ev.high,
        "successes": ev.successes,
        "n": ev.n,
        "min_samples": min_n,
        "method": ev.method,
    }
    if ev.n < min_n:
        return CriterionResult(
            cid, "capability", LABELS[cid], "unknown", "INSUFFICIENT_SAMPLES", threshold, unit, **common
        )
    if ev.low >= threshold:
        status: Status = "met"
        reason = "CAP_LOWER_BOUND_ABOVE_THRESHOLD"
    elif ev.high >= threshold:
        status, reason = "unmet", "CAP_INTERVAL_INCLUDES_THRESHOLD"
    else:
        status, reason = "unmet", "CAP_BELOW_THRESHOLD"
    return CriterionResult(cid, "capability", LABELS[cid], status, reason, threshold, unit, **common)


def evaluate(policy: Policy, evidence: Evidence) -> Outcome:
    """Apply ``policy`` to ``evidence`` (see the module docstring for the rule)."""
    doc = policy.document
    crit = doc["criteria"]
    comb = doc["combine"]
    results: list[CriterionResult] = []
    scale: list[CriterionResult] = []
    if "training_compute" in crit:
        scale.append(
            _scale(
                "training_compute",
                crit["training_compute"],
                evidence.training_compute_flop,
                "COMPUTE",
                "FLOP",
            )
        )
    if "parameter_count" in crit:
        pc = evidence.parameter_count
        scale.append(
            _scale(
                "parameter_count",
                crit["parameter_count"],
                None if pc is None else float(pc),
                "PARAMS",
                "parameters",
            )
        )
    caps = {
        fam: _capability(fam, spec, evidence.families.get(fam))
        for fam, spec in crit.get("capabilities", {}).get("families", {}).items()
    }
    results.extend(scale)
    results.extend(caps.values())
    factors: dict[str, bool | None] = {}
    for factor in ("dual_use", "national_security"):
        if factor not in crit:
            continue
        fams = tuple(crit[factor]["families"])
        value = _k_or(_truth(caps[f].status) for f in fams)
        factors[factor] = value
        reason = {True: "FACTOR_MET", False: "FACTOR_NOT_MET", None: "FACTOR_UNKNOWN"}[value]
        cid = f"factor.{factor}"
        results.append(
            CriterionResult(cid, "factor", LABELS[cid], _status(value), reason, None, "", families=fams)
        )

    def group(items: list[CriterionResult], how: str) -> bool | None:
        if not items:
            return None
        combine = _k_or if how == "any" else _k_and
        return combine(_truth(c.status) for c in items)

    scale_v = group(scale, comb.get("scale", "any"))
    cap_v = group(list(caps.values()), comb.get("capability", "any"))
    when = comb["covered_when"]
    if when == "scale_and_capability":
        core = _k_and([scale_v, cap_v])
    elif when == "scale_or_capability":
        core = _k_or([scale_v, cap_v])
    elif when == "capability":
        core = cap_v
    else:
        core = scale_v
    covered = _k_and([core, *(factors.get(f) for f in comb.get("require_factors", []))])
    result: Result = "insufficient_evidence" if covered is None else ("covered" if covered else "not_covered")
    groups: dict[str, Status] = {}
    if scale:
        groups["scale"] = _status(scale_v)
    if caps:
        groups["capability"] = _status(cap_v)
    return Outcome(result=result, criteria=results, groups=groups, rule=combine_text(doc))
