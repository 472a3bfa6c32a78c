"""Delivery of stay events to other systems: the transactional outbox and its forwarders."""
