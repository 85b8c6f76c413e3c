"""Secrets at rest: the deployment key file and Fernet encryption of stored secrets."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from frontiersec.platform.errors import FrontiersecError

__all__ = ["SecretBox", "load_or_create_secret_key"]


def load_or_create_secret_key(path: Path) -> bytes:
    """Read the deployment's Fernet key, creating it (mode 0600) on first start."""
    if path.exists():
        key = path.read_bytes().strip()
        Fernet(key)  # raises if the file is not a valid key
        return key
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Fernet.generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key + b"\n")
    return key


class SecretBox:
    """Encrypts and decrypts secrets (credentials, webhook secrets, private keys) with Fernet."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def encrypt(self, plaintext: bytes) -> bytes:
        """Authenticated encryption of ``plaintext``."""
        return self._fernet.encrypt(plaintext)

    def decrypt(self, token: bytes) -> bytes:
        """Decrypt a token made by :meth:`encrypt`; a wrong key or a changed byte is an error."""
        try:
            return self._fernet.decrypt(token)
        except InvalidToken as exc:
            raise FrontiersecError("a stored secret could not be decrypted (wrong secret key?)") from exc

    def encrypt_str(self, plaintext: str) -> str:
        """Encrypt a text secret to an ASCII token."""
        return self.encrypt(plaintext.encode()).decode()

    def decrypt_str(self, token: str) -> str:
        """Decrypt an ASCII token back to text."""
        return self.decrypt(token.encode()).decode()
