"""Wire-faithful fakes of Gemini ``generateContent`` and OpenAI Images, with fault scripts,
the vendors' model lists, and the catalogue's models served (retired ids answer 404).

Used by the adapter tests, the load benchmark and ``imagine-bot demo``; also
runnable on its own: ``python -m adapters.sandbox --port 8765``.
"""

from adapters.sandbox.faults import KINDS, Fault
from adapters.sandbox.models import Offer
from adapters.sandbox.records import Call
from adapters.sandbox.server import Sandbox

__all__ = ["KINDS", "Call", "Fault", "Offer", "Sandbox"]
