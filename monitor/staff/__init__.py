"""Staff accounts and API tokens (accounts) and limits on failed sign-ins (sign_in_limits)."""
