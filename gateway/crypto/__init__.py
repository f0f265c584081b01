"""Keys: the data-encryption key ring (AES-GCM) for sensitive categories at rest."""
