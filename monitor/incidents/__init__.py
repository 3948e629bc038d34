"""Incidents: one fault that many customers share (declare, attach, status, suggestions)."""
