"""cdpctl: check, preview, send and replay Segment-format event mappings to marketing providers."""

__version__ = "0.1.0"
