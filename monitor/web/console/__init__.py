"""The console's HTML pages and forms (signed-in staff, CSRF)."""
