"""Clearinghouse API models."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["KevEntryRead", "KevLoadRead"]


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
