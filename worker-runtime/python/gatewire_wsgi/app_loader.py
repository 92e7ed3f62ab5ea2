"""Finds the WSGI application: ``package.module:attribute`` (the attribute defaults to ``application``)."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any, Callable

from .errors import AppLoadError, ConfigError


def split_app_spec(spec: str) -> tuple[str, str]:
    module, _, attribute = spec.partition(":")
    attribute = attribute or "application"
    if not module or not all(part.isidentifier() for part in module.split(".")):
        raise ConfigError(f"app {spec!r} is not of the form package.module:application")
    if not all(part.isidentifier() for part in attribute.split(".")):
        raise ConfigError(f"app {spec!r}: {attribute!r} is not an attribute name")
    return module, attribute


def add_search_path(directory: str) -> None:
    """Makes modules in `directory` importable, first (like running a script from there)."""
    directory = os.path.abspath(directory)
    if directory not in sys.path:
        sys.path.insert(0, directory)


def load_app(spec: str) -> Callable[..., Any]:
    """Imports the module and returns the callable; AppLoadError says what went wrong."""
    module_name, attribute = split_app_spec(spec)
    try:
        module = importlib.import_module(module_name)
    except Exception as error:
        raise AppLoadError(f"importing {module_name!r} failed: {type(error).__name__}: {error}") from error
    target: Any = module
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise AppLoadError(f"module {module_name!r} has no attribute {attribute!r}") from None
    if not callable(target):
        raise AppLoadError(f"{spec} is a {type(target).__name__}, not a WSGI callable")
    app: Callable[..., Any] = target
    return app
