"""``make bench``: latency, Connect calls, cold start, memory and package size of the provider, many resources
at once under the account's Connect quota, and a failover while the home region is down.

Run with ``python -m local.bench``; it writes docs/benchmarks.md. :mod:`local.bench.probes` holds the
measurements that need a fresh process of their own, :mod:`local.bench.realworld` the quota and failover phases.
"""
