"""Feed writers for the synthetic county, one module per source format (see gateway.synth)."""
