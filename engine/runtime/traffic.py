"""Demo and test traffic: valid mobile numbers for a few countries, messages in all three lanes."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import numpy as np
import phonenumbers

from engine.domain.enums import Lane
from engine.domain.messages import NewMessage, new_message_id

BODIES = {
    Lane.OTP: "Your code is {n:06d}. It expires in 5 minutes.",
    Lane.TRANSACTIONAL: "Your order {n} has shipped.",
    Lane.MARKETING: "Winter sale: 20% off everything this week. Reply STOP to opt out.",
}


def mobile_numbers(regions: Sequence[str], per_region: int, rng: np.random.Generator) -> list[str]:
    """Valid E.164 mobile numbers: each region's example number with random last digits."""
    out: list[str] = []
    for region in regions:
        example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
        if example is None:
            raise ValueError(f"no example mobile number for region {region!r}")
        base = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
        found = 0
        for _ in range(per_region * 20):
            candidate = base[:-4] + f"{int(rng.integers(0, 10_000)):04d}"
            parsed = phonenumbers.parse(candidate)
            if phonenumbers.is_valid_number(parsed):
                out.append(candidate)
                found += 1
                if found == per_region:
                    break
    return out


def messages(
    numbers: Sequence[str], count: int, lanes: Sequence[Lane], now: float, rng: np.random.Generator
) -> list[NewMessage]:
    out = []
    for _ in range(count):
        lane = lanes[int(rng.integers(0, len(lanes)))]
        to = numbers[int(rng.integers(0, len(numbers)))]
        body = BODIES[lane].format(n=int(rng.integers(0, 1_000_000)))
        out.append(
            NewMessage(new_message_id(now, secrets.token_bytes(6)), "demo", to, "A2PDemo", body, lane, now)
        )
    return out
