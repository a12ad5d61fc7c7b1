"""What a reading returns: plain data, easy to print, draw or serialize."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Digit:
    """One recognized digit; `box` is (x, y, w, h) in the original image's pixels."""

    label: int
    confidence: float  # P(one digit) x P(label): low for a piece of a digit or two squeezed digits
    box: tuple[int, int, int, int]
    proba: np.ndarray = field(repr=False)  # (10,) class probabilities
    model_input: np.ndarray = field(repr=False)  # what the model saw: 28x28 (CNN) or 8x8 (SVC)
    line: int = 0  # index of the text line, top to bottom
    number: int = 0  # index of the number within its line, left to right

    def to_dict(self) -> dict:
        return {
            "label": int(self.label),
            "confidence": round(float(self.confidence), 4),
            "box": [int(v) for v in self.box],
        }


@dataclass
class Reading:
    """The digits found in an image and the text they spell in reading order.

    `text`: digits of a number run together, numbers on a line joined by one space,
    lines joined by a newline; "" when no digit was found. `turned`: degrees clockwise the image
    was turned to be read (a sideways photo without its EXIF tag; see `orientation`), else 0;
    the boxes are in the image's own pixels either way.
    """

    text: str
    digits: list[Digit]
    turned: int = 0

    def to_dict(self) -> dict:
        out = {"text": self.text, "digits": [d.to_dict() for d in self.digits]}
        if self.turned:
            out["turned"] = self.turned
        return out


def reading_text(digits: list[Digit]) -> str:
    """Digits of a number together, numbers of a line joined by a space, lines by a newline."""
    lines: dict[int, dict[int, str]] = {}
    for d in digits:
        numbers = lines.setdefault(d.line, {})
        numbers[d.number] = numbers.get(d.number, "") + str(d.label)
    return "\n".join(" ".join(numbers[k] for k in sorted(numbers)) for _, numbers in sorted(lines.items()))
