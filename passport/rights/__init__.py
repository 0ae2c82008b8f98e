"""Data-protection rights: subject access, erasure with a decision, retention (issue 16)."""
