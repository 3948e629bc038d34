"""Database helpers below the domain: bulk writes, SQL list binding, leases, sealed secrets,
WAL checkpoints, migrations.
"""
