"""One emulator module per provider; each defines EMULATOR."""
