"""Operations on a registry, one per module; the SDK façade calls them."""
