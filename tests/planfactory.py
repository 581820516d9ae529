"""A small, fully specified plan tree shared by tests of the plan, persistence and pipeline."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from adsgen.domain.enums import (
    BudgetType,
    CampaignStatus,
    DeviceType,
    FrequencyPeriod,
    Genre,
    Industry,
    Objective,
    QAStatus,
)
from adsgen.domain.schemas import AdvertiserCreate

START, END = datetime(2026, 9, 1), datetime(2026, 9, 11)


def sample_advertiser(
    name: str, *, campaign_status: CampaignStatus = CampaignStatus.active,
    industry: Industry = Industry.automotive,
) -> AdvertiserCreate:
    """One advertiser, one campaign, a lifetime and a daily line item, 2 creatives each."""
    creative = {"name": "spot", "duration_s": 30, "asset_url": "https://cdn.example/a.mp4"}
    item = {
        "name": "li",
        "cpm": Decimal("25"),
        "budget": {"amount": Decimal("1000")},
        "flight": {"start": START, "end": END},
        "targeting": {"device": [DeviceType.ctv], "genre": [Genre.drama]},
        "creatives": [creative, {**creative, "name": "rejected",
                                 "qa_status": QAStatus.rejected_not_servable}],
    }
    daily = {**item, "name": "daily", "budget": {"amount": Decimal("50"),
                                                 "budget_type": BudgetType.daily}}
    return AdvertiserCreate.model_validate({
        "name": name, "industry": industry, "domain": "x.example",
        "campaigns": [{
            "name": "c", "objective": Objective.awareness, "status": campaign_status,
            "budget": {"amount": Decimal("5000")}, "flight": {"start": START, "end": END},
            "frequency_cap": {"max_impressions": 3, "time_unit": FrequencyPeriod.days},
            "line_items": [item, daily],
        }],
    })
