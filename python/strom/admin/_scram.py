"""SCRAM credentials' admin types, as confluent-kafka names them
(`confluent_kafka.admin._scram`)."""

from __future__ import annotations

from enum import Enum
from typing import List, Optional


class ScramMechanism(Enum):
    UNKNOWN = 0
    SCRAM_SHA_256 = 1
    SCRAM_SHA_512 = 2


class ScramCredentialInfo:
    """A mechanism and its PBKDF2 iteration count."""

    def __init__(self, mechanism: ScramMechanism, iterations: int) -> None:
        self.mechanism = mechanism
        self.iterations = iterations

    def __repr__(self) -> str:
        return f"ScramCredentialInfo({self.mechanism}, {self.iterations})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ScramCredentialInfo)
            and (self.mechanism, self.iterations) == (other.mechanism, other.iterations)
        )


class UserScramCredentialsDescription:
    """A user and its credentials (never the keys)."""

    def __init__(self, user: str, scram_credential_infos: List[ScramCredentialInfo]) -> None:
        self.user = user
        self.scram_credential_infos = scram_credential_infos

    def __repr__(self) -> str:
        return f"UserScramCredentialsDescription({self.user!r}, {self.scram_credential_infos})"


class UserScramCredentialAlteration:
    """Base of an upsertion or deletion."""

    def __init__(self, user: str) -> None:
        self.user = user


class UserScramCredentialUpsertion(UserScramCredentialAlteration):
    """Sets `user`'s credential for the info's mechanism. The password is
    salted and hashed here; only the salted password is sent."""

    def __init__(
        self,
        user: str,
        scram_credential_info: ScramCredentialInfo,
        password: bytes,
        salt: Optional[bytes] = None,
    ) -> None:
        super().__init__(user)
        self.scram_credential_info = scram_credential_info
        self.password = password
        self.salt = salt


class UserScramCredentialDeletion(UserScramCredentialAlteration):
    """Removes `user`'s credential for `mechanism`."""

    def __init__(self, user: str, mechanism: ScramMechanism) -> None:
        super().__init__(user)
        self.mechanism = mechanism
