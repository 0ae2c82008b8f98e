"""The passport: sections, entries, revisions, contributors."""
