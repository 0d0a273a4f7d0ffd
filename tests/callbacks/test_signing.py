"""Signatures: what customers verify, with the function they can copy."""

from __future__ import annotations

import hashlib
import hmac
import re

import pytest

from engine.callbacks.signing import sign, verify

SECRET = "9f86d081884c7d659a2feaa0c55ad015"
BODY = b'{"id":"evt_1","type":"message.status","status":"delivered"}'
T = 1_700_000_000


def test_signature_verifies() -> None:
    assert verify(SECRET, sign(SECRET, BODY, T), BODY, now=T + 1.0)


def test_header_is_timestamp_and_hmac_of_timestamp_dot_body() -> None:
    header = sign(SECRET, BODY, T)
    assert re.fullmatch(r"t=1700000000,v1=[0-9a-f]{64}", header)
    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert header.endswith(expected)


def test_tampered_body_fails() -> None:
    assert not verify(SECRET, sign(SECRET, BODY, T), BODY.replace(b"delivered", b"undelivered"), now=T)


def test_wrong_secret_fails() -> None:
    assert not verify("another-secret", sign(SECRET, BODY, T), BODY, now=T)


@pytest.mark.parametrize("now", [T + 301.0, T - 301.0])
def test_timestamp_outside_tolerance_fails(now: float) -> None:
    assert not verify(SECRET, sign(SECRET, BODY, T), BODY, now=now)


def test_tolerance_is_configurable() -> None:
    assert verify(SECRET, sign(SECRET, BODY, T), BODY, now=T + 1000.0, tolerance_s=3600.0)


def test_changed_timestamp_fails() -> None:
    forged = sign(SECRET, BODY, T).replace(f"t={T}", f"t={T + 10}")
    assert not verify(SECRET, forged, BODY, now=T)


@pytest.mark.parametrize(
    "header", ["", "garbage", f"t={T}", "v1=00", f"t=x{T},v1=00", f"t={T},v1=", "t=١٢,v1=ab", "t=1,v1=é"]
)
def test_malformed_header_fails(header: str) -> None:
    assert not verify(SECRET, header, BODY, now=T)


def test_any_of_several_signatures_is_enough() -> None:
    """During a secret rotation a sender may sign with both secrets."""
    old, new = sign("old-secret", BODY, T), sign(SECRET, BODY, T)
    both = f"{old},v1={new.split('v1=')[1]}"
    assert verify(SECRET, both, BODY, now=T)
    assert verify("old-secret", both, BODY, now=T)


def test_text_body_is_its_utf8_bytes() -> None:
    text = '{"to":"+33612345678","note":"été"}'
    assert verify(SECRET, sign(SECRET, text.encode(), T), text, now=T)
