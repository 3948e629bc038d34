"""What an outage needs to know, pulled out of what customers wrote."""

from __future__ import annotations

import pytest

from monitor.customers.facts import FactKind, collect, extract


def found(text: str) -> list[tuple[str, str]]:
    return [(f.kind.value, f.value) for f in extract(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "The app crashes with error E503 on my Pixel 8 Pro, Android 14, app version 5.2.1",
            [("error_code", "E503"), ("device", "Pixel 8 Pro"), ("os_version", "Android 14"),
             ("app_version", "5.2.1")],
        ),
        (
            "iphone 15 pro max on iOS 17.2, v5.2.0, error code 0x80070005",
            [("device", "iPhone 15 Pro Max"), ("os_version", "iOS 17.2"),
             ("app_version", "5.2.0"), ("error_code", "0x80070005")],
        ),
        ("It says ERR-1234 on my iPad Air (iPadOS 17.1)",
         [("error_code", "ERR-1234"), ("device", "iPad Air"), ("os_version", "iPadOS 17.1")]),
        ("Galaxy S23 Ultra, error: 401", [("device", "Galaxy S23 Ultra"), ("error_code", "401")]),
        ("desktop app 3.4 on windows 11", [("app_version", "3.4"), ("os_version", "Windows 11")]),
    ],
)  # fmt: skip
def test_error_codes_versions_devices(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


def test_old_kinds_are_unchanged_and_a_version_is_not_a_date() -> None:
    assert found("Order 88213 arrived broken, invoice INV-2231 dated 12.03.2026") == [
        ("order", "88213"),
        ("order", "INV-2231"),
        ("date", "12.03.2026"),
    ]
    assert found("after the 5.2.1 update it broke") == [("app_version", "5.2.1")]
    # No keyword, no code: plain numbers and words stay what they were.
    assert found("I waited 45 minutes and called 3 times") == []


def test_an_answer_to_ask_for_details_becomes_facts_once() -> None:
    facts = collect([(1, "It crashes, E503."), (2, "It's a Pixel 8 on Android 14, E503 again")])
    kinds = [(f.kind, f.value, f.source_id) for f in facts]
    assert kinds == [
        (FactKind.ERROR_CODE, "E503", 1),
        (FactKind.DEVICE, "Pixel 8", 2),
        (FactKind.OS_VERSION, "Android 14", 2),
    ]
