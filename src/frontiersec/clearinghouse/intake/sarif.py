"""SARIF 2.1.0 intake, streamed with ijson in flat memory.

Two passes over the (re-openable) source, so that the order of keys in the file never matters:

1. walk the JSON events and build everything *except* ``runs[*].results`` (the log header and
   each run's tool, rules, artifacts, ``originalUriBaseIds``, ``versionControlProvenance``...),
   only counting the results of each run;
2. let ijson's C backend build ``runs.item.results.item`` one result at a time, and attribute
   each to its run by the counts of pass 1.

The log header, each run header (without results) and each result are validated separately
against the official schema (``#/definitions/run`` and ``#/definitions/result``), so validation
streams too. Schema errors become warnings; only an unusable file raises :class:`IntakeError`.
"""

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import ijson

from .base import (
    IntakeError,
    NormalizedFinding,
    ParseContext,
    Severity,
    child,
    dedupe,
    is_vuln_id,
    location_fingerprint,
    normalize_cwe,
    normalize_path,
    parse_cvss,
    parse_datetime,
)
from .base import (
    as_list as _list,
)
from .base import (
    as_obj as _obj,
)
from .base import (
    as_str as _str,
)
from .schemas import SchemaSet, report_errors
from .source import CountingReader, Source, json_error

__all__ = ["parse_sarif"]

SUPPORTED_VERSION = "2.1.0"
_LEVELS = {"error": Severity.HIGH, "warning": Severity.MEDIUM, "note": Severity.LOW, "none": Severity.INFO}
_MODEL_ID_KEYS = ("model_id", "modelId", "model", "modelName", "model_name", "ai_model", "aiModel")
_MODEL_VERSION_KEYS = ("model_version", "modelVersion", "model_revision", "modelRevision")
_ARG_RE = re.compile(r"\{(\d+)\}")


@dataclass(slots=True)
class _Run:
    header: dict[str, Any] = field(default_factory=dict)
    results: int = 0


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _read_headers(source: Source) -> tuple[dict[str, Any], list[_Run]]:
    """Pass 1: the log's top-level members (except runs) and every run's members except results."""
    log: dict[str, Any] = {}
    runs: list[_Run] = []
    builder: ijson.ObjectBuilder | None = None
    target: tuple[dict[str, Any], str] | None = None
    depth = 0
    saw_runs = False
    reader: CountingReader = source.open()
    last_prefix = ""
    with reader:
        try:
            for prefix, event, value in ijson.parse(reader, use_float=True):
                last_prefix = prefix
                if builder is not None and target is not None:
                    builder.event(event, value)
                    if event in ("start_map", "start_array"):
                        depth += 1
                    elif event in ("end_map", "end_array"):
                        depth -= 1
                    if depth == 0:
                        target[0][target[1]] = builder.value
                        builder, target = None, None
                    continue
                if event == "map_key":
                    if prefix == "":
                        if value == "runs":
                            saw_runs = True
                        else:
                            builder, target, depth = ijson.ObjectBuilder(), (log, str(value)), 0
                    elif prefix == "runs.item" and runs and value != "results":
                        builder, target, depth = ijson.ObjectBuilder(), (runs[-1].header, str(value)), 0
                elif prefix == "runs.item" and event == "start_map":
                    runs.append(_Run())
                elif prefix == "runs.item.results.item" and event not in ("end_map", "end_array"):
                    runs[-1].results += 1
                elif prefix == "" and event != "start_map" and event != "end_map":
                    raise IntakeError("$", "a SARIF log must be a JSON object")
                elif prefix == "runs" and event not in ("start_array", "end_array", "null"):
                    raise IntakeError("$.runs", f"runs must be an array, got {event}")
                elif prefix == "runs.item" and event not in ("start_map", "end_map"):
                    raise IntakeError(f"$.runs[{len(runs)}]", "a run must be an object")
        except ijson.JSONError as exc:
            raise json_error(exc, reader, _prefix_path(last_prefix)) from None
        except UnicodeDecodeError as exc:
            raise IntakeError(f"$ (byte {reader.count})", f"not UTF-8 text: {exc.reason}") from None
    if not saw_runs:
        raise IntakeError("$.runs", "SARIF log has no runs member")
    return log, runs


def _prefix_path(prefix: str) -> str:
    """Render an ijson prefix (``runs.item.results.item``) as a JSON path (``$.runs[*].results[*]``)."""
    out = "$"
    for part in prefix.split(".") if prefix else []:
        out += "[*]" if part == "item" else f".{part}"
    return out


@dataclass(slots=True)
class _RunContext:
    index: int
    tool_name: str | None
    tool_version: str | None
    model_id: str | None
    model_version: str | None
    components: list[Mapping[str, Any]]
    rules_by_id: list[dict[str, Mapping[str, Any]]]
    bases: tuple[str, ...]
    artifacts: list[Any]
    repo: str | None
    commit: str | None
    published: Any


def _model(props: Mapping[str, Any]) -> tuple[str | None, str | None]:
    model_id: str | None = None
    version: str | None = None
    for key in _MODEL_ID_KEYS:
        value = props.get(key)
        if isinstance(value, Mapping):
            model_id = _str(value.get("id")) or _str(value.get("name"))
            version = _str(value.get("version"))
        elif _str(value):
            model_id = str(value)
        if model_id:
            break
    for key in _MODEL_VERSION_KEYS:
        if _str(props.get(key)):
            version = str(props[key])
            break
    return model_id, version


def _run_context(index: int, header: Mapping[str, Any], ctx: ParseContext) -> _RunContext:
    pointer = f"$.runs[{index}]"
    tool = _obj(header.get("tool"))
    driver = _obj(tool.get("driver"))
    if not driver:
        ctx.warn(child(pointer, "tool"), "run has no tool.driver; tool name unknown")
    components: list[Mapping[str, Any]] = [driver, *[_obj(e) for e in _list(tool.get("extensions"))]]
    rules_by_id: list[dict[str, Mapping[str, Any]]] = []
    for component in components:
        table: dict[str, Mapping[str, Any]] = {}
        for rule in _list(component.get("rules")):
            rule_obj = _obj(rule)
            rid = _str(rule_obj.get("id"))
            if rid and rid not in table:
                table[rid] = rule_obj
        rules_by_id.append(table)
    model_id, model_version = _model(_obj(driver.get("properties")))
    run_model = _model(_obj(header.get("properties")))
    model_id = model_id or run_model[0] or ctx.options.model_id
    model_version = model_version or run_model[1] or ctx.options.model_version

    bases: list[str] = []
    for base in _obj(header.get("originalUriBaseIds")).values():
        uri = _str(_obj(base).get("uri"))
        if uri:
            norm = normalize_path(uri)
            bases.append(norm if norm.endswith("/") else norm + "/")
    vcp = (
        _obj(_list(header.get("versionControlProvenance"))[0])
        if _list(header.get("versionControlProvenance"))
        else {}
    )
    invocation = _obj(_list(header.get("invocations"))[0]) if _list(header.get("invocations")) else {}
    published = parse_datetime(invocation.get("endTimeUtc")) or parse_datetime(invocation.get("startTimeUtc"))
    return _RunContext(
        index=index,
        tool_name=_str(driver.get("name")) or ctx.options.tool_name,
        tool_version=_str(driver.get("version")) or _str(driver.get("semanticVersion")),
        model_id=model_id,
        model_version=model_version,
        components=components,
        rules_by_id=rules_by_id,
        bases=tuple(bases),
        artifacts=_list(header.get("artifacts")),
        repo=_str(vcp.get("repositoryUri")),
        commit=_str(vcp.get("revisionId")),
        published=published,
    )


def _find_rule(result: Mapping[str, Any], run: _RunContext) -> Mapping[str, Any]:
    ref = _obj(result.get("rule"))
    comp_index = _int(_obj(ref.get("toolComponent")).get("index"))
    component = comp_index + 1 if comp_index is not None and comp_index + 1 < len(run.components) else 0
    rule_index = _int(result.get("ruleIndex"))
    if rule_index is None:
        rule_index = _int(ref.get("index"))
    rules = _list(run.components[component].get("rules"))
    if rule_index is not None and 0 <= rule_index < len(rules):
        return _obj(rules[rule_index])
    rule_id = _str(result.get("ruleId")) or _str(ref.get("id"))
    if rule_id:
        for table in [run.rules_by_id[component], *run.rules_by_id]:
            if rule_id in table:
                return table[rule_id]
        # hierarchical ids ("CA2101/1") fall back to their parent rule
        parent = rule_id.split("/")[0]
        for table in run.rules_by_id:
            if parent in table:
                return table[parent]
    return {}


def _message(result: Mapping[str, Any], rule: Mapping[str, Any]) -> str | None:
    message = _obj(result.get("message"))
    text = _str(message.get("text")) or _str(message.get("markdown"))
    if text is None and _str(message.get("id")):
        template = _obj(_obj(rule.get("messageStrings")).get(message["id"]))
        text = _str(template.get("text"))
    if text is None:
        return None
    args = [str(a) for a in _list(message.get("arguments"))]
    if args:
        text = _ARG_RE.sub(
            lambda m: args[int(m.group(1))] if int(m.group(1)) < len(args) else m.group(0), text
        )
    return text


def _severity(
    result: Mapping[str, Any], rule: Mapping[str, Any], pointer: str, ctx: ParseContext
) -> Severity:
    for props in (_obj(result.get("properties")), _obj(rule.get("properties"))):
        raw = props.get("security-severity")
        if raw is not None:
            try:
                return Severity.from_score(float(raw))
            except (TypeError, ValueError):
                ctx.warn(child(pointer, "properties"), f"security-severity {raw!r} is not a number")
    kind = _str(result.get("kind"))
    if kind is not None and kind not in ("fail", "open", "review"):
        return Severity.INFO
    level = (
        _str(result.get("level")) or _str(_obj(rule.get("defaultConfiguration")).get("level")) or "warning"
    )
    return _LEVELS.get(level, Severity.UNKNOWN)


def _cwes(result: Mapping[str, Any], rule: Mapping[str, Any]) -> tuple[str, ...]:
    values: list[object] = []
    for props in (_obj(rule.get("properties")), _obj(result.get("properties"))):
        values.extend(_list(props.get("tags")))
        for key in ("cwe", "cwes", "CWE", "cwe_ids"):
            raw = props.get(key)
            values.extend(raw if isinstance(raw, list) else [raw])
    for taxon in [
        *_list(result.get("taxa")),
        *[_obj(r).get("target") for r in _list(rule.get("relationships"))],
    ]:
        taxon_obj = _obj(taxon)
        comp = _obj(taxon_obj.get("toolComponent"))
        if str(comp.get("name", "")).upper() == "CWE" and taxon_obj.get("id") is not None:
            values.append(f"CWE-{taxon_obj['id']}")
    return normalize_cwe(values)


def _cvss(result: Mapping[str, Any], rule: Mapping[str, Any]) -> tuple[str, ...]:
    vectors: list[str] = []
    for props in (_obj(result.get("properties")), _obj(rule.get("properties"))):
        for value in props.values():
            if isinstance(value, str) and value.startswith("CVSS:"):
                parsed = parse_cvss(value)
                if parsed:
                    vectors.append(parsed[0])
    return dedupe(vectors)


def _location(
    result: Mapping[str, Any], run: _RunContext
) -> tuple[str | None, int | None, int | None, str | None]:
    locations = _list(result.get("locations"))
    physical = _obj(_obj(locations[0]).get("physicalLocation")) if locations else {}
    artifact = _obj(physical.get("artifactLocation"))
    uri = _str(artifact.get("uri"))
    index = _int(artifact.get("index"))
    if uri is None and index is not None and 0 <= index < len(run.artifacts):
        uri = _str(_obj(_obj(run.artifacts[index]).get("location")).get("uri"))
    path = normalize_path(uri, run.bases) if uri else None
    region = _obj(physical.get("region"))
    start = _int(region.get("startLine"))
    end = _int(region.get("endLine")) or start
    snippet = _str(_obj(region.get("snippet")).get("text")) or _str(
        _obj(_obj(physical.get("contextRegion")).get("snippet")).get("text")
    )
    return path, start, end, snippet


def _finding(result: Any, pointer: str, run: _RunContext, ctx: ParseContext) -> NormalizedFinding | None:
    if not isinstance(result, Mapping):
        ctx.reject(pointer, "a result must be an object")
        return None
    rule = _find_rule(result, run)
    rule_id = _str(result.get("ruleId")) or _str(_obj(result.get("rule")).get("id")) or _str(rule.get("id"))
    message = _message(result, rule)
    title = (
        _str(_obj(rule.get("shortDescription")).get("text"))
        or _str(rule.get("name"))
        or rule_id
        or (message.splitlines()[0][:200] if message else None)
    )
    if rule_id is None and message is None:
        ctx.reject(pointer, "result has neither a rule nor a message")
        return None
    path, start, end, snippet = _location(result, run)
    partial = _obj(result.get("partialFingerprints")) or _obj(result.get("fingerprints"))
    if partial:
        fingerprint = location_fingerprint(rule_id, path, None, None, {str(k): v for k, v in partial.items()})
    else:
        fingerprint = location_fingerprint(rule_id, path, start, snippet)
    result_model = _model(_obj(result.get("properties")))
    suppressions = [_obj(s) for s in _list(result.get("suppressions"))]
    suppressed = any(s.get("status", "accepted") == "accepted" for s in suppressions)
    return NormalizedFinding(
        source_format="sarif",
        fingerprint=fingerprint,
        source_pointer=pointer,
        tool_name=run.tool_name,
        tool_version=run.tool_version,
        model_id=result_model[0] or run.model_id,
        model_version=result_model[1] or run.model_version,
        rule_id=rule_id,
        title=title,
        message=message,
        severity=_severity(result, rule, pointer, ctx),
        cwe_ids=_cwes(result, rule),
        target_repo=run.repo,
        target_commit=run.commit,
        path=path,
        start_line=start,
        end_line=end,
        snippet=snippet,
        aliases=(rule_id.upper(),) if rule_id and is_vuln_id(rule_id) else (),
        cvss_vectors=_cvss(result, rule),
        published=run.published,
        status="suppressed" if suppressed else None,
    )


def parse_sarif(source: Source, ctx: ParseContext) -> Iterator[NormalizedFinding]:
    """Stream normalized findings out of a SARIF 2.1.0 log (two passes, flat memory)."""
    schemas: SchemaSet | None = ctx.schemas
    log, runs = _read_headers(source)
    version = log.get("version")
    if version != SUPPORTED_VERSION:
        raise IntakeError(
            "$.version", f"SARIF version {version!r} is not supported (only {SUPPORTED_VERSION})"
        )
    if schemas is not None:
        report_errors(schemas.sarif_log, {**log, "runs": []}, "$", ctx, "SARIF schema")
    contexts: list[_RunContext] = []
    for index, run in enumerate(runs):
        pointer = f"$.runs[{index}]"
        if schemas is not None:
            report_errors(schemas.sarif_run, run.header, pointer, ctx, "SARIF schema")
        contexts.append(_run_context(index, run.header, ctx))
    if not any(run.results for run in runs):
        return

    # pass 2: results, built one at a time by the C backend; attributed to runs by count
    plan = iter([(i, n) for i, run in enumerate(runs) for n in range(run.results)])
    reader = source.open()
    with reader:
        try:
            for result in ijson.items(reader, "runs.item.results.item", use_float=True):
                run_index, result_index = next(plan)
                pointer = f"$.runs[{run_index}].results[{result_index}]"
                ctx.received += 1
                if schemas is not None:
                    report_errors(schemas.sarif_result, result, pointer, ctx, "SARIF schema")
                finding = _finding(result, pointer, contexts[run_index], ctx)
                if finding is not None:
                    yield finding
        except ijson.JSONError as exc:
            raise json_error(exc, reader, "$.runs") from None
        except StopIteration:
            raise IntakeError("$.runs", "file changed between the two passes") from None
