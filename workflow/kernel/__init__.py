"""The kernel: database, configuration, errors, time and the working-day calendar,
input checks, the definition registry, the outbox and keyset paging. It knows
nothing of projects or reforms."""
