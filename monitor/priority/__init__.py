"""A case's frustration score and queue priority, recomputed from stored text scores whenever
its context changes.
"""
