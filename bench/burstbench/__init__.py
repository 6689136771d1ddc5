"""The burst / sustained load benchmark for the Slack ack path (``bench/burst_bench.py``)."""
