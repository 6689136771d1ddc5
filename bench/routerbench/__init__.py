"""The failover benchmark's parts; ``bench/router_bench.py`` is the entry point.

- ``config``: the chain, the scaled latencies and the other constants;
- ``scenarios``: the fault schedules S1–S5 (failover) and R1–R5 (recovery);
- ``sandbox``: the sandbox in a child process (or in process) and its fault windows;
- ``strategies``: router, naive and oracle over the real provider adapters;
- ``harness``: open-loop load and one (scenario, strategy) run;
- ``metrics``: percentiles, the recovery figures and the summary of one run;
- ``overhead``: the router's own cost against instant in-process providers;
- ``report``: targets, the markdown table, the console timeline;
- ``charts``: the bar chart, the S3/S5 timeline and the R1–R5 recovery timeline;
- ``cli``: the whole run, the output files and ``--from-json`` re-rendering.
"""
