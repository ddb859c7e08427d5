"""Detectors: small named functions that find one kind of personal data in a field.

``ALL`` lists every built-in detector, in the order they run; the order is part of the
output (findings come out group by group, then in this order), so it is explicit here.
"""

from __future__ import annotations

from typing import Final

from borderflow.analysis.detectors import contacts, device_ids, financial, location
from borderflow.analysis.detectors._api import Detector, Hit, detector, group_detector

__all__ = ["ALL", "Detector", "Hit", "detector", "group_detector"]

ALL: Final[tuple[Detector, ...]] = (
    contacts.email,
    contacts.phone,
    financial.payment_card,
    device_ids.imei,
    device_ids.advertising_id,
    location.lat_lon_pair,
)
