"""The SIM card: IMSI (subscriber identity) and ICCID (card serial number).

An IMSI is MCC (3 digits) + MNC (2 or 3) + subscriber number, 15 digits in all, and has no
check digit, so the mobile country and network codes are what tell it from any 15-digit
number. An ICCID is 19 or 20 digits starting 89 (telecom) and ends in a Luhn digit.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from borderflow.analysis.decode.fields import Field
from borderflow.analysis.detectors._api import Hit, detector
from borderflow.analysis.detectors.keys import has_kind, is_time_or_id_key
from borderflow.analysis.detectors.luhn import luhn_valid
from borderflow.analysis.records import Category


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Mobile country codes in use (ITU-T E.212).
MCCS: Final = _codes(
    """202 204 206 208 212 213 214 216 218 219 220 221 222 225 226 228 230 231 232 234 235 238
    240 242 244 246 247 248 250 255 257 259 260 262 266 268 270 272 274 276 278 280 282 283
    284 286 288 289 290 292 293 294 295 297 302 308 310 311 312 313 314 315 316 330 332 334
    338 340 342 344 346 348 350 352 354 356 358 360 362 363 364 365 366 368 370 372 374 376
    400 401 402 404 405 406 410 412 413 414 415 416 417 418 419 420 421 422 424 425 426 427
    428 429 430 431 432 434 436 437 438 440 441 450 452 454 455 456 457 460 461 466 467 470
    472 502 505 510 514 515 520 525 528 530 536 537 539 540 541 542 543 544 545 546 547 548
    549 550 551 552 553 554 555 602 603 604 605 606 607 608 609 610 611 612 613 614 615 616
    617 618 619 620 621 622 623 624 625 626 627 628 629 630 631 632 633 634 635 636 637 638
    639 640 641 642 643 645 646 647 648 649 650 651 652 653 654 655 657 658 659 702 704 706
    708 710 712 714 716 722 724 730 732 734 736 738 740 742 744 746 748 750"""
)
# Network codes of the largest markets; elsewhere any 2-digit MNC is accepted.
MNCS: Final[dict[str, frozenset[str]]] = {
    "460": _codes("00 01 02 03 04 05 06 07 08 09 11 15 20"),  # China
    "454": _codes("00 01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 29"),  # Hong Kong
    "466": _codes("01 05 06 07 09 11 88 89 92 93 97 99"),  # Taiwan
    "440": _codes("00 01 02 03 04 05 06 07 08 09 10 11 20 21 50 51 52 53 54"),  # Japan
    "450": _codes("02 03 04 05 06 08 11 12"),  # South Korea
    "234": _codes("00 01 02 03 07 10 11 15 20 30 31 32 33 34 50 55 58"),  # United Kingdom
    "262": _codes("01 02 03 04 05 06 07 08 09 11 12 13 14 15 16 17 20 23 33 42 43 77"),  # Germany
    "208": _codes("01 02 09 10 11 13 14 15 16 20 21 26 88"),  # France
    "525": _codes("01 02 03 05 06 07 10"),  # Singapore
}
_US_MCCS: Final = frozenset({"310", "311", "312", "313", "314", "315", "316"})  # 3-digit MNCs
_FIFTEEN: Final = re.compile(r"(?<!\d)\d{15}(?!\d)")
_ICCID: Final = re.compile(r"(?<!\d)89\d{17,18}(?!\d)")


def imsi_network(digits: str) -> str | None:
    """``MCC-MNC`` when the 15 digits start with a real mobile country and network code."""
    mcc = digits[:3]
    if len(digits) != 15 or mcc not in MCCS:
        return None
    if mcc in _US_MCCS:
        return f"{mcc}-{digits[3:6]}"
    networks = MNCS.get(mcc)
    if networks is not None and digits[3:5] not in networks:
        return None
    return f"{mcc}-{digits[3:5]}"


@detector(
    Category.IDENTIFIERS_DEVICE,
    examples=('{"imsi": "460001234567890"}', "subscriberId=310260123456789"),
    counterexamples=(
        '{"imsi": "460991234567890"}',
        '{"imsi": "999001234567890"}',
        '{"ts": "460001234567890"}',
        "460001234567890",
    ),
    kinds="imsi",
)
def imsi(field: Field) -> Iterator[Hit]:
    """15 digits under an IMSI key whose MCC and MNC are real."""
    if not has_kind(field.key, "imsi"):
        return
    for match in _FIFTEEN.finditer(field.text):
        network = imsi_network(match.group())
        if network is not None:
            reason = f"IMSI of network {network} under key '{field.key}'"
            yield Hit(field=field, value=match.group(), confidence=0.9, reason=reason)


@detector(
    Category.IDENTIFIERS_DEVICE,
    examples=('{"iccid": "89860318740200123452"}', '{"sim_serial": "8944110068256270054"}'),
    counterexamples=(
        '{"iccid": "89860318740200123453"}',
        '{"order_no": "8986031874020012345"}',
        '{"amount": "8944110068256270054"}',
    ),
    kinds="iccid",
    pattern=r"89\d{17}",
)
def iccid(field: Field) -> Iterator[Hit]:
    """19-20 digits starting 89 with a valid Luhn digit; unnamed ones only from China (8986)
    and with low confidence."""
    named = has_kind(field.key, "iccid")
    if not named and is_time_or_id_key(field.key):
        return
    for match in _ICCID.finditer(field.text):
        digits = match.group()
        checked = digits if luhn_valid(digits) else None
        if checked is None and len(digits) == 20 and luhn_valid(digits[:19]):
            checked = digits  # some 20-digit ICCIDs carry the Luhn digit in position 19
        if checked is None:
            continue
        if named:
            reason = f"Luhn-valid ICCID under key '{field.key}'"
            yield Hit(field=field, value=digits, confidence=0.9, reason=reason)
        elif digits.startswith("8986"):
            reason = "Luhn-valid 19-20 digit number with China's SIM prefix 8986, no key"
            yield Hit(field=field, value=digits, confidence=0.45, reason=reason)
