"""Invite codes: unambiguous alphabet, no collisions, not enumerable, canonical input."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from laoke.referrals import codes

AMBIGUOUS = set("0O1Il")


def test_a_million_codes_have_no_ambiguous_characters_and_no_collisions() -> None:
    generated = {codes.new_code() for _ in range(1_000_000)}
    assert len(generated) == 1_000_000
    used = set().union(*(set(code) for code in list(generated)[:20_000]))
    assert not used & AMBIGUOUS
    assert all(len(code) == codes.CODE_LENGTH for code in list(generated)[:1000])


def test_the_code_space_makes_a_random_walk_hopeless() -> None:
    space = len(codes.ALPHABET) ** codes.CODE_LENGTH
    assert not AMBIGUOUS & set(codes.ALPHABET)
    # With a million codes issued, a guess finds one with probability below 1 in 10⁸.
    assert 1_000_000 / space < 1e-8


@given(st.text(max_size=40))
def test_clean_code_accepts_only_canonical_codes(raw: str) -> None:
    cleaned = codes.clean_code(raw)
    if cleaned is not None:
        assert len(cleaned) == codes.CODE_LENGTH
        assert set(cleaned) <= set(codes.ALPHABET)


@given(st.text(alphabet=codes.ALPHABET, min_size=10, max_size=10))
def test_typed_codes_are_case_and_space_insensitive(code: str) -> None:
    assert codes.clean_code(f" {code.lower()[:5]}-{code.lower()[5:]} ") == code
