"""Database helpers below the domain: bulk writes, SQL list binding, locks that die with
their process, leases, sealed secrets, WAL checkpoints, migrations.
"""
