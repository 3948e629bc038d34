"""Where the tests find the repository, the shared inputs beside it, and their own data."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
SHARED = REPO.parent / "shared"
SPECS = SHARED / "specs"
EMAILS = TESTS / "emails"
