"""Person resolution rules: when two identities are the same person, or might be.

The rules, in order:

1. The same national id is the same person.
2. Otherwise the same normalised given name, family name and date of birth is the same person,
   unless both have a phone number and the numbers differ, or both have national ids that differ.
   When one side has no date of birth (a venue's visitor list), the same name and the same phone
   number are the same person.
3. Anything close (a small typo in the name, given and family names swapped, same name and birth
   date with a different phone) is a *merge candidate* with its evidence, never merged silently.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from rapidfuzz.distance import DamerauLevenshtein

MAX_TYPO_EDITS = 2


@dataclass(frozen=True)
class Identity:
    """What a report or interview says about who someone is."""

    given_name: str
    family_name: str
    date_of_birth: date | None
    phone: str | None = None
    national_id: str | None = None


def normalise_name(name: str) -> str:
    """Casefold, strip accents and punctuation, collapse spaces: 'Zoë  O'Brien' -> 'zoe obrien'."""
    decomposed = unicodedata.normalize("NFKD", name)
    without_marks = "".join(c for c in decomposed if not unicodedata.combining(c))
    letters = re.sub(r"[^\w\s]", "", without_marks.casefold())
    return " ".join(letters.split())


def normalise_phone(phone: str | None) -> str | None:
    """Digits only, keeping a leading plus; None when there are no digits."""
    if not phone:
        return None
    digits = re.sub(r"\D", "", phone)
    if not digits:
        return None
    return ("+" if phone.strip().startswith("+") else "") + digits


def name_key(given_name: str, family_name: str) -> str:
    """The exact-match key of a name."""
    return f"{normalise_name(given_name)}|{normalise_name(family_name)}"


def is_same_person(a: Identity, b: Identity) -> bool:
    """Rules 1 and 2: whether two identities are certainly the same person."""
    if a.national_id and b.national_id:
        return a.national_id.strip() == b.national_id.strip()
    if name_key(a.given_name, a.family_name) != name_key(b.given_name, b.family_name):
        return False
    phone_a, phone_b = normalise_phone(a.phone), normalise_phone(b.phone)
    if a.date_of_birth is None or b.date_of_birth is None:
        return bool(phone_a and phone_b and phone_a == phone_b)
    if a.date_of_birth != b.date_of_birth:
        return False
    return not (phone_a and phone_b and phone_a != phone_b)


def duplicate_evidence(a: Identity, b: Identity) -> str | None:
    """Rule 3: why two identities that are not the same person might be, or None."""
    if is_same_person(a, b) or a.date_of_birth is None or a.date_of_birth != b.date_of_birth:
        return None
    given_a, family_a = normalise_name(a.given_name), normalise_name(a.family_name)
    given_b, family_b = normalise_name(b.given_name), normalise_name(b.family_name)
    born = f"both born {a.date_of_birth.isoformat()}"
    if (given_a, family_a) == (given_b, family_b):
        phone_a, phone_b = normalise_phone(a.phone), normalise_phone(b.phone)
        if phone_a and phone_b and phone_a != phone_b:
            return f"same name, {born}, different phones ({phone_a} vs {phone_b})"
        return f"same name, {born}, different national ids"
    if (given_a, family_a) == (family_b, given_b):
        return f"given and family names swapped ('{a.given_name} {a.family_name}' vs " \
               f"'{b.given_name} {b.family_name}'), {born}"
    edits = DamerauLevenshtein.distance(f"{given_a} {family_a}", f"{given_b} {family_b}")
    if edits <= MAX_TYPO_EDITS:
        return f"names differ by {edits} letter(s) ('{a.given_name} {a.family_name}' vs " \
               f"'{b.given_name} {b.family_name}'), {born}"
    return None
