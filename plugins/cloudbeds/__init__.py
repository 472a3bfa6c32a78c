"""Bundled plugin: a pull adapter for Cloudbeds (placeholder until the adapter is written)."""
