"""The security suite: each rule of docs/security.md held by a test."""
