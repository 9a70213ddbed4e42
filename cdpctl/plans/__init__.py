"""Tracking plans: load one (Segment Protocols, Avo, RudderStack or Snowplow Iglu) into one
model, check mappings against it statically (cdpctl.lint.plan) and events against it at run
time (`TrackingPlan.checker().violations(event)`)."""

from __future__ import annotations

from cdpctl.plans.formats import FORMATS, PlanError, load_plan
from cdpctl.plans.model import SECTIONS, PlanEvent, PlanProperty, TrackingPlan

__all__ = [
    "FORMATS",
    "SECTIONS",
    "PlanError",
    "PlanEvent",
    "PlanProperty",
    "TrackingPlan",
    "load_plan",
]
