"""An app that cannot be imported: for crash-loop detection."""

raise RuntimeError("this module fails at import on purpose")
