"""The domain: one module per concept. Pure rules and services; storage is behind repositories."""
