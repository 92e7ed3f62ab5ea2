"""wsgi.file_wrapper (PEP 3333 "Optional Platform-Specific File Handling")."""

from __future__ import annotations

from typing import Any

DEFAULT_BLOCK_SIZE = 256 * 1024


class FileWrapper:
    """Iterates a file in blocks; never reads it whole.

    The response writer recognises this type and, when the file is a regular file with a
    descriptor, sends it with os.sendfile instead of iterating (no copy through Python).
    """

    def __init__(self, filelike: Any, blksize: int = DEFAULT_BLOCK_SIZE) -> None:
        self.filelike = filelike
        self.blksize = blksize if blksize and blksize > 0 else DEFAULT_BLOCK_SIZE
        if hasattr(filelike, "close"):
            self.close = filelike.close

    def __iter__(self) -> "FileWrapper":
        return self

    def __next__(self) -> bytes:
        data: bytes = self.filelike.read(self.blksize)
        if data:
            return data
        raise StopIteration
