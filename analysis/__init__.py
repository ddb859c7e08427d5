"""Records, decoding, detection, storage and the command line."""
