"""X pay-per-use: the cost meter (billable resources per endpoint and UTC day) and budgets."""
