"""A local emulator of every provider's API, for live sends without touching production."""
