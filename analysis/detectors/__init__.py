"""Detectors: small named functions that find one kind of personal data in a field.

``ALL`` lists every built-in detector, in the order they run; the order is part of the
output (findings come out group by group, then in this order), so it is explicit here.
"""

from __future__ import annotations

from typing import Final

from borderflow.analysis.detectors import (
    activity,
    address,
    banking,
    contacts,
    credentials,
    device_ids,
    financial,
    fingerprint,
    government_ids,
    location,
    network,
    people,
    sim,
    structures,
)
from borderflow.analysis.detectors._api import (
    Detector,
    Hit,
    detector,
    group_detector,
    records_detector,
)

__all__ = ["ALL", "Detector", "Hit", "detector", "group_detector", "records_detector"]

ALL: Final[tuple[Detector, ...]] = (
    contacts.email,
    contacts.phone,
    people.person_name,
    address.postal_address,
    financial.payment_card,
    financial.card_security_code,
    banking.iban,
    banking.bank_account,
    banking.financial_fact,
    government_ids.government_id,
    device_ids.imei,
    device_ids.device_identifier,
    device_ids.device_mac,
    sim.imsi,
    sim.iccid,
    device_ids.advertising_id,
    people.user_identifier,
    location.lat_lon_pair,
    location.place_name,
    network.ip_address,
    network.wifi_network,
    network.cell_tower,
    fingerprint.device_fingerprint,
    credentials.credential,
    activity.search_terms,
    activity.visited_pages,
    activity.written_content,
    activity.health_reading,
    structures.app_list,
    structures.address_book,
    structures.app_records,
    structures.health_records,
)
