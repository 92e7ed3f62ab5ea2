"""WSGI entry point: ``python3 -m gatewire_wsgi gatewire_demo.wsgi:application``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gatewire_demo.settings")

application = get_wsgi_application()
