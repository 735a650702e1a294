"""Factories per domain: `sites` (sites, their reports, bulk data), `exceptions` (grants),
`accounts` (users, PASSWORD)."""
