"""The classic destination's Title Case conversion of trait and property keys.

Segment never published its converter; this is cdpctl's algorithm (reference §5.3), which
reproduces every example the classic docs give. SFMC matches column names without regard to
case, so what matters is where words split: `Address 2` and `Address2` are different columns.
"""

from __future__ import annotations


def title_case(key: str) -> str:
    """`firstName`, `first_name` → `First Name`; `userID` → `User ID`; `address2` → `Address 2`."""
    return " ".join(word[0].upper() + word[1:] for word in split_words(key))


def split_words(key: str) -> list[str]:
    """Words of a key: separators (anything but letters and digits) are dropped, and a word
    starts at lower→upper, at the last capital of a capital run followed by a lower-case
    letter, and at every letter↔digit change."""
    words: list[str] = []
    current: list[str] = []
    for index, char in enumerate(key):
        if not (char.isalpha() or char.isdigit()):
            if current:
                words.append("".join(current))
                current = []
            continue
        if current and _starts_word(current[-1], char, key[index + 1 : index + 2]):
            words.append("".join(current))
            current = []
        current.append(char)
    if current:
        words.append("".join(current))
    return words


def _starts_word(previous: str, char: str, following: str) -> bool:
    if previous.islower() and char.isupper():
        return True
    if previous.isupper() and char.isupper() and following.islower():
        return True
    return previous.isdigit() != char.isdigit()
