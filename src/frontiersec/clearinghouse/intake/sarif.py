"""SARIF 2.1.0 intake, streamed in flat memory.

Two passes over the (re-openable) source, so that the order of keys in the file never matters
(real tools write ``versionControlProvenance`` or ``artifacts`` after ``results``):

1. walk the log and keep everything *except* ``runs[*].results`` (the log header and each run's
   tool, rules, artifacts, ``originalUriBaseIds``, ``versionControlProvenance``...), counting
   the results of each run;
2. walk again and yield each result, normalized with its run's context.

The walk (:class:`_Cursor`) reads the top two levels of the log character by character and
decodes every member value and every result whole with the standard library's C JSON scanner,
from a sliding buffer: one C-level decode per result and no Python code per JSON event, which
makes it several times faster than an event-driven parser on results of a few kilobytes.

The log header and each run header are validated against the official schema
(``#/definitions/run``); results against ``#/definitions/result``: all of them in small files,
and past :attr:`IntakeLimits.schema_results_full` a sample (the first results of each run, then
one in :attr:`IntakeLimits.schema_sample_every`), because validating a result with jsonschema
costs about a millisecond; the import's warnings then say how many were checked. Schema errors
become warnings; only an unusable file raises :class:`IntakeError`.
"""

import codecs
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from json.scanner import make_scanner
from typing import Any, NoReturn

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
from .source import CountingReader, Source

__all__ = ["parse_sarif"]

SUPPORTED_VERSION = "2.1.0"
_LEVELS = {"error": Severity.HIGH, "warning": Severity.MEDIUM, "note": Severity.LOW, "none": Severity.INFO}
_MODEL_ID_KEYS = ("model_id", "modelId", "model", "modelName", "model_name", "ai_model", "aiModel")
_MODEL_VERSION_KEYS = ("model_version", "modelVersion", "model_revision", "modelRevision")
_ARG_RE = re.compile(r"\{(\d+)\}")
_WS = re.compile(r"[ \t\n\r]*")
_READ = 1 << 20
_BOM = b"\xef\xbb\xbf"


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


class _Cursor:
    """A forward-only reader of JSON text: structural characters one by one, values whole.

    Values are decoded by the standard library's C scanner (``json.scanner``) straight from a
    sliding text buffer, so a SARIF result costs one C-level decode and no Python per JSON event.
    The buffer holds the unconsumed tail of the last chunk plus at most one value, bounded by
    ``max_value`` characters.
    """

    def __init__(self, reader: CountingReader, max_value: int) -> None:
        self.reader = reader
        self.decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self.buf = ""
        self.pos = 0
        self.base = 0  # bytes before buf[0]
        self.eof = False
        self.max_value = max_value
        self._scan = make_scanner(json.JSONDecoder())  # type: ignore[arg-type]

    def byte_offset(self) -> int:
        """Byte offset of the cursor in the decompressed stream."""
        head = self.buf[: self.pos]
        return self.base + (len(head) if head.isascii() else len(head.encode("utf-8", "surrogatepass")))

    def _more(self) -> bool:
        if self.eof:
            return False
        if self.pos:
            self.base = self.byte_offset()
            self.buf = self.buf[self.pos :]
            self.pos = 0
        data = self.reader.read(_READ)
        try:
            if data and self.buf == "" and self.base == 0 and data.startswith(_BOM):
                data = data[3:]
            self.buf += self.decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            raise IntakeError(f"$ (byte {self.reader.count})", f"not UTF-8 text: {exc.reason}") from None
        if not data:
            self.eof = True
        return True

    def peek(self) -> str:
        """The next non-whitespace character, without consuming it (``""`` at the end)."""
        while True:
            self.pos = _WS.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._more():
                return ""

    def take(self, expected: str, where: str) -> None:
        """Consume ``expected`` (one structural character) or fail naming ``where``."""
        got = self.peek()
        if got != expected:
            self.fail(where, f"expected {expected!r}, found {got or 'end of file'!r}")
        self.pos += 1

    def fail(self, where: str, what: str) -> NoReturn:
        """Raise :class:`IntakeError` for a syntax problem at the cursor."""
        if self.eof and self.pos >= len(self.buf):
            raise IntakeError(
                f"{where} (byte {self.reader.count})",
                f"truncated or invalid JSON at byte {self.reader.count}: {what}",
            )
        offset = self.byte_offset()
        raise IntakeError(f"{where} (byte {offset})", f"invalid JSON at byte {offset}: {what}")

    def value(self, where: str) -> Any:
        """Decode the next whole JSON value."""
        if self.peek() == "":
            self.fail(where, "premature end of file")
        while True:
            try:
                obj, end = self._scan(self.buf, self.pos)
            except StopIteration as stop:
                # no value where one must start (its index is the argument): when that is at the
                # end of the buffer, the chunk cut a value short
                at = stop.value if isinstance(stop.value, int) else self.pos
                if at >= len(self.buf) - 64 and self._more():
                    continue
                self.pos = max(self.pos, min(at, len(self.buf)))
                self.fail(where, "expecting a JSON value")
            except json.JSONDecodeError as exc:
                truncated = exc.pos >= len(self.buf) - 8 or exc.msg.startswith("Unterminated string")
                if not truncated:
                    self.pos = exc.pos
                    self.fail(where, exc.msg)
                if len(self.buf) - self.pos > self.max_value:
                    self.fail(where, f"a single value is larger than {self.max_value} characters")
                if self._more():
                    continue
                self.pos = len(self.buf)
                self.fail(where, f"premature EOF ({exc.msg})")
            if end >= len(self.buf) and not self.eof:
                # a number at the very end of the buffer may continue in the next chunk
                self._more()
                continue
            self.pos = end
            return obj

    def members(self, where: str) -> Iterator[str]:
        """Iterate the keys of an object; the caller consumes each member's value."""
        self.take("{", where)
        if self.peek() == "}":
            self.pos += 1
            return
        while True:
            key = self.value(where)
            if not isinstance(key, str):
                self.fail(where, "object keys must be strings")
            self.take(":", where)
            yield key
            nxt = self.peek()
            self.pos += 1
            if nxt == "}":
                return
            if nxt != ",":
                self.pos -= 1
                self.fail(where, f"expected ',' or '}}', found {nxt or 'end of file'!r}")

    def items(self, where: str) -> Iterator[int]:
        """Iterate the indexes of an array; the caller consumes each item."""
        self.take("[", where)
        if self.peek() == "]":
            self.pos += 1
            return
        index = 0
        while True:
            yield index
            index += 1
            nxt = self.peek()
            self.pos += 1
            if nxt == "]":
                return
            if nxt != ",":
                self.pos -= 1
                self.fail(where, f"expected ',' or ']', found {nxt or 'end of file'!r}")


def _walk(source: Source, results: bool) -> Iterator[tuple[str, int, Any, Any]]:
    """Walk a SARIF log: ``("log", -1, key, value)``, ``("run", i, None, None)``,
    ``("header", i, key, value)`` (only when ``results`` is false) and ``("result", i, j, value)``
    (only when ``results`` is true; otherwise results are decoded and dropped)."""
    reader: CountingReader = source.open()
    with reader:
        cur = _Cursor(reader, source.limits.max_document_bytes)
        if cur.peek() != "{":
            if cur.peek() == "":
                raise IntakeError("$", "empty document (no JSON value)")
            raise IntakeError("$", "a SARIF log must be a JSON object")
        for key in cur.members("$"):
            if key != "runs":
                value = cur.value(child("$", key))
                if not results:
                    yield "log", -1, key, value
                continue
            kind = cur.peek()
            if kind == "n":
                cur.value("$.runs")
                continue
            if kind != "[":
                raise IntakeError("$.runs", "runs must be an array")
            yield "log", -1, "runs", None
            for i in cur.items("$.runs"):
                where = f"$.runs[{i}]"
                if cur.peek() != "{":
                    raise IntakeError(where, "a run must be an object")
                yield "run", i, None, None
                for rkey in cur.members(where):
                    if rkey != "results":
                        value = cur.value(child(where, rkey))
                        if not results:
                            yield "header", i, rkey, value
                        continue
                    if cur.peek() == "n":
                        cur.value(f"{where}.results")
                        continue
                    if cur.peek() != "[":
                        raise IntakeError(f"{where}.results", "results must be an array")
                    for j in cur.items(f"{where}.results"):
                        value = cur.value(f"{where}.results[{j}]")
                        yield "result", i, j, (value if results else None)
        if cur.peek() != "":
            cur.fail("$", "extra data after the SARIF log")


def _read_headers(source: Source) -> tuple[dict[str, Any], list[_Run]]:
    """Pass 1: the log's top-level members (except runs) and every run's members except results."""
    log: dict[str, Any] = {}
    runs: list[_Run] = []
    tools: dict[str, Any] = {}
    saw_runs = False
    for kind, index, key, value in _walk(source, results=False):
        if kind == "log":
            if key == "runs":
                saw_runs = True
            else:
                log[key] = value
        elif kind == "run":
            runs.append(_Run())
        elif kind == "header":
            if key == "tool" and isinstance(value, dict):
                # many runs of one tool repeat the same driver and rule table: keep one copy, so
                # memory grows with the distinct tools, not with the number of runs
                digest = hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()
                value = tools.setdefault(digest, value)
            runs[index].header[key] = value
        else:
            runs[index].results += 1
    if not saw_runs:
        raise IntakeError("$.runs", "SARIF log has no runs member")
    return log, runs


@dataclass(frozen=True, slots=True)
class _RuleFacts:
    """What a rule contributes to each of its results, computed once per rule and run."""

    cwe_values: list[object]
    cvss: list[str]


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
    rule_facts: dict[int, _RuleFacts] = field(default_factory=dict)


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


def _cwe_values(holder: Mapping[str, Any], taxa: list[Any]) -> list[object]:
    values: list[object] = []
    props = _obj(holder.get("properties"))
    if props:
        values.extend(_list(props.get("tags")))
        for key in ("cwe", "cwes", "CWE", "cwe_ids"):
            raw = props.get(key)
            values.extend(raw if isinstance(raw, list) else [raw])
    for taxon in taxa:
        taxon_obj = _obj(taxon)
        comp = _obj(taxon_obj.get("toolComponent"))
        if str(comp.get("name", "")).upper() == "CWE" and taxon_obj.get("id") is not None:
            values.append(f"CWE-{taxon_obj['id']}")
    return values


def _cvss_values(props: Mapping[str, Any]) -> list[str]:
    vectors: list[str] = []
    for value in props.values():
        if isinstance(value, str) and value.startswith("CVSS:"):
            parsed = parse_cvss(value)
            if parsed:
                vectors.append(parsed[0])
    return vectors


def _rule_facts(rule: Mapping[str, Any], run: _RunContext) -> _RuleFacts:
    # rules of the run header live as long as the run, so their id() is a stable cache key;
    # the empty stand-in for an unknown rule is not cached
    key = id(rule)
    facts = run.rule_facts.get(key) if rule else None
    if facts is None:
        relationships = [_obj(r).get("target") for r in _list(rule.get("relationships"))]
        facts = _RuleFacts(_cwe_values(rule, relationships), _cvss_values(_obj(rule.get("properties"))))
        if rule:
            run.rule_facts[key] = facts
    return facts


def _cwes(result: Mapping[str, Any], facts: _RuleFacts) -> tuple[str, ...]:
    taxa = _list(result.get("taxa"))
    if "properties" not in result and not taxa:
        return normalize_cwe(facts.cwe_values)
    return normalize_cwe([*facts.cwe_values, *_cwe_values(result, taxa)])


def _cvss(result: Mapping[str, Any], facts: _RuleFacts) -> tuple[str, ...]:
    props = _obj(result.get("properties"))
    if not props:
        return dedupe(facts.cvss)
    return dedupe([*_cvss_values(props), *facts.cvss])


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
    facts = _rule_facts(rule, run)
    result_props = _obj(result.get("properties"))
    result_model = _model(result_props) if result_props else (None, None)
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
        cwe_ids=_cwes(result, facts),
        target_repo=run.repo,
        target_commit=run.commit,
        path=path,
        start_line=start,
        end_line=end,
        snippet=snippet,
        aliases=(rule_id.upper(),) if rule_id and is_vuln_id(rule_id) else (),
        cvss_vectors=_cvss(result, facts),
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

    # pass 2: results, decoded one at a time by the C scanner
    limits = ctx.limits
    checked = 0
    for kind, run_index, result_index, result in _walk(source, results=True):
        if kind != "result":
            continue
        pointer = f"$.runs[{run_index}].results[{result_index}]"
        ctx.received += 1
        if schemas is not None and (
            ctx.received <= limits.schema_results_full
            or result_index < limits.schema_results_per_run
            or ctx.received % limits.schema_sample_every == 0
        ):
            checked += 1
            report_errors(schemas.sarif_result, result, pointer, ctx, "SARIF schema")
        finding = _finding(result, pointer, contexts[run_index], ctx)
        if finding is not None:
            yield finding
    if schemas is not None and checked < ctx.received:
        ctx.warn(
            "$.runs",
            f"SARIF schema: {checked} of {ctx.received} results checked (the first "
            f"{limits.schema_results_full}, the first {limits.schema_results_per_run} of each run, "
            f"then one in {limits.schema_sample_every})",
        )
