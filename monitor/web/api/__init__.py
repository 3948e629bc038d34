"""The REST API under /api/v1 (bearer tokens): one router module per noun, with their request
and response models.
"""
