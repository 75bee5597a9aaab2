"""trident: distil CodeT5+ teachers into students that write Java test assertions."""

__version__ = "0.1.0"
