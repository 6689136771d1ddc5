"""The command line (``imagine-bot``): a platform like Slack and Discord, outside the
core. ``__main__`` parses; ``commands`` (imagine, status), ``doctor``, ``usage``,
``models`` and ``demo`` each run one command; ``terminal`` is imagine's translate +
render (intakes, placer, sink); ``run`` is ``adapters.app.run``."""
