"""Alerts to staff: the rows to send (service), the worker that sends them (delivery), and
webhook subscriptions with their deliveries (webhooks).
"""
