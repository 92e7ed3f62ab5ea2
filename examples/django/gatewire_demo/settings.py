"""Settings for the gatewire Django example, production-like: DEBUG off, explicit hosts,
static files collected into STATIC_ROOT for the proxy to serve under /static/, no database.

Everything a deployment changes comes from the environment:

| variable | default | meaning |
|---|---|---|
| DJANGO_SECRET_KEY | an example-only key | set a real one in any deployment |
| DJANGO_DEBUG | 0 | 1 turns DEBUG on (never in production) |
| DJANGO_ALLOWED_HOSTS | localhost,127.0.0.1,[::1] | comma-separated Host names served |
| DJANGO_STATIC_ROOT | <project>/staticfiles | where collectstatic writes; the proxy serves it at /static/ |
| DJANGO_SECURE_COOKIES | 0 | 1 marks the CSRF cookie Secure (when clients use HTTPS) |
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret-change-me-8c1f0e4a7d")
DEBUG = os.environ.get("DJANGO_DEBUG", "0") == "1"
ALLOWED_HOSTS = [host.strip() for host in os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",") if host.strip()]

INSTALLED_APPS = [
    "django.contrib.staticfiles",
    "demo",
]

# The DB-free subset of `startproject`'s middleware: no sessions, no auth (they need a database).
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "gatewire_demo.urls"
WSGI_APPLICATION = "gatewire_demo.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    },
]

DATABASES: dict = {}

# CSRF protection without sessions: the token lives in the csrftoken cookie.
CSRF_USE_SESSIONS = False
CSRF_COOKIE_SECURE = os.environ.get("DJANGO_SECURE_COOKIES", "0") == "1"
CSRF_COOKIE_HTTPONLY = False
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Request bodies above this many bytes are refused (uploads are streamed to temp files beyond
# FILE_UPLOAD_MAX_MEMORY_SIZE, 2.5 MB by default).
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", BASE_DIR / "staticfiles"))
# Hashed file names (site.3f2a…css) so the proxy can serve them with long cache lifetimes.
STORAGES = {
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# With DEBUG off Django would mail errors to ADMINS; log them to stderr instead, one record each.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django": {"handlers": ["stderr"], "level": "WARNING"},
    },
}
