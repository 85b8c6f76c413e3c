"""Intake edge cases: bad input, bombs, fingerprints, OSV containers, fuzzing and flat-memory streaming."""

import contextlib
import copy
import gzip
import io
import json
import tempfile
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontiersec.clearinghouse.intake import (
    IntakeError,
    IntakeLimits,
    ParseOptions,
    detect_format,
    iter_components,
    parse_file,
)


def _write(tmp_path: Path, name: str, data: bytes | str | Any) -> Path:
    path = tmp_path / name
    if isinstance(data, bytes):
        path.write_bytes(data)
    elif isinstance(data, str):
        path.write_text(data)
    else:
        path.write_text(json.dumps(data))
    return path


def _sarif(results: list[dict[str, Any]], **driver: Any) -> dict[str, Any]:
    return {
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "Demo", **driver}}, "results": results}],
    }


def _result(uri: str = "src/app.py", line: int = 10, snippet: str = "eval(x)") -> dict[str, Any]:
    return {
        "ruleId": "demo/eval",
        "level": "error",
        "message": {"text": "eval of user input"},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": uri},
                    "region": {"startLine": line, "snippet": {"text": snippet}},
                }
            }
        ],
    }


# --- bad input -------------------------------------------------------------------------------------


def test_truncated_json_names_byte_offset(shared_data: Path, tmp_path: Path) -> None:
    data = (shared_data / "scanner-reports/sarif/njsscan.sarif").read_bytes()
    cut = data[: len(data) // 2]
    path = _write(tmp_path, "cut.sarif", cut)
    with pytest.raises(IntakeError) as info:
        parse_file(path).collect()
    assert f"byte {len(cut)}" in info.value.pointer
    assert "truncated" in info.value.reason
    assert f"byte {len(cut)}" in info.value.reason

    record = b'{"id": "PYSEC-1", "modified": "2021-01-01T00:00:00Z", "aff'
    osv = _write(tmp_path, "rec.json", record)
    with pytest.raises(IntakeError) as info:
        parse_file(osv).collect()
    assert f"byte {len(record)}" in info.value.reason


def test_sarif_200_is_refused(tmp_path: Path) -> None:
    log = _sarif([_result()])
    log["version"] = "2.0.0"
    with pytest.raises(IntakeError) as info:
        parse_file(_write(tmp_path, "old.sarif", log)).collect()
    assert info.value.pointer == "$.version"
    assert "'2.0.0' is not supported" in info.value.reason


def test_cyclonedx_without_bomformat_is_refused(shared_data: Path, tmp_path: Path) -> None:
    doc = json.loads((shared_data / "scanner-reports/cyclonedx/log4j.json").read_text())
    del doc["bomFormat"]
    path = _write(tmp_path, "bom.json", doc)
    with pytest.raises(IntakeError) as info:
        parse_file(path, "cyclonedx").collect()
    assert info.value.pointer == "$.bomFormat"
    assert "without bomFormat" in info.value.reason
    with pytest.raises(IntakeError) as info, path.open("rb") as fh:
        list(iter_components(fh))
    assert info.value.pointer == "$.bomFormat"


def test_unparsable_purl_is_refused(shared_data: Path, tmp_path: Path) -> None:
    doc = json.loads((shared_data / "scanner-reports/cyclonedx/log4j.json").read_text())
    doc["components"][0]["purl"] = "not a purl"
    with pytest.raises(IntakeError) as info:
        parse_file(_write(tmp_path, "bom.json", doc)).collect()
    assert info.value.pointer == "$.components[0].purl"
    assert "purl does not parse" in info.value.reason

    record = {
        "id": "PYSEC-0",
        "modified": "2021-01-01T00:00:00Z",
        "affected": [{"package": {"purl": "pkg:"}}],
    }
    with pytest.raises(IntakeError) as info:
        parse_file(_write(tmp_path, "r.json", record)).collect()
    assert info.value.pointer == "$.affected[0].package.purl"


@pytest.mark.parametrize("content", [b"", b"   \n\t "], ids=["zero-bytes", "whitespace"])
def test_empty_file_is_refused(tmp_path: Path, content: bytes) -> None:
    with pytest.raises(IntakeError) as info:
        parse_file(_write(tmp_path, "empty.json", content)).collect()
    assert info.value.pointer == "$"
    assert "empty" in info.value.reason


def _osv_zip(tmp_path: Path, entries: dict[str, bytes]) -> Path:
    path = tmp_path / "all.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def test_zip_bomb_is_refused(tmp_path: Path) -> None:
    bomb = _osv_zip(tmp_path, {"PYSEC-0.json": b"{" + b" " * (8 * 1024 * 1024) + b"}"})
    assert bomb.stat().st_size < 64 * 1024
    limits = IntakeLimits(max_uncompressed_bytes=1024 * 1024)
    with pytest.raises(IntakeError) as info:
        parse_file(bomb, limits=limits).collect()
    assert "claim" in info.value.reason
    assert str(1024 * 1024) in info.value.reason

    # the per-document cap catches an entry that decompresses past it even under the total limit
    with pytest.raises(IntakeError) as info:
        parse_file(bomb, limits=IntakeLimits(max_document_bytes=1024 * 1024)).collect()
    assert info.value.pointer == "PYSEC-0.json:$"
    assert "zip bomb" in info.value.reason

    many = _osv_zip(tmp_path, {f"r{i}.json": b"{}" for i in range(20)})
    with pytest.raises(IntakeError) as info:
        parse_file(many, limits=IntakeLimits(max_entries=10)).collect()
    assert "20 entries" in info.value.reason


def test_gzip_bomb_is_refused(tmp_path: Path) -> None:
    payload = b'{"id": "PYSEC-0", "modified": "2021-01-01T00:00:00Z", "details": "' + b"a" * (4 << 20) + b'"}'
    path = _write(tmp_path, "big.json.gz", gzip.compress(payload))
    with pytest.raises(IntakeError) as info:
        parse_file(path, "osv", limits=IntakeLimits(max_uncompressed_bytes=1 << 20)).collect()
    assert "exceeds the limit" in info.value.reason


# --- OSV containers ------------------------------------------------------------------------------------


def _pypi_records(shared_data: Path, n: int) -> list[dict[str, Any]]:
    out = []
    with gzip.open(shared_data / "osv-pypi/pypa-advisories.osv.jsonl.gz", "rt") as fh:
        for line in fh:
            out.append(json.loads(line))
            if len(out) == n:
                break
    return out


def test_osv_containers_agree(shared_data: Path, tmp_path: Path) -> None:
    records = _pypi_records(shared_data, 25)
    jsonl = "".join(json.dumps(r) + "\n" for r in records).encode()
    paths = {
        "single": _write(tmp_path, "one.json", records[0]),
        "array": _write(tmp_path, "arr.json", records),
        "jsonl": _write(tmp_path, "recs.jsonl", jsonl),
        "jsonl.gz": _write(tmp_path, "recs.jsonl.gz", gzip.compress(jsonl)),
        "zip": _osv_zip(tmp_path, {f"{r['id']}.json": json.dumps(r).encode() for r in records}),
    }
    folder = tmp_path / "dir"
    folder.mkdir()
    for r in records:
        (folder / f"{r['id']}.json").write_text(json.dumps(r))
    paths["dir"] = folder
    fingerprints = {}
    for kind, path in paths.items():
        result = parse_file(path, schemas_dir=shared_data / "schemas")
        assert result.format == "osv", kind
        findings = result.collect()
        assert len(findings) == (1 if kind == "single" else 25), kind
        fingerprints[kind] = sorted(f.fingerprint for f in findings)
        assert result.rejected == 0
    assert len({tuple(v) for k, v in fingerprints.items() if k != "single"}) == 1
    first = parse_file(paths["single"]).collect()[0]
    assert first.rule_id == records[0]["id"]
    assert first.affected[0].ranges[0].events == tuple(
        (k, v) for e in records[0]["affected"][0]["ranges"][0]["events"] for k, v in e.items()
    )
    assert first.affected[0].versions == tuple(records[0]["affected"][0].get("versions", []))


def test_whole_pypi_osv_feed_parses(shared_data: Path) -> None:
    path = shared_data / "osv-pypi/pypa-advisories.osv.jsonl.gz"
    with gzip.open(path, "rt") as fh:
        expected = sum(1 for line in fh if line.strip())
    result = parse_file(path)
    findings = result.collect()
    assert len(findings) == expected == result.received
    assert result.rejected == 0
    assert all(f.published is None or f.published.tzinfo is not None for f in findings)


# --- fingerprints -----------------------------------------------------------------------------------


def test_fingerprints_stable_whitespace_insensitive_and_location_sensitive(tmp_path: Path) -> None:
    def fp(result: dict[str, Any]) -> str:
        path = _write(tmp_path, "x.sarif", _sarif([result]))
        [finding] = parse_file(path).collect()
        return finding.fingerprint

    base = fp(_result())
    assert fp(_result()) == base
    assert fp(_result(snippet="  eval(\n\t x)  ")) == fp(_result(snippet="eval( x)"))
    assert fp(_result(snippet="eval(x)\n")) == base
    assert fp(_result(uri="./src/app.py")) == base
    assert fp(_result(uri="src\\app.py")) == base
    assert fp(_result(line=11)) != base
    assert fp(_result(uri="src/other.py")) != base

    # partialFingerprints win, whatever the key order; the path still separates files
    with_pfp = _result()
    with_pfp["partialFingerprints"] = {"primaryLocationLineHash": "abc:1", "b": "2"}
    reordered = _result(line=99)
    reordered["partialFingerprints"] = {"b": "2", "primaryLocationLineHash": "abc:1"}
    assert fp(with_pfp) == fp(reordered) != base


def test_real_fingerprints_are_stable_and_distinct(shared_data: Path) -> None:
    path = shared_data / "scanner-reports/sarif/codeQL-output.sarif"
    once = [f.fingerprint for f in parse_file(path).collect()]
    twice = [f.fingerprint for f in parse_file(path).collect()]
    assert once == twice
    raw = json.loads(path.read_text())["runs"][0]["results"]
    distinct_keys = {
        (
            r["ruleId"],
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            tuple(sorted(r["partialFingerprints"].items())),
        )
        for r in raw
    }
    assert len(set(once)) == len(distinct_keys)


def test_original_uri_base_ids_and_model(tmp_path: Path) -> None:
    log = _sarif(
        [_result(uri="file:///home/ci/work/src/app.py")],
        properties={"model": "acme-coder", "modelVersion": "2"},
    )
    log["runs"][0]["originalUriBaseIds"] = {"SRCROOT": {"uri": "file:///home/ci/work/"}}
    [finding] = parse_file(_write(tmp_path, "m.sarif", log)).collect()
    assert finding.path == "src/app.py"
    assert (finding.model_id, finding.model_version) == ("acme-coder", "2")
    options = ParseOptions(model_id="other", model_version="9", tool_name="t")
    plain = _write(tmp_path, "p.sarif", _sarif([_result()]))
    [from_options] = parse_file(plain, options=options).collect()
    assert (from_options.model_id, from_options.model_version) == ("other", "9")


def test_results_before_tool_still_get_rules(tmp_path: Path) -> None:
    rule = {
        "id": "demo/eval",
        "shortDescription": {"text": "Eval"},
        "properties": {"tags": ["CWE-95"], "security-severity": "9.1"},
    }
    text = f'{{"runs": [{{"results": [{json.dumps(_result())}], "tool": {{"driver": {{"name": "Demo", "rules": [{json.dumps(rule)}]}}}}}}], "version": "2.1.0"}}'
    [finding] = parse_file(_write(tmp_path, "order.sarif", text)).collect()
    assert finding.title == "Eval"
    assert finding.cwe_ids == ("CWE-95",)
    assert finding.severity == "critical"
    assert finding.tool_name == "Demo"


def test_detect_format_rules() -> None:
    assert detect_format(b'{"version": "2.1.0", "runs": []}', "x.json") == "sarif"
    assert detect_format(b'{"bomFormat": "CycloneDX"', "x.json") == "cyclonedx"
    assert detect_format(b'{"spdxVersion": "SPDX-2.3"}', "x") == "spdx"
    assert detect_format(b'{"document": {"category": "csaf_vex", "csaf_version": "2.0"', "x") == "csaf"
    assert detect_format(b'[{"schema_version": "1.6.0", "id": "X"}]', "x") == "osv"
    assert (
        detect_format(gzip.compress(b'{"id": "GO-1", "modified": "2024-01-01T00:00:00Z"}\n'), "a.gz") == "osv"
    )
    with pytest.raises(IntakeError):
        detect_format(b"", "x")


# --- robustness -----------------------------------------------------------------------------------

_PREFIXES = [
    b"",
    b'{"version": "2.1.0", "runs": [',
    b'{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [',
    b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [',
    b'{"document": {"csaf_version": "2.0"}, "vulnerabilities": [',
    b'{"id": "PYSEC-1", "modified": "x", "affected": [',
    b"\x1f\x8b",
    b"PK\x03\x04",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    prefix=st.sampled_from(_PREFIXES),
    body=st.binary(max_size=300),
    jsonish=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
        lambda children: (
            st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
        ),
        max_leaves=10,
    ),
)
def test_parse_file_raises_only_intake_error(prefix: bytes, body: bytes, jsonish: Any) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for i, data in enumerate((prefix + body, prefix + json.dumps(jsonish).encode())):
            path = Path(tmp) / f"f{i}.json"
            path.write_bytes(data)
            with contextlib.suppress(IntakeError):
                parse_file(path, limits=IntakeLimits(max_uncompressed_bytes=1 << 20)).collect()


# --- streaming --------------------------------------------------------------------------------------


def test_sarif_streams_in_flat_memory(shared_data: Path, tmp_path: Path) -> None:
    source = json.loads((shared_data / "scanner-reports/sarif/codeQL-output.sarif").read_text())
    run = source["runs"][0]
    results = run.pop("results")
    head = json.dumps({"version": "2.1.0", "runs": [run]})
    path = tmp_path / "big.sarif"
    target = 50 * 1024 * 1024
    written = 0
    count = 0
    with path.open("w") as fh:
        # put results after the run header: {"version":..., "runs":[{...,"results":[ ... ]}]}
        fh.write(head[:-3] + ', "results": [')
        while written < target:
            item = copy.deepcopy(results[count % len(results)])
            item["partialFingerprints"] = {"primaryLocationLineHash": f"{count:x}:1"}
            text = json.dumps(item)
            fh.write(("," if count else "") + text)
            written += len(text)
            count += 1
        fh.write("]}]}")
    assert path.stat().st_size > target

    tracemalloc.start()
    try:
        seen = 0
        for finding in parse_file(path):
            seen += 1
            assert finding.path is not None
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == count
    assert peak < 30 * 1024 * 1024, f"peak traced memory {peak / 1e6:.1f} MB"


def test_iter_components_spdx(tmp_path: Path) -> None:
    doc = {
        "spdxVersion": "SPDX-2.3",
        "SPDXID": "SPDXRef-DOCUMENT",
        "packages": [
            {
                "SPDXID": "SPDXRef-Package-jinja2",
                "name": "jinja2",
                "versionInfo": "3.1.2",
                "externalRefs": [
                    {
                        "referenceCategory": "PACKAGE-MANAGER",
                        "referenceType": "purl",
                        "referenceLocator": "pkg:pypi/jinja2@3.1.2",
                    }
                ],
            },
            {"SPDXID": "SPDXRef-Package-x", "name": "x"},
        ],
    }
    components = list(iter_components(io.BytesIO(json.dumps(doc).encode())))
    assert [(c.purl, c.name, c.version, c.bom_ref) for c in components] == [
        ("pkg:pypi/jinja2@3.1.2", "jinja2", "3.1.2", "SPDXRef-Package-jinja2"),
        (None, "x", None, "SPDXRef-Package-x"),
    ]
    path = _write(tmp_path, "sbom.spdx.json", doc)
    result = parse_file(path)
    assert result.format == "spdx"
    assert result.collect() == []


def test_sarif_block_decoder_yields_what_the_standard_library_decodes(
    shared_data: Path, tmp_path: Path
) -> None:
    """Result arrays read in msgspec blocks: the same results, in order, across runs whose items
    start alike (a cut past the end of one array) and chunk boundaries; NaN (which msgspec refuses)
    falls back to the standard library."""
    import json as std_json

    from frontiersec.clearinghouse.intake import sarif as sarif_mod
    from frontiersec.clearinghouse.intake.base import IntakeLimits
    from frontiersec.clearinghouse.intake.source import Source

    doc = std_json.loads((shared_data / "scanner-reports" / "sarif" / "flawfinder.sarif").read_bytes())
    results = doc["runs"][0]["results"]
    many = [std_json.loads(std_json.dumps(results[i % len(results)])) for i in range(3000)]
    for i, r in enumerate(many):
        r["properties"] = {"n": i, "note": 'ü } , {"ruleId" ]'}
    many[2500]["properties"]["score"] = float("nan")
    doc["runs"] = [dict(doc["runs"][0], results=many[:1700]), dict(doc["runs"][0], results=many[1700:])]
    path = tmp_path / "blocks.sarif"
    path.write_text(std_json.dumps(doc))
    source = Source.from_path(path, path.read_bytes()[:16], IntakeLimits())
    got = [(i, j, v) for kind, i, j, v in sarif_mod._walk(source, results=True) if kind == "result"]
    assert [(i, j) for i, j, _ in got] == [(0, j) for j in range(1700)] + [(1, j) for j in range(1300)]
    decoded = [v for _, _, v in got]
    assert decoded[2500]["properties"]["score"] != decoded[2500]["properties"]["score"]  # NaN kept
    decoded[2500]["properties"]["score"] = many[2500]["properties"]["score"] = 0
    assert decoded == many
