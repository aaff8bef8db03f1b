"""The local stack: moto's server on loopback as the local AWS, the Chalice app beside it.

Provisioning uses the same definitions infra/ deploys (chalicelib.repositories.tables), so the
local tables and the deployed ones cannot disagree.
"""
