"""The promise ledger (service, queries), promises found in reply text (text), the clock that
reminds and escalates (clock, scheduled), and promises the app performs itself (perform).
"""
