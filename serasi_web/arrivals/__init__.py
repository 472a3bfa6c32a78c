"""Guests check themselves in: a lodging's QR poster opens a page where a party of guests types
(or captures) their own details; the operator checks them and approves, which reports each guest
through the same rules as the report form. Nothing a guest sends is reported without approval."""
