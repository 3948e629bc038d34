"""From a fetched batch to the queue: dedupe, place, score and store atomically with the cursor
(service), polling, and import/export (transfer).
"""
