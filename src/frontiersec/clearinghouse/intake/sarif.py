"""SARIF 2.1.0 intake, streamed in flat memory.

Two passes over the (re-openable) source, so that the order of keys in the file never matters
(real tools write ``versionControlProvenance`` or ``artifacts`` after ``results``):

1. walk the log and keep everything *except* ``runs[*].results`` (the log header and each run's
   tool, rules, artifacts, ``originalUriBaseIds``, ``versionControlProvenance``...), counting
   the results of each run;
2. walk again and yield each result, normalized with its run's context.

The walk (:class:`_Cursor`) reads the top two levels of the log character by character and
decodes every member value whole with the standard library's C JSON scanner, from a sliding
buffer. Result arrays are read in blocks of about 256 KB: ``msgspec`` splits a block into raw
items (a C-level scan that builds no objects), which is all pass 1 needs (it only counts results),
and pass 2 decodes each item once with ``msgspec``. A block ends just after a ``}`` that is
followed by ``,`` and the first key of the array's first item; a block that does not parse as
whole items (a wrong cut, or a value msgspec refuses such as ``NaN``) falls back to the standard
library's scanner item by item, which also gives the precise error for a broken file. So each
result is decoded once, by one C call, and no Python code runs per JSON event.

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

import msgspec

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
_BLOCK = 1 << 18
"""Characters of a result array split and decoded with msgspec at once."""
_SLOW_AFTER_MISS = 64
"""Items read one by one after a block that did not parse, before a block is tried again."""
_RAW_ITEMS = msgspec.json.Decoder(list[msgspec.Raw])
_DECODE = msgspec.json.Decoder()
_MISS: list[Any] = []
"""What :meth:`_Cursor._block` returns for a block that does not parse (compared by identity)."""
_TRAILING = re.compile(r"trailing characters \(byte (\d+)\)")
_FIRST_KEY = re.compile(r'\{\s*("(?:[^"\\]|\\.)*")')


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

    def array(self, where: str, decode: bool = True) -> Iterator[tuple[int, Any]]:
        """Iterate ``(index, value)`` over the array at the cursor (values ``None`` unless ``decode``).

        Runs of object items are cut into blocks of about :data:`_BLOCK` characters, split into raw
        items by msgspec and (with ``decode``) decoded one by one by msgspec; whatever a block cannot
        handle is read item by item with :meth:`value` (see the module docstring).
        """
        self.take("[", where)
        if self.peek() == "]":
            self.pos += 1
            return
        index = 0
        cut: re.Pattern[str] | None = None
        slow = 0
        while True:
            block: list[Any] | None = None
            if slow:
                slow -= 1
            elif self.peek() == "{":
                if cut is None:
                    first = _FIRST_KEY.match(self.buf, self.pos)
                    if first is not None:
                        cut = re.compile(r"\}(?=\s*,\s*\{\s*" + re.escape(first.group(1)) + ")")
                if cut is not None:
                    block = self._block(cut, decode)
                    if block is _MISS:
                        block, slow = None, _SLOW_AFTER_MISS
            if block is not None:
                for value in block:
                    yield index, value
                    index += 1
            else:
                value = self.value(f"{where}[{index}]")
                yield index, value if decode else None
                index += 1
            nxt = self.peek()
            self.pos += 1
            if nxt == "]":
                return
            if nxt != ",":
                self.pos -= 1
                self.fail(where, f"expected ',' or ']', found {nxt or 'end of file'!r}")

    def _block(self, cut: "re.Pattern[str]", decode: bool) -> list[Any] | None:
        """Items from the cursor up to a cut in the buffer; ``None`` when the buffer holds no cut,
        :data:`_MISS` when the block does not parse (the cursor is then unchanged)."""
        buf, pos = self.buf, self.pos
        end = -1
        if len(buf) > pos + _BLOCK:
            found = cut.search(buf, pos + _BLOCK)
            if found is not None:
                end = found.start() + 1
        if end < 0:
            for found in cut.finditer(buf, pos + 1):
                end = found.start() + 1
        if end < 0:
            return None
        text = "[" + buf[pos:end] + "]"
        try:
            try:
                raws = _RAW_ITEMS.decode(text)
            except msgspec.DecodeError as exc:
                # the cut lies past the end of this array (the next array's items start alike):
                # the array closed at the byte before the trailing characters; take the items
                # before it and leave the cursor on its "]"
                trailing = _TRAILING.search(str(exc))
                if trailing is None:
                    return _MISS
                data = text.encode("utf-8", "surrogatepass")
                # msgspec names the byte just after the first trailing character
                close = len(data[: int(trailing.group(1)) - 1].rstrip(b" \t\r\n")) - 1
                if not 0 < close < len(data) or data[close : close + 1] != b"]":
                    return _MISS
                raws = _RAW_ITEMS.decode(data[: close + 1])
                end = pos + len(data[1:close].decode("utf-8", "surrogatepass"))
            items: list[Any] = [_DECODE.decode(raw) for raw in raws] if decode else [None] * len(raws)
        except (msgspec.DecodeError, RecursionError, OverflowError, ValueError):
            return _MISS
        if not items:
            return _MISS
        self.pos = end
        return items

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
                    for j, value in cur.array(f"{where}.results", decode=results):
                        yield "result", i, j, value
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
    cwes: tuple[str, ...] = ()
    """``normalize_cwe(cwe_values)``: the CWEs of a result that adds none of its own."""
    cvss_vectors: tuple[str, ...] = ()
    """``dedupe(cvss)``: the CVSS vectors of a result without properties."""
    rule_id: str | None = None
    title: str | None = None
    """The rule's short description, else its name."""
    score: Severity | None = None
    """The band of the rule's numeric ``security-severity`` (``None`` when it has none)."""
    score_bad: bool = False
    """The rule's ``security-severity`` is not a number (each result then warns)."""
    level: str | None = None
    """The rule's ``defaultConfiguration.level``."""


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
    rule_cache: dict[tuple[int | None, str | None], Mapping[str, Any]] = field(default_factory=dict)
    """``(ruleIndex, ruleId)`` of a result without a ``rule`` reference -> its rule."""
    paths: dict[str, str] = field(default_factory=dict)
    """Artifact URI -> normalized path (bounded, see :func:`_location`)."""


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


def _new_rule_facts(rule: Mapping[str, Any]) -> _RuleFacts:
    relationships = [_obj(r).get("target") for r in _list(rule.get("relationships"))]
    props = _obj(rule.get("properties"))
    cwe_values = _cwe_values(rule, relationships)
    cvss = _cvss_values(props)
    raw = props.get("security-severity")
    score: Severity | None = None
    bad = False
    if raw is not None:
        try:
            score = Severity.from_score(float(raw))
        except (TypeError, ValueError):
            bad = True
    return _RuleFacts(
        cwe_values,
        cvss,
        cwes=normalize_cwe(cwe_values),
        cvss_vectors=dedupe(cvss),
        rule_id=_str(rule.get("id")),
        title=_str(_obj(rule.get("shortDescription")).get("text")) or _str(rule.get("name")),
        score=score,
        score_bad=bad,
        level=_str(_obj(rule.get("defaultConfiguration")).get("level")),
    )


_NO_RULE_FACTS = _new_rule_facts({})


def _rule_facts(rule: Mapping[str, Any], run: _RunContext) -> _RuleFacts:
    # rules of the run header live as long as the run, so their id() is a stable cache key;
    # the empty stand-in for an unknown rule has constant facts
    if not rule:
        return _NO_RULE_FACTS
    key = id(rule)
    facts = run.rule_facts.get(key)
    if facts is None:
        facts = run.rule_facts[key] = _new_rule_facts(rule)
    return facts


def _rule(result: Mapping[str, Any], run: _RunContext) -> Mapping[str, Any]:
    """:func:`_find_rule`, cached by ``(ruleIndex, ruleId)`` for results without a ``rule`` object."""
    if "rule" in result:
        return _find_rule(result, run)
    index = result.get("ruleIndex")
    rid = result.get("ruleId")
    if (index is not None and type(index) is not int) or (rid is not None and type(rid) is not str):
        return _find_rule(result, run)
    key = (index, rid)
    rule = run.rule_cache.get(key)
    if rule is None:
        rule = _find_rule(result, run)
        if len(run.rule_cache) < 65536:
            run.rule_cache[key] = rule
    return rule


def _fast_severity(
    result: Mapping[str, Any], facts: _RuleFacts, rule: Mapping[str, Any], pointer: str, ctx: ParseContext
) -> Severity:
    """:func:`_severity` with the rule's part computed once (same result and warnings)."""
    props = result.get("properties")
    if facts.score_bad or (props is not None and (type(props) is not dict or "security-severity" in props)):
        return _severity(result, rule, pointer, ctx)
    if facts.score is not None:
        return facts.score
    kind = result.get("kind")
    if type(kind) is str and kind and kind not in ("fail", "open", "review"):
        return Severity.INFO
    level = result.get("level")
    if type(level) is not str or not level:
        level = facts.level or "warning"
    return _LEVELS.get(level, Severity.UNKNOWN)


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
    path: str | None = None
    if uri:
        path = run.paths.get(uri)
        if path is None:
            path = normalize_path(uri, run.bases)
            if len(run.paths) >= 65536:
                run.paths.clear()
            run.paths[uri] = path
    region = _obj(physical.get("region"))
    start = _int(region.get("startLine"))
    end = _int(region.get("endLine")) or start
    snippet = _str(_obj(region.get("snippet")).get("text")) or _str(
        _obj(_obj(physical.get("contextRegion")).get("snippet")).get("text")
    )
    return path, start, end, snippet


def _finding(result: Any, pointer: str, run: _RunContext, ctx: ParseContext) -> NormalizedFinding | None:
    if type(result) is not dict and not isinstance(result, Mapping):
        ctx.reject(pointer, "a result must be an object")
        return None
    rule = _rule(result, run)
    facts = _rule_facts(rule, run)
    rule_id = result.get("ruleId")
    if type(rule_id) is not str or not rule_id:
        rule_id = _str(_obj(result.get("rule")).get("id")) or facts.rule_id
    raw_message = result.get("message")
    message: str | None
    if type(raw_message) is dict and "arguments" not in raw_message and _str(raw_message.get("text")):
        message = raw_message["text"]
    else:
        message = _message(result, rule)
    title = facts.title or rule_id or (message.splitlines()[0][:200] if message else None)
    if rule_id is None and message is None:
        ctx.reject(pointer, "result has neither a rule nor a message")
        return None
    path, start, end, snippet = _location(result, run)
    partial = _obj(result.get("partialFingerprints")) or _obj(result.get("fingerprints"))
    if partial:
        fingerprint = location_fingerprint(rule_id, path, None, None, {str(k): v for k, v in partial.items()})
    else:
        fingerprint = location_fingerprint(rule_id, path, start, snippet)
    result_props = result.get("properties")
    if result_props is None and "taxa" not in result:
        cwe_ids = facts.cwes
        cvss_vectors = facts.cvss_vectors
        result_model: tuple[str | None, str | None] = (None, None)
    else:
        cwe_ids = _cwes(result, facts)
        cvss_vectors = _cvss(result, facts)
        props = _obj(result_props)
        result_model = _model(props) if props else (None, None)
    suppressed = False
    if "suppressions" in result:
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
        severity=_fast_severity(result, facts, rule, pointer, ctx),
        cwe_ids=cwe_ids,
        target_repo=run.repo,
        target_commit=run.commit,
        path=path,
        start_line=start,
        end_line=end,
        snippet=snippet,
        aliases=(rule_id.upper(),) if rule_id and is_vuln_id(rule_id) else (),
        cvss_vectors=cvss_vectors,
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
