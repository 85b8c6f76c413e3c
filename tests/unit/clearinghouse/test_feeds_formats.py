"""Feed readers (``clearinghouse.kb_formats``): FIRST's EPSS CSV and MITRE's CWE catalog, on real data."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import re
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from frontiersec.clearinghouse.feeds import default_cwe_source
from frontiersec.clearinghouse.kb_formats import (
    FeedFormatError,
    parse_cwe_csv,
    parse_cwe_id,
    parse_cwe_xml,
    read_epss,
)

EPSS_META = "#model_version:v2025.03.14,score_date:2025-08-25T00:00:00+0000"


def epss_csv(rows: Sequence[tuple[str, str, str]], *, meta: str = EPSS_META, gz: bool = False) -> bytes:
    """An EPSS file laid out exactly as FIRST publishes it: comment line, header, ``cve,epss,percentile``."""
    text = meta + "\ncve,epss,percentile\n" + "".join(f"{c},{e},{p}\n" for c, e, p in rows)
    data = text.encode()
    return gzip.compress(data) if gz else data


def kev_cves(shared_data: Path, n: int) -> list[str]:
    """The first ``n`` CVE ids of the real KEV catalog (real ids for EPSS fixtures)."""
    doc = json.loads((shared_data / "cisa-kev" / "known_exploited_vulnerabilities.json").read_bytes())
    return [v["cveID"] for v in doc["vulnerabilities"][:n]]


# ---------------------------------------------------------------------------------------------- EPSS


@pytest.mark.parametrize("gz", [False, True])
def test_epss_reads_header_and_rows(gz: bool) -> None:
    data = epss_csv(
        [("CVE-1999-0001", "0.01297", "0.85528"), ("CVE-2021-44228", "0.94358", "0.99961")], gz=gz
    )
    header, rows = read_epss(io.BytesIO(data))
    assert header.model_version == "v2025.03.14"
    assert header.score_date == dt.date(2025, 8, 25)
    got = list(rows)
    assert [(r.line, r.cve_id, r.epss, r.percentile) for r in got] == [
        (3, "CVE-1999-0001", 0.01297, 0.85528),
        (4, "CVE-2021-44228", 0.94358, 0.99961),
    ]


@pytest.mark.parametrize(
    ("row", "where", "reason"),
    [
        (("CVE-2021-442", "0.1", "0.5"), "line 4, column cve", "is not a CVE id"),
        (("cve-2021-44228", "0.1", "0.5"), "line 4, column cve", "is not a CVE id"),
        (("CVE-2021-44228", "1.2", "0.5"), "line 4, column epss", "not between 0 and 1"),
        (("CVE-2021-44228", "-0.01", "0.5"), "line 4, column epss", "not between 0 and 1"),
        (("CVE-2021-44228", "nan", "0.5"), "line 4, column epss", "not between 0 and 1"),
        (("CVE-2021-44228", "high", "0.5"), "line 4, column epss", "is not a number"),
        (("CVE-2021-44228", "0.1", "1.0001"), "line 4, column percentile", "not between 0 and 1"),
        (("CVE-2021-44228", "0.1", ""), "line 4, column percentile", "is not a number"),
        (("CVE-1999-0001", "0.1", "0.5"), "line 4, column cve", "already on line 3"),
    ],
)
def test_epss_bad_row_names_line_and_column(row: tuple[str, str, str], where: str, reason: str) -> None:
    data = epss_csv([("CVE-1999-0001", "0.01297", "0.85528"), row])
    _header, rows = read_epss(io.BytesIO(data))
    with pytest.raises(FeedFormatError) as err:
        list(rows)
    assert err.value.where == where
    assert reason in err.value.message


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (b"cve,epss,percentile\nCVE-1999-0001,0.1,0.2\n", "line 1"),
        (EPSS_META.encode() + b"\ncve,score,percentile\n", "line 2"),
        (
            b"#model_version:v2025.03.14,score_date:yesterday\ncve,epss,percentile\n",
            "line 1, column score_date",
        ),
        (gzip.compress(epss_csv([("CVE-1999-0001", "0.1", "0.2")]))[:40], "line 1"),
    ],
)
def test_epss_bad_header(data: bytes, where: str) -> None:
    with pytest.raises(FeedFormatError) as err:
        read_epss(io.BytesIO(data))  # the header is checked before any row is read
    assert err.value.where == where


def test_epss_row_with_wrong_column_count() -> None:
    _h, rows = read_epss(io.BytesIO(epss_csv([]) + b"CVE-1999-0001,0.1\n"))
    with pytest.raises(FeedFormatError, match=r"line 3: expected 3 columns, got 2"):
        list(rows)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_epss_reader_fails_only_with_feed_format_error(blob: bytes) -> None:
    try:
        _h, rows = read_epss(io.BytesIO(EPSS_META.encode() + b"\ncve,epss,percentile\n" + blob))
        for r in rows:
            assert 0.0 <= r.epss <= 1.0
            assert 0.0 <= r.percentile <= 1.0
    except FeedFormatError:
        pass


# ----------------------------------------------------------------------------------------------- CWE


@pytest.fixture(scope="module")
def cwe_xml() -> dict[int, object]:
    with default_cwe_source().open("rb") as fh:
        catalog = parse_cwe_xml(fh)
    assert catalog.version == "4.14"
    return {r.cwe_id: r for r in catalog.records}


def test_cwe_xml_known_answers(cwe_xml: dict[int, object]) -> None:
    from frontiersec.clearinghouse.kb_formats import CweRecord

    xss = cwe_xml[79]
    assert isinstance(xss, CweRecord)
    assert xss.name == "Improper Neutralization of Input During Web Page Generation ('Cross-site Scripting')"
    assert (xss.kind, xss.abstraction, xss.status) == ("weakness", "Base", "Stable")
    assert (74, 1000, "ChildOf") in xss.parents  # "::NATURE:ChildOf:CWE ID:74:VIEW ID:1000" in MITRE's CSV
    cfg = cwe_xml[16]
    assert isinstance(cfg, CweRecord)
    assert (cfg.kind, cfg.name, cfg.status) == ("category", "Configuration", "Obsolete")
    view = cwe_xml[1000]
    assert isinstance(view, CweRecord)
    assert (view.kind, view.name) == ("view", "Research Concepts")
    kinds = [getattr(r, "kind", None) for r in cwe_xml.values()]
    assert (kinds.count("weakness"), kinds.count("category"), kinds.count("view")) == (963, 409, 54)


def test_cwe_xml_names_agree_with_mitre_csv(cwe_xml: dict[int, object], shared_data: Path) -> None:
    """Every one of the 963 weaknesses of ``shared/data/cwe`` (MITRE's view-2000 CSV) has the XML's name
    and parents; the CSV export drops backslashes, so names with one in the XML compare without them."""
    with (shared_data / "cwe" / "cwe-v4.14-weaknesses.csv.gz").open("rb") as fh:
        csv_catalog = parse_cwe_csv(fh)
    assert len(csv_catalog.records) == 963
    for r in csv_catalog.records:
        x = cwe_xml[r.cwe_id]
        name = getattr(x, "name", "")
        assert name.replace("\\", "") == r.name, r.cwe_id
        xml_childof = {p for p in getattr(x, "parents", ()) if p[2] == "ChildOf"}
        assert set(r.parents) == xml_childof, r.cwe_id


def test_every_kev_cwe_is_in_the_catalog(cwe_xml: dict[int, object], shared_data: Path) -> None:
    doc = json.loads((shared_data / "cisa-kev" / "known_exploited_vulnerabilities.json").read_bytes())
    cwes = {w for v in doc["vulnerabilities"] for w in v.get("cwes", [])}
    assert len(cwes) > 100
    missing = [w for w in cwes if parse_cwe_id(w) not in cwe_xml]
    assert missing == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("CWE-79", 79),
        ("cwe-79", 79),
        (" 79 ", 79),
        (79, 79),
        ("NVD-CWE-Other", None),
        ("CWE-", None),
        (-1, None),
    ],
)
def test_parse_cwe_id(value: str | int, expected: int | None) -> None:
    assert parse_cwe_id(value) == expected


def test_cwe_csv_bad_rows() -> None:
    head = b"CWE-ID,Name,Weakness Abstraction,Status,Description,Related Weaknesses\n"
    with pytest.raises(FeedFormatError, match=re.escape("line 2, column CWE-ID")):
        parse_cwe_csv(io.BytesIO(head + b"CWE-79,XSS,Base,Stable,d,\n"))
    with pytest.raises(FeedFormatError, match=re.escape("line 2, column Related Weaknesses")):
        parse_cwe_csv(io.BytesIO(head + b"79,XSS,Base,Stable,d,::NATURE:ChildOf:CWE ID:x:VIEW ID:1000::\n"))
    with pytest.raises(FeedFormatError, match=re.escape("line 1")):
        parse_cwe_csv(io.BytesIO(b"id,title\n1,x\n"))


def test_cwe_xml_not_a_catalog() -> None:
    with pytest.raises(FeedFormatError, match="not well-formed"):
        parse_cwe_xml(io.BytesIO(b"<Weakness_Catalog Version='4.14'><Weaknesses>"))
    with pytest.raises(FeedFormatError, match="not a CWE catalog"):
        parse_cwe_xml(io.BytesIO(b"<html><body/></html>"))
