"""Document capture: decoding photos and parsing document payloads."""
