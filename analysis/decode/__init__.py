"""Decoders that unwrap a payload into fields, each keeping the path it was found at."""
