"""Response-time targets: business hours, the target on each case, the SLA clock."""
