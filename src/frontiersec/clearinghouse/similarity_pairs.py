"""Labelled text pairs from real advisory data, to tune and check dedup layer 4 (no database).

A pair is two real records about vulnerabilities of the same software:

* **positive** (``same=True``): the records share a vulnerability id (CVE or GHSA, as the
  publishers themselves linked them through ``aliases`` / ``cve``) and their texts differ: a
  PYSEC advisory and the RustSec or Go record of the same CVE, two CISA CSAF advisories of the
  same CVE (one per affected product line), CISA's KEV entry and the CSAF or PYSEC text of it,
  two records of one package that the database links by alias;
* **negative** (``same=False``): two records of the *same target* (the same package, the same
  Go module, the same crate, the same CSAF vendor, the same KEV vendor/product) that share no
  vulnerability id, which is exactly the comparison layer 4 makes: a new finding against the
  other clusters of its target. *Near* negatives surround each positive's records; *background*
  negatives are one random pair in each of a seeded sample of all targets.

Texts are what the clearinghouse itself stores for a finding: OSV and CSAF records go through
the real intake parsers (title and message), a KEV entry is its ``vulnerabilityName`` and
``shortDescription``.

The pairs are split into a *tune* and a *test* half by a seeded hash of the vulnerability group
(a positive pair and the negatives drawn around it always land in the same half), so a threshold
chosen on *tune* is judged on records it never saw. Everything is deterministic for a given seed.
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
import math
import random
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from frontiersec.clearinghouse.dedup import vuln_aliases
from frontiersec.clearinghouse.intake import parse_csaf_document
from frontiersec.clearinghouse.intake.base import ParseContext
from frontiersec.clearinghouse.intake.osv import normalize_osv_record

__all__ = [
    "MIN_PRECISION",
    "LabelledPair",
    "PrecisionRecall",
    "TextRecord",
    "f1_threshold",
    "labelled_pairs",
    "load_records",
    "precision_recall",
    "precision_threshold",
    "same_software",
    "score_pairs",
    "wilson",
]

MIN_PRECISION = 0.95
"""The precision an automatic merge should have; :func:`precision_threshold` looks for it."""

Half = Literal["tune", "test"]

OSV_FILES = (
    ("pypi-osv", "osv-pypi/pypa-advisories.osv.jsonl.gz"),
    ("go-osv", "osv-other/go-vulndb.osv.jsonl.gz"),
    ("rustsec", "osv-other/rustsec-crates.osv.jsonl.gz"),
)
CSAF_FILE = "csaf-cisa/cisa-ics-csaf-2023-2024.jsonl.gz"
KEV_FILE = "cisa-kev/known_exploited_vulnerabilities.json"


@dataclass(frozen=True)
class TextRecord:
    """One real record as layer 4 sees it: where it comes from, its targets, ids and text."""

    source: str
    id: str
    targets: tuple[str, ...]
    vulns: frozenset[str]
    """Vulnerability ids (CVE, GHSA) that the publisher gives, normalized."""
    title: str
    message: str


@dataclass(frozen=True)
class LabelledPair:
    """Two records and whether they are the same vulnerability; ``kind`` names where it came from."""

    a: TextRecord
    b: TextRecord
    same: bool
    kind: str
    half: Half


def _cross_ids(aliases: Iterable[str]) -> frozenset[str]:
    """The ids that link records across databases: CVE and GHSA (not a database's own id)."""
    return frozenset(a for a in vuln_aliases(aliases) if a.startswith(("CVE-", "GHSA-")))


def _osv_records(data: Path) -> Iterator[TextRecord]:
    for source, rel in OSV_FILES:
        with gzip.open(data / rel, "rt", encoding="utf-8") as fh:
            for line_no, line in enumerate(fh):
                raw = json.loads(line)
                if raw.get("withdrawn"):  # its publisher says it is not (or no longer) a vulnerability
                    continue
                f = normalize_osv_record(raw, f"$[{line_no}]", ParseContext())
                if f is None or f.rule_id is None:
                    continue
                targets = tuple(
                    dict.fromkeys(
                        f"{source}:{(a.name or '').lower()}" for a in f.affected if a.name and a.ecosystem
                    )
                )
                yield TextRecord(
                    source, f.rule_id, targets, _cross_ids(f.aliases), f.title or "", f.message or ""
                )


def _csaf_vendors(tree: Any) -> list[str]:
    branches = tree.get("branches") if isinstance(tree, dict) else None
    out: list[str] = []
    for b in branches or []:
        if isinstance(b, dict) and b.get("category") == "vendor" and isinstance(b.get("name"), str):
            out.append(b["name"].strip().lower())
    return out


def _csaf_records(data: Path) -> Iterator[TextRecord]:
    with gzip.open(data / CSAF_FILE, "rt", encoding="utf-8") as fh:
        for line_no, line in enumerate(fh):
            doc = json.loads(line)
            tracking_id = str(doc.get("document", {}).get("tracking", {}).get("id", line_no))
            targets = tuple(f"csaf-vendor:{v}" for v in _csaf_vendors(doc.get("product_tree")))
            seen: set[str] = set()
            for f in parse_csaf_document(doc, f"$[{line_no}]", ParseContext()):
                key = f.rule_id or ""
                if key in seen:  # one finding per product: one record per vulnerability
                    continue
                seen.add(key)
                yield TextRecord(
                    "csaf-cisa",
                    f"{tracking_id}#{key}",
                    targets,
                    _cross_ids(f.aliases),
                    f.title or "",
                    f.message or "",
                )


def _kev_records(data: Path) -> Iterator[TextRecord]:
    catalog = json.loads((data / KEV_FILE).read_text(encoding="utf-8"))
    for v in catalog["vulnerabilities"]:
        target = f"kev:{v['vendorProject'].strip().lower()}/{v['product'].strip().lower()}"
        yield TextRecord(
            "kev",
            f"KEV:{v['cveID']}",
            (target,),
            _cross_ids([v["cveID"]]),
            v["vulnerabilityName"],
            v["shortDescription"],
        )


def load_records(data: Path) -> list[TextRecord]:
    """Every record of the real data that layer 4 could compare (OSV, CSAF, KEV), in file order."""
    return [*_osv_records(data), *_csaf_records(data), *_kev_records(data)]


def text_key(r: TextRecord) -> str:
    """The comparable text of a record (whitespace-collapsed), to drop pairs whose texts are equal."""
    return " ".join(f"{r.title}\n{r.message}".split()).lower()


# Name parts too common to say that two differently-named targets are the same software.
_GENERIC = frozenset(
    [
        "github",
        "com",
        "org",
        "net",
        "golang",
        "gitlab",
        "apache",
        "python",
        "py",
        "sys",
        "rs",
        "rust",
        "lib",
        "libs",
        "core",
        "common",
        "go",
        "x",
        "google",
        "microsoft",
        "series",
        "products",
        "product",
        "software",
        "server",
        "client",
        "plugin",
        "inc",
        "corp",
    ]
)
_TOKEN = re.compile(r"[a-z0-9]+")


def _name_tokens(targets: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for t in targets:
        name = t.split(":", 1)[-1]
        out.update(w for w in _TOKEN.findall(name) if len(w) >= 3 and w not in _GENERIC)
    return out


def same_software(a: TextRecord, b: TextRecord) -> bool:
    """Do the records name the same software: a shared target, or across databases (whose naming
    differs: ``pypi-osv:wasmtime`` / ``rustsec:wasmtime``, ``kev:saltstack/salt`` / ``pypi-osv:salt``)
    a shared distinctive name part. A vendor bundling a vulnerable library (opencv wheels with
    libwebp, a switch with OpenSSL) is a different target and does not count.
    """
    if set(a.targets) & set(b.targets):
        return True
    if a.source == b.source:
        return False
    return bool(_name_tokens(a.targets) & _name_tokens(b.targets))


def _half(seed: int, group: str) -> Half:
    digest = hashlib.sha256(f"{seed}:{group}".encode()).digest()
    return "tune" if digest[0] % 2 == 0 else "test"


def labelled_pairs(
    data: Path,
    *,
    seed: int = 20260602,
    negatives_per_record: int = 5,
    background_targets: int = 400,
) -> list[LabelledPair]:
    """Positive and same-target negative pairs from the real data in ``data`` (see the module doc).

    Positives: every pair of records that share a CVE/GHSA id, whose texts differ, and that name
    the same software (:func:`same_software`); withdrawn OSV records are left out. Negatives of two
    kinds, both "same target, no shared id": *near* ones, up to ``negatives_per_record`` around
    each record of a positive pair (``kind`` = its source); and *background* ones, one pair in each
    of ``background_targets`` targets drawn from every target with two or more records (``kind`` =
    ``background:<source>``), so that packages whose advisories share a template (TensorFlow,
    KEV's "X contains a Y vulnerability") weigh as they do in real data. Deterministic per ``seed``.
    """
    records = load_records(data)
    by_id: dict[str, list[TextRecord]] = defaultdict(list)
    by_target: dict[str, list[TextRecord]] = defaultdict(list)
    for r in records:
        for v in r.vulns:
            by_id[v].append(r)
        for t in r.targets:
            by_target[t].append(r)

    rng = random.Random(seed)
    pairs: list[LabelledPair] = []
    seen: set[tuple[str, str]] = set()
    positives: list[tuple[TextRecord, TextRecord, str]] = []
    for vid in sorted(by_id):
        group = by_id[vid]
        for a, b in itertools.combinations(group, 2):
            key = (min(a.id, b.id), max(a.id, b.id))
            if a.id == b.id or key in seen:
                continue
            if not same_software(a, b):
                continue  # layer 4 never compares across targets
            if text_key(a) == text_key(b):
                continue  # nothing for a text model to learn or miss
            seen.add(key)
            positives.append((a, b, vid))

    for a, b, vid in positives:
        half = _half(seed, vid)
        kind = "+".join(sorted({a.source, b.source}))
        pairs.append(LabelledPair(a, b, True, kind, half))
        for rec in (a, b):
            pool = [
                o
                for t in rec.targets
                for o in by_target[t]
                if o.id != rec.id and not (o.vulns & rec.vulns) and o.vulns
            ]
            pool = list({o.id: o for o in pool}.values())
            rng.shuffle(pool)
            taken = 0
            for o in pool:
                key = (min(rec.id, o.id), max(rec.id, o.id))
                if key in seen:
                    continue
                seen.add(key)
                pairs.append(LabelledPair(rec, o, False, rec.source, half))
                taken += 1
                if taken >= negatives_per_record:
                    break

    targets = [t for t in sorted(by_target) if sum(1 for r in by_target[t] if r.vulns) >= 2]
    rng.shuffle(targets)
    for t in targets[:background_targets]:
        group = [r for r in by_target[t] if r.vulns]
        for _ in range(20):
            a, b = rng.sample(group, 2)
            key = (min(a.id, b.id), max(a.id, b.id))
            if a.id != b.id and not (a.vulns & b.vulns) and key not in seen:
                seen.add(key)
                pairs.append(LabelledPair(a, b, False, f"background:{a.source}", _half(seed, t)))
                break
    return pairs


# --- scoring and the operating point -------------------------------------------------------------


class _Embeds(Protocol):
    def embed(self, texts: Sequence[str]) -> Any: ...


def score_pairs(pairs: Sequence[LabelledPair], embedder: _Embeds) -> list[float]:
    """Cosine of each pair's texts (:func:`~frontiersec.clearinghouse.similarity.finding_text`),
    each distinct text embedded once."""
    from frontiersec.clearinghouse.similarity import finding_text

    def text(r: TextRecord) -> str:
        return finding_text(r.title, r.message) or "(empty)"

    texts = sorted({text(r) for p in pairs for r in (p.a, p.b)})
    vecs = embedder.embed(texts)
    row = {t: vecs[i] for i, t in enumerate(texts)}
    return [float(row[text(p.a)] @ row[text(p.b)]) for p in pairs]


@dataclass(frozen=True)
class PrecisionRecall:
    """Counts and rates of the rule ``score >= threshold`` on some labelled pairs."""

    threshold: float
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float:
        """TP / (TP + FP); 1.0 when nothing is predicted."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """TP / (TP + FN)."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def precision_recall(
    pairs: Sequence[LabelledPair], scores: Sequence[float], threshold: float
) -> PrecisionRecall:
    """Confusion counts of ``score >= threshold`` against the labels."""
    tp = fp = fn = tn = 0
    for p, s in zip(pairs, scores, strict=True):
        hit = s >= threshold
        if p.same:
            tp, fn = (tp + 1, fn) if hit else (tp, fn + 1)
        else:
            fp, tn = (fp + 1, tn) if hit else (fp, tn + 1)
    return PrecisionRecall(threshold, tp, fp, fn, tn)


def precision_threshold(
    pairs: Sequence[LabelledPair], scores: Sequence[float], *, min_precision: float = MIN_PRECISION
) -> PrecisionRecall | None:
    """The lowest threshold (scores rounded down to 0.01) whose precision on ``pairs`` is at least
    ``min_precision`` there and at every higher candidate; ``None`` when no threshold reaches it."""
    candidates = sorted({math.floor(s * 100) / 100 for s in scores}, reverse=True)
    best: PrecisionRecall | None = None
    for t in candidates:
        pr = precision_recall(pairs, scores, t)
        if pr.tp + pr.fp and pr.precision < min_precision:
            break
        if pr.tp:
            best = pr
    return best


def f1_threshold(pairs: Sequence[LabelledPair], scores: Sequence[float]) -> PrecisionRecall:
    """The threshold in 0.50 .. 0.99 (steps of 0.01) with the highest F1 on ``pairs`` (ties: the
    higher threshold, i.e. the more precise)."""
    return max(
        (precision_recall(pairs, scores, t / 100) for t in range(50, 100)),
        key=lambda pr: (pr.f1, pr.threshold),
    )


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval (95 % by default) of a proportion ``successes / n``."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))
