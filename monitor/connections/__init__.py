"""Connected accounts: OAuth grants stored sealed, refreshed before expiry, and their states."""
