"""Converters from other tools' event feeds into Segment events that `cdpctl replay` reads."""
