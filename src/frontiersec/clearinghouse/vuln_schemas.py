"""API models of findings, vulnerability clusters, manual merge/split and import batches."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field

from frontiersec.platform.pagination import Page

__all__ = [
    "ClusterDetailRead",
    "ClusterEventRead",
    "ClusterPage",
    "ClusterRead",
    "CreditRead",
    "CweRead",
    "FindingPage",
    "FindingRead",
    "ImportBatchRead",
    "MergeRequest",
    "SplitRead",
    "SplitRequest",
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class FindingRead(BaseModel):
    """One normalized finding, with its provenance."""

    id: uuid.UUID
    cluster_id: uuid.UUID = Field(description="The vulnerability cluster the finding belongs to.")
    cluster_title: str = Field(description="Title of that cluster.")
    batch_id: uuid.UUID = Field(description="The import that brought it in.")
    finder_org_id: uuid.UUID = Field(description="The organisation that found it (owner of the record).")
    finder: str = Field(description="Name of the finder organisation.")
    source_format: str = Field(description="sarif, osv, cyclonedx, spdx or csaf.")
    source_pointer: str = Field(description="JSON path of the element in the imported file.")
    tool_name: str | None
    tool_version: str | None
    model_id: str | None = Field(description="AI model that found it, when one did.")
    model_version: str | None
    rule_id: str | None
    cwe_ids: list[str]
    severity: str = Field(description="critical, high, medium, low, info or unknown.")
    title: str | None
    message: str | None
    target_purl: str | None = Field(description="Package URL of the affected package, when known.")
    target_repo: str | None
    target_commit: str | None
    path: str | None
    start_line: int | None
    end_line: int | None
    aliases: list[str] = Field(description="Vulnerability ids the finding names (CVE, GHSA, OSV...).")
    status: str | None = Field(description="Status the source gave (VEX-style, or suppressed).")
    found_at: dt.datetime
    kev: bool = Field(description="Its cluster holds a CVE listed in CISA's KEV catalog.")
    tlp: str


class FindingPage(Page[FindingRead]):
    """One page of findings."""

    total: int = Field(description="Findings matching the filters.")


class ClusterRead(BaseModel):
    """A vulnerability cluster: findings that are the same vulnerability."""

    id: uuid.UUID
    title: str
    status: str = Field(description="new, or merged (then see merged_into_id).")
    aliases: list[str] = Field(description="Vulnerability ids of the cluster (CVE, GHSA, OSV...).")
    severity: str = Field(description="Worst severity among its findings.")
    findings: int = Field(description="Number of findings in the cluster (all finders).")
    finders: int = Field(description="Number of distinct finder organisations.")
    first_finder_org_id: uuid.UUID | None
    first_finder: str | None = Field(description="Name of the first finder (credited).")
    first_found_at: dt.datetime | None
    kev: list[str] = Field(description="Aliases listed in CISA's KEV catalog.")
    merged_into_id: uuid.UUID | None
    tlp: str
    created_at: dt.datetime


class ClusterPage(Page[ClusterRead]):
    """One page of vulnerability clusters."""

    total: int = Field(description="Clusters matching the filters.")


class CreditRead(BaseModel):
    """A finder organisation and the date of its first finding of this vulnerability."""

    org_id: str | None
    org: str
    found_at: dt.datetime | None
    first: bool = Field(description="True for the first finder; the others are co-finders.")


class ClusterEventRead(BaseModel):
    """One step of a cluster's history (dedup decisions and manual merges/splits)."""

    id: uuid.UUID
    kind: str = Field(description="join, merge, split or restore.")
    layer: int = Field(description="Dedup layer: 0 manual, 1 fingerprint, 2 alias, 3 location, 4 text.")
    layer_name: str
    score: float
    reason: str
    created_at: dt.datetime
    direction: str = Field(description="in: came to this cluster; out: left it.")
    other_cluster_id: uuid.UUID | None
    finding_id: uuid.UUID | None
    finding_title: str | None = Field(description="Title of the finding when you may see it.")
    finding_finder: str | None = Field(description="Its finder organisation, when you may see the finding.")
    other_label: str | None = Field(description="The other cluster's first alias, or its title.")
    finding_ids: list[str] = Field(description="Findings a manual merge or split moved.")
    actor: str | None = Field(description="Who took a manual decision.")


class CweRead(BaseModel):
    """A CWE id and its name from MITRE's list."""

    id: str
    name: str | None


class ClusterDetailRead(ClusterRead):
    """One cluster with its findings, credit, history and KEV entries."""

    findings_list: list[FindingRead] = Field(description="The findings you may see.")
    hidden_findings: int = Field(description="Findings of other organisations you may not see.")
    credit: list[CreditRead]
    history: list[ClusterEventRead]
    cwes: list[CweRead]


class MergeRequest(_In):
    """Fold another cluster into this one."""

    source_id: uuid.UUID = Field(description="The cluster to fold into this one (it becomes `merged`).")
    reason: str = Field(min_length=1, max_length=2000, description="Why (recorded with the merge).")


class SplitRequest(_In):
    """Move findings out of this cluster."""

    finding_ids: list[uuid.UUID] = Field(min_length=1, description="Findings to move out.")
    reason: str = Field(min_length=1, max_length=2000, description="Why (recorded with the split).")
    restore_id: uuid.UUID | None = Field(
        default=None,
        description="A cluster merged into this one earlier: move the findings back there and revive it "
        "(undoes the merge). Without it, a new cluster is created.",
    )


class SplitRead(BaseModel):
    """Both clusters after a split."""

    source: ClusterDetailRead
    created: ClusterDetailRead = Field(description="The cluster that received the findings.")


class ImportBatchRead(BaseModel):
    """What one import did."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    filename: str
    sha256: str
    format: str
    model_id: str | None
    received: int = Field(description="Elements seen (SARIF results, OSV records, vulnerabilities...).")
    new: int
    duplicates: int
    rejected: int
    warnings: list[dict[str, str]] = Field(description="Deviations tolerated, each with its JSON path.")
    owner_org_id: uuid.UUID = Field(description="The finder organisation.")
    tlp: str
    created_at: dt.datetime
