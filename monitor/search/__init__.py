"""Search across customers, mentions, replies and notes (full-text indexes, migration 0110)."""
