"""Handwritten digit recognition: one reading path shared by the app, the webcam and the CLI."""

from .reader import ModelError, Recognizer
from .result import Digit, Reading

__all__ = ["Digit", "ModelError", "Reading", "Recognizer"]
