"""Personal data lifecycle under Law 27/2022: the retention policy, the daily purge and legal holds
(see docs/privacy.md)."""
