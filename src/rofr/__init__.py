"""rofr: a contract-aware broker for AI compute capacity.

Layers (each imports only those below it): ``values`` < ``contract`` < ``optimize`` <
``engine`` (the pure core) < ``market``, ``store`` < ``broker`` (the imperative shell) <
``ledger``, ``audit`` < ``sim`` < ``api``, ``web`` < ``cli``.
"""

__version__ = "0.1.0"
