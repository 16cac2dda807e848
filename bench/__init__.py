"""Benchmarks of calc, and the budget check that CI runs.

``python -m bench`` runs the full suite and prints one table per section:

1. request cost under the production server (``calc serve``), as ratios to
   ``GET /healthz``, the framework's floor;
2. the engine in process (microseconds per assessment);
3. cold start, import time and memory per worker;
4. page weight (bytes and requests with every same-origin asset);
5. cohort throughput (rows per second, and how time grows with rows).

``python -m bench --check`` runs the quick budget check (ratios, best of three
short rounds) and exits 1 if a budget is broken; ``tests/system/test_bench_budget.py``
runs the same check under pytest.

Everything runs on this machine only: the server binds 127.0.0.1 on a free
port, and every load is bounded in requests and in time.
"""
