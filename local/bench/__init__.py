"""``make bench``: latency, Connect calls, cold start, memory and package size of the provider.

Run with ``python -m local.bench``; it writes docs/benchmarks.md. :mod:`local.bench.probes` holds the
measurements that need a fresh process of their own.
"""
