"""Composition: the only place that builds concrete sources, responders, scorers and jobs from
the configuration.
"""
