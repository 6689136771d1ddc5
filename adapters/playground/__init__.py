"""The local web playground: a third platform (see app.py)."""
