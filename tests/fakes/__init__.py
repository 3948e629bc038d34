"""Fake vendor servers the tests start on 127.0.0.1 (port 0), spoken to over real HTTP."""
