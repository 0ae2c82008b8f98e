"""Field-level envelope encryption: sealing, key providers, data keys, blind index."""

from .keys import DataKeys, KeyUnavailable, data_keys
from .providers import KeyProvider, KeyStoreError, create_key_material, open_key_provider
from .providers.local import LocalKeyring
from .sealing import SealError

__all__ = [
    "DataKeys",
    "KeyProvider",
    "KeyStoreError",
    "KeyUnavailable",
    "LocalKeyring",
    "SealError",
    "create_key_material",
    "data_keys",
    "open_key_provider",
]
