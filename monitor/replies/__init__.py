"""Outbound replies: compose and record in the outbox (service), the template guard (guard,
index), delivery (scheduled, claims, outcomes, reconcile).
"""
