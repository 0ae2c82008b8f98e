"""Field-level envelope encryption: sealing, key providers, data keys, blind index."""

from .keys import DataKeys, KeyUnavailable, data_keys
from .providers import KeyProvider, LocalKeyring
from .sealing import SealError

__all__ = ["DataKeys", "KeyProvider", "KeyUnavailable", "LocalKeyring", "SealError", "data_keys"]
