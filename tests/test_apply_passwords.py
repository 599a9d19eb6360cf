"""R1: generated passwords are unpredictable, complex, and never look like a formula."""

from __future__ import annotations

from collections import Counter

from userbatch import passwords
from userbatch.passwords import generate_passwords


def test_each_required_character_class_lands_on_every_inner_position_r1():
    batch = generate_passwords(20_000)
    symbols = set(passwords.SYMBOLS.tobytes().decode())
    positions = Counter(i for p in batch for i, c in enumerate(p) if c in symbols)
    assert set(positions) == set(range(1, 16))  # shuffled, never the first character
    assert all(p[0].isupper() and p[0] not in "=+-@" for p in batch)
    assert len(set(batch)) == len(batch)


def test_three_class_slots_are_distinct_and_uniform_r1():
    first, second, third = passwords._distinct_slots(130_000, 15)
    assert ((first != second) & (second != third) & (first != third)).all()
    triples = Counter(zip(first.tolist(), second.tolist(), third.tolist(), strict=True))
    assert len(triples) == 15 * 14 * 13  # every ordered triple occurs
    for slot in (first, second, third):  # each class equally likely at each position
        counts = Counter(slot.tolist())
        assert max(counts.values()) < 1.1 * min(counts.values())


def test_no_password_for_no_user():
    assert generate_passwords(0) == []
