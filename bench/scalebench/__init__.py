"""Several bot processes on one PostgreSQL and one Redis (``bench/scale_bench.py``)."""
