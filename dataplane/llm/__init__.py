"""The LLM layer: model calls read, masked, restored and accounted for, without I/O.

The HTTP plug-in opens an exchange per request on an llm resource (None: not a model
call, relay it as plain HTTP), passes the request body and the response bytes through
it, and hands the LlmCall it finishes with to the audit trail. BudgetBook keeps the
per-identity budgets and rate limits.
"""

from dataplane.llm.budget import BudgetBook, BudgetRefusal
from dataplane.llm.errors import LlmRequestError, llm_error_body
from dataplane.llm.exchange import LlmExchange, open_llm_exchange

__all__ = [
    "BudgetBook",
    "BudgetRefusal",
    "LlmExchange",
    "LlmRequestError",
    "llm_error_body",
    "open_llm_exchange",
]
