"""botoware's hook contract (``specs``), its markers, the per-call state and the bridge."""
