"""Email as a source: the IMAP folder poller (imap) and pure parsing of raw messages (mime,
html, quotes).
"""
