"""End-to-end tests: a real mitmdump with the recorder, real clients, all on 127.0.0.1."""
