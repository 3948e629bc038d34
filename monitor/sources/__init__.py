"""Sources turn a vendor's feed into :class:`monitor.mentions.MentionIn` batches.

Sources never touch the database: ``ingest`` hands them the stored cursor and
persists what they return, together with the next cursor, in one transaction.
"""
