"""Speaking the social-protection standards: DCI registries and G2P Connect (docs/interop.md)."""
