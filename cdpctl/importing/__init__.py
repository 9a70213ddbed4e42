"""Converters from other tools' configuration into cdpctl mapping files."""
