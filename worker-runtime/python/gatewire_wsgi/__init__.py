"""gatewire-wsgi: hosts any WSGI application (Django included) as gatewire worker processes.

Run it with ``python3 -m gatewire_wsgi module:application --socket-dir DIR``; see README.md.
"""

from __future__ import annotations

__version__ = "0.1.0"
SERVER_SOFTWARE = f"gatewire-wsgi/{__version__}"

__all__ = ["__version__", "SERVER_SOFTWARE"]
