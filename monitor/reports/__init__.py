"""Learning from every case: causes and tags, the figures of the reports, the
satisfaction survey after a check-in, and the weekly digest.

causes: the cause suggested from a case's text (pure); service: a case's cause and
tags; surveys: the signed single-use survey link and its answer; period: the period,
buckets and filters a report is asked for; sql: portable SQL for durations and
percentiles; queries (volume, outcome), promise_figures, stage_figures: the figures,
each computed by SQL; digest + scheduled: the weekly summary and the suggestion job.
"""
