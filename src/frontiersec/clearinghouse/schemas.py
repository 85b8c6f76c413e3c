"""Clearinghouse API models."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "KevEntryRead",
    "KevLoadRead",
    "SbomComponentRead",
    "SbomMatchRead",
    "SbomVulnerabilityRead",
]


class KevEntryRead(BaseModel):
    """A KEV catalog entry, with CISA's field meanings."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    cve_id: str = Field(description="`cveID`.")
    vendor_project: str = Field(description="`vendorProject`.")
    product: str
    vulnerability_name: str = Field(description="`vulnerabilityName`.")
    date_added: dt.date = Field(description="`dateAdded`: when CISA added it to the catalog.")
    short_description: str
    required_action: str
    due_date: dt.date = Field(description="`dueDate`: the BOD 22-01 remediation deadline for FCEB agencies.")
    known_ransomware_campaign_use: str = Field(description="`knownRansomwareCampaignUse`: Known or Unknown.")
    notes: str
    cwes: list[str]
    tlp: str


class KevLoadRead(BaseModel):
    """Outcome of a catalog load."""

    catalog_version: str
    total: int
    added: int
    updated: int
    unchanged: int


class SbomVulnerabilityRead(BaseModel):
    """One advisory affecting an SBOM component."""

    id: str = Field(description="OSV id of the advisory.")
    aliases: list[str] = Field(description="Other ids of the same vulnerability (CVE, GHSA...).")
    fixed: str | None = Field(description="Lowest fixed version above the component's version, if any.")
    affected_range: str = Field(description="The affected versions as text, e.g. `>=1.0, <1.4.2`.")
    ecosystem: str = Field(description="OSV ecosystem of the matching entry.")
    package: str = Field(description="Package name as the advisory spells it.")


class SbomComponentRead(BaseModel):
    """One SBOM component and its matches (or why it was not matched)."""

    purl: str | None = Field(description="Package URL (with the component version).")
    name: str | None = Field(description="Component name.")
    version: str | None = Field(description="Component version.")
    vulnerabilities: list[SbomVulnerabilityRead] = Field(description="Advisories affecting this version.")
    skipped: str | None = Field(
        default=None,
        description="Why it was not matched: no_purl, no_version, invalid_purl, unparsable_version, "
        "unsupported_ecosystem.",
    )


class SbomMatchRead(BaseModel):
    """Every component of the SBOM, matched against the knowledge base."""

    components: list[SbomComponentRead]
    advisories: int = Field(description="Advisories in the index the SBOM was matched against.")
