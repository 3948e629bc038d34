"""The queue item: the case state machine (service), the live queue listing (queries) and
everything about one case on one screen (casefile).
"""
