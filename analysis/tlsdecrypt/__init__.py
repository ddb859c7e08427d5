"""TLS decryption for replayed captures: NSS key logs, key schedules and record protection."""
