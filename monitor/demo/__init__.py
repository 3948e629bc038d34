"""The simulated world of ``complaint-monitor demo``: scripted customers, their answers, and
vendors that deliver to a local file.
"""
