"""One customer across channels: where a new message goes (placement), manual and stated links
(linking), and the facts a customer already gave (facts).
"""
