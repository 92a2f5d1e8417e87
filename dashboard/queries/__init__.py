"""Read-only, parameterised SQL for the dashboard, one module per page family.

Every statement runs through :mod:`dashboard.queries.gateway` (read-only transaction, the
engine's statement time limit, safe error messages).
"""
