"""Configuration: defaults in code, overridden by the instance folder and ``SERASI_*`` variables.

Order (later wins): the defaults below, ``instance/config.py`` if present, environment variables,
then the mapping passed to ``create_app(config=...)``.
"""
from __future__ import annotations

import os
import secrets
import zlib
from pathlib import Path
from typing import Any

DEFAULTS: dict[str, Any] = {
    "ENV_NAME": "development",  # "production" refuses to start without a real secret key
    "SQLALCHEMY_DATABASE_URI": None,  # None -> SQLite in instance/serasi.db
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "SQLITE_BUSY_TIMEOUT_MS": 5000,
    # A PostgreSQL streaming replica for the console's reads (replica.py): its URL, how far
    # behind it may be before reads go back to the primary, how often its state is checked.
    "DATABASE_REPLICA_URL": None,
    "REPLICA_MAX_LAG_SECONDS": 30.0,
    "REPLICA_CHECK_SECONDS": 2.0,
    "REPLICA_CONNECT_TIMEOUT_SECONDS": 2,
    "REPLICA_READ_BLUEPRINTS": ["officer"],
    # A page left open for hours must still submit (see docs/engineering decisions).
    "WTF_CSRF_TIME_LIMIT": None,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "BABEL_DEFAULT_LOCALE": "id",
    "BABEL_DEFAULT_TIMEZONE": "UTC",
    "LANGUAGES": ["id", "en"],
    # The guests' self check-in pages speak more languages than the operators' pages.
    "GUEST_LANGUAGES": ["id", "en", "zh"],
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
    # Login throttling, no lockout: failures are counted per (account, client address) and per
    # client address in a sliding window; past the free failures each further attempt waits
    # 1 s, 2 s, 4 s ... (LOGIN_DELAY_BASE_SECONDS doubled, at most LOGIN_DELAY_MAX_SECONDS)
    # after the last failure. No limit per
    # account alone, so failures from elsewhere never keep the right password out.
    "LOGIN_FAILURE_WINDOW_SECONDS": 15 * 60,
    "LOGIN_FREE_FAILURES_PER_ACCOUNT_AND_ADDRESS": 5,
    "LOGIN_FREE_FAILURES_PER_ADDRESS": 30,
    "LOGIN_DELAY_BASE_SECONDS": 1,
    "LOGIN_DELAY_MAX_SECONDS": 5 * 60,
    # E-mail verification at sign-up: how long the link works, and how many mails (verification
    # links, "someone tried to sign up" notices) per client address and per account an hour.
    "EMAIL_VERIFICATION_MAX_AGE_SECONDS": 7 * 24 * 60 * 60,
    "EMAIL_VERIFICATION_RATE_LIMIT": "3 per hour",
    # Password reset links: valid 30 minutes, used once; a few mails per address and account an hour.
    "PASSWORD_RESET_MAX_AGE_SECONDS": 30 * 60,
    "PASSWORD_RESET_RATE_LIMIT": "5 per hour",
    # Session limits (minutes): officers, supervision teams and admins; operators.
    "SESSION_IDLE_MINUTES_STAFF": 30,
    "SESSION_ABSOLUTE_MINUTES_STAFF": 12 * 60,
    "SESSION_IDLE_MINUTES_OPERATOR": 7 * 24 * 60,
    "SESSION_ABSOLUTE_MINUTES_OPERATOR": 30 * 24 * 60,
    # Two-step login (TOTP): required for these roles, optional for the others; wrong codes allowed
    # per account, and how long a password stays good for the second step.
    "MFA_REQUIRED_ROLES": ["officer", "supervisor", "admin", "dpo"],
    "MFA_RATE_LIMIT": "5 per 5 minutes",
    "MFA_PENDING_SECONDS": 300,
    "PASSWORD_MIN_LENGTH": 8,
    "PASSWORD_MAX_LENGTH": 128,
    "PAGE_SIZE": 25,
    "TRUSTED_PROXY_COUNT": 0,  # >0 behind a TLS-terminating proxy (ProxyFix)
    "DISABLED_PLUGINS": [],
    # A plugin that cannot load stops the start; True starts without it (red on /healthz and admin pages).
    "ALLOW_DEGRADED_START": False,
    "EXTRA_PLUGINS": [],  # plugin objects or modules registered directly (tests, embedding)
    # Capture: uploads up to 15 MB and 50 megapixels. The request limit is higher on the report
    # form so that an oversized photo gets a message at the field and the typed values survive.
    "CAPTURE_MAX_BYTES": 15 * 1024 * 1024,
    "CAPTURE_MAX_PIXELS": 50_000_000,
    "CAPTURE_REQUEST_LIMIT": 64 * 1024 * 1024,
    "CAPTURE_KEEP_PHOTOS": False,  # keep re-encoded photos (no EXIF/GPS) while the report is a draft
    # A company mess's roster CSV upload is read by the worker in a child process with this much
    # memory (beyond its own size) and time (docs/api.md, "The roster as a CSV file"); True reads it in the request (tests).
    "ROSTER_PARSE_MEMORY_MB": 256,
    "ROSTER_PARSE_TIMEOUT_SECONDS": 120,
    "ROSTER_RUN_INLINE": False,
    # Push API: requests per token, and body sizes (one stay / a batch of up to 500).
    "API_RATE_LIMIT": "600 per minute",
    # Self check-in (docs/self-check-in.md): new arrivals per client address and per poster,
    # form posts per address (each may carry a photo to decode), waiting arrivals per lodging,
    # guests per party, and how long a decided arrival's status page lives.
    "ARRIVALS_RATE_PER_ADDRESS": "10 per hour",
    "ARRIVALS_RATE_PER_POSTER": "60 per hour",
    "ARRIVALS_POST_RATE_PER_ADDRESS": "120 per hour",
    "ARRIVALS_MAX_WAITING": 30,
    "ARRIVALS_MAX_GUESTS": 12,
    "ARRIVALS_STATUS_DAYS": 30,
    "API_MAX_BODY": 256 * 1024,
    "API_MAX_BATCH_BODY": 4 * 1024 * 1024,
    "API_MAX_BATCH_ITEMS": 500,
    "RATELIMIT_STORAGE_URI": "memory://",
    # Background jobs (huey) and delivery of stay events (docs/delivery.md).
    "REDIS_URL": None,  # set: RedisHuey, and rate limits shared through Redis; unset: SqliteHuey in instance/
    "HUEY_NAME": "serasi",
    "HUEY_SQLITE_PATH": None,  # None -> instance/huey.db
    "DELIVERY_MAX_ATTEMPTS": 12,
    "DELIVERY_RETRY_BASE_SECONDS": 10.0,
    "DELIVERY_RETRY_MAX_SECONDS": 3600.0,
    "DELIVERY_LEASE_SECONDS": 120.0,  # a claimed delivery whose worker died is taken again after this
    "DELIVERY_BATCH_SIZE": 200,
    "DELIVERY_CONCURRENCY": 16,  # forwarder calls in flight per delivery loop (measured: bench/delivery_throughput.py)
    "DELIVERY_LOOPS": 1,
    "DELIVERY_POLL_SECONDS": 0.5,
    "DELIVERY_TIMEOUT_SECONDS": 10.0,
    # An outbox event holds the whole report as sent: once every forwarder has had it for this
    # many days it is deleted (0: kept for ever). Events not delivered stay until a person acts.
    "OUTBOX_KEEP_DAYS": 90,
    "WEBHOOK_URL": None,
    "WEBHOOK_SECRET": None,
    # What this instance is (docs/scale-out.md, "A national or regional console"): an office's
    # ("office"), a regional office's (Kanwil: "regional") or the Directorate General's
    # ("national"). Only a regional or national instance has offices standing for other
    # instances and offices whose officers see several provinces or the whole country.
    "INSTANCE_LEVEL": "office",
    "FEDERATION_URL": None,  # base URL of the other SERASI Web instance
    "FEDERATION_TOKEN": None,  # a push-API token of that instance (one lodging there)
    "FEDERATION_EXTERNAL_ID_PREFIX": "serasi",  # external id there: <prefix>-<stay id here>
    "DELIVERY_EMAIL_TO": None,
    # Hosts a webhook or federation URL may name although they resolve to a loopback, private or
    # link-local address (serasi_web/delivery/destinations.py).
    "OUTBOUND_ALLOWED_HOSTS": [],
    # Mail (reminders, notices, the e-mail forwarder) through SMTP.
    "SMTP_HOST": None,
    "SMTP_PORT": 25,
    "SMTP_USERNAME": None,
    "SMTP_PASSWORD": None,
    "SMTP_STARTTLS": False,
    "SMTP_SSL": False,  # implicit TLS (SMTPS, usually port 465)
    "SMTP_CA_FILE": None,  # a PEM file of CAs to trust besides the system's (a private mail server)
    "SMTP_TIMEOUT_SECONDS": 10.0,
    "MAIL_FROM": "SERASI Web <noreply@serasi.invalid>",
    "PUBLIC_URL": "http://127.0.0.1:5000",  # links in e-mails
    "DRAFT_REMINDER_HOURS": 12,
    "DIGEST_HOUR_UTC": 0,  # 07:00 WIB, 08:00 WITA, 09:00 WIT
    # The Fernet key that encrypts the credentials of connected stay sources (API keys, tokens).
    # Required in production; development derives one from SECRET_KEY (integrations/sources.py).
    "SOURCE_CREDENTIALS_KEY": None,
}

# Environment variables read, with their parser, in this order (a later one wins).
# DATABASE_URL (the platforms' name) and SERASI_DATABASE_URL set the same thing; ours wins.
_ENVIRONMENT = {
    "SERASI_ENV": ("ENV_NAME", str),
    "SERASI_SECRET_KEY": ("SECRET_KEY", str),
    "SERASI_SOURCE_CREDENTIALS_KEY": ("SOURCE_CREDENTIALS_KEY", str),
    "DATABASE_URL": ("SQLALCHEMY_DATABASE_URI", str),
    "SERASI_DATABASE_URL": ("SQLALCHEMY_DATABASE_URI", str),
    "SERASI_DATABASE_REPLICA_URL": ("DATABASE_REPLICA_URL", str),
    "SERASI_REPLICA_MAX_LAG_SECONDS": ("REPLICA_MAX_LAG_SECONDS", float),
    "SERASI_PAGE_SIZE": ("PAGE_SIZE", int),
    "SERASI_TRUSTED_PROXY_COUNT": ("TRUSTED_PROXY_COUNT", int),
    "SERASI_SESSION_IDLE_MINUTES_STAFF": ("SESSION_IDLE_MINUTES_STAFF", int),
    "SERASI_SESSION_ABSOLUTE_MINUTES_STAFF": ("SESSION_ABSOLUTE_MINUTES_STAFF", int),
    "SERASI_SESSION_IDLE_MINUTES_OPERATOR": ("SESSION_IDLE_MINUTES_OPERATOR", int),
    "SERASI_SESSION_ABSOLUTE_MINUTES_OPERATOR": ("SESSION_ABSOLUTE_MINUTES_OPERATOR", int),
    "SERASI_SESSION_COOKIE_SECURE": ("SESSION_COOKIE_SECURE", lambda v: v.lower() in ("1", "true", "yes")),
    "SERASI_CAPTURE_KEEP_PHOTOS": ("CAPTURE_KEEP_PHOTOS", lambda v: v.lower() in ("1", "true", "yes")),
    "SERASI_API_RATE_LIMIT": ("API_RATE_LIMIT", str),
    "SERASI_RATELIMIT_STORAGE_URI": ("RATELIMIT_STORAGE_URI", str),
    "SERASI_ARRIVALS_RATE_PER_ADDRESS": ("ARRIVALS_RATE_PER_ADDRESS", str),
    "SERASI_ARRIVALS_RATE_PER_POSTER": ("ARRIVALS_RATE_PER_POSTER", str),
    "SERASI_ARRIVALS_POST_RATE_PER_ADDRESS": ("ARRIVALS_POST_RATE_PER_ADDRESS", str),
    "SERASI_ARRIVALS_MAX_WAITING": ("ARRIVALS_MAX_WAITING", int),
    "SERASI_ARRIVALS_MAX_GUESTS": ("ARRIVALS_MAX_GUESTS", int),
    "SERASI_ARRIVALS_STATUS_DAYS": ("ARRIVALS_STATUS_DAYS", int),
    "SERASI_REDIS_URL": ("REDIS_URL", str),
    "SERASI_WEBHOOK_URL": ("WEBHOOK_URL", str),
    "SERASI_WEBHOOK_SECRET": ("WEBHOOK_SECRET", str),
    "SERASI_INSTANCE_LEVEL": ("INSTANCE_LEVEL", str),
    "SERASI_FEDERATION_URL": ("FEDERATION_URL", str),
    "SERASI_FEDERATION_TOKEN": ("FEDERATION_TOKEN", str),
    "SERASI_FEDERATION_EXTERNAL_ID_PREFIX": ("FEDERATION_EXTERNAL_ID_PREFIX", str),
    "SERASI_DELIVERY_EMAIL_TO": ("DELIVERY_EMAIL_TO", str),
    "SERASI_OUTBOUND_ALLOWED_HOSTS": ("OUTBOUND_ALLOWED_HOSTS", lambda v: [h.strip() for h in v.split(",") if h.strip()]),
    "SERASI_DELIVERY_MAX_ATTEMPTS": ("DELIVERY_MAX_ATTEMPTS", int),
    "SERASI_OUTBOX_KEEP_DAYS": ("OUTBOX_KEEP_DAYS", int),
    "SERASI_DELIVERY_CONCURRENCY": ("DELIVERY_CONCURRENCY", int),
    "SERASI_DELIVERY_POLL_SECONDS": ("DELIVERY_POLL_SECONDS", float),
    "SERASI_DELIVERY_RETRY_BASE_SECONDS": ("DELIVERY_RETRY_BASE_SECONDS", float),
    "SERASI_DELIVERY_LEASE_SECONDS": ("DELIVERY_LEASE_SECONDS", float),
    "SERASI_DELIVERY_RETRY_MAX_SECONDS": ("DELIVERY_RETRY_MAX_SECONDS", float),
    "SERASI_DELIVERY_BATCH_SIZE": ("DELIVERY_BATCH_SIZE", int),
    "SERASI_DELIVERY_LOOPS": ("DELIVERY_LOOPS", int),
    "SERASI_SMTP_HOST": ("SMTP_HOST", str),
    "SERASI_SMTP_PORT": ("SMTP_PORT", int),
    "SERASI_SMTP_USERNAME": ("SMTP_USERNAME", str),
    "SERASI_SMTP_PASSWORD": ("SMTP_PASSWORD", str),
    "SERASI_SMTP_STARTTLS": ("SMTP_STARTTLS", lambda v: v.lower() in ("1", "true", "yes")),
    "SERASI_SMTP_SSL": ("SMTP_SSL", lambda v: v.lower() in ("1", "true", "yes")),
    "SERASI_SMTP_CA_FILE": ("SMTP_CA_FILE", str),
    "SERASI_MAIL_FROM": ("MAIL_FROM", str),
    "SERASI_PUBLIC_URL": ("PUBLIC_URL", str),
    "SERASI_HUEY_SQLITE_PATH": ("HUEY_SQLITE_PATH", str),
    "SERASI_ALLOW_DEGRADED_START": ("ALLOW_DEGRADED_START", lambda v: v.lower() in ("1", "true", "yes")),
    "SERASI_DISABLED_PLUGINS": ("DISABLED_PLUGINS", lambda v: [p.strip() for p in v.split(",") if p.strip()]),
}


class ConfigurationError(RuntimeError):
    """The configuration cannot be used (for example production without a secret key)."""


INSTANCE_LEVELS = ("office", "regional", "national")


def load_config(app, overrides: dict[str, Any] | None) -> None:
    """Fill ``app.config`` from defaults, instance/config.py, the environment and ``overrides``."""
    app.config.update(DEFAULTS)
    before_instance = dict(app.config)
    app.config.from_pyfile("config.py", silent=True)
    explicit = {key for key, value in app.config.items() if key not in before_instance or before_instance[key] is not value}
    for variable, (key, parse) in _ENVIRONMENT.items():
        value = os.environ.get(variable)
        if value:
            app.config[key] = parse(value)
            explicit.add(key)
    if overrides:
        app.config.update(overrides)
        explicit |= set(overrides)
    if app.config["ENV_NAME"] == "production" and "SESSION_COOKIE_SECURE" not in explicit:
        app.config["SESSION_COOKIE_SECURE"] = True  # production is served over HTTPS only

    if app.config.get("REDIS_URL") and app.config.get("RATELIMIT_STORAGE_URI") == "memory://":
        app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"]  # shared counts between machines

    instance = Path(app.instance_path)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        instance.mkdir(mode=0o700, parents=True, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'serasi.db'}"
    app.config["SQLALCHEMY_DATABASE_URI"] = _normalise_database_url(app.config["SQLALCHEMY_DATABASE_URI"])

    if app.config["INSTANCE_LEVEL"] not in INSTANCE_LEVELS:
        raise ConfigurationError(f"SERASI_INSTANCE_LEVEL must be one of {', '.join(INSTANCE_LEVELS)} "
                                 f"(it is {app.config['INSTANCE_LEVEL']!r}).")
    if app.config["ENV_NAME"] == "production":
        problems = production_problems(app.config, explicit)
        if problems:
            raise ConfigurationError(" ".join(problems))
    elif problem := credentials_key_problem(app.config.get("SOURCE_CREDENTIALS_KEY"), required=False):
        raise ConfigurationError(problem)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret_key(instance)


NEW_KEY_HINT = "python3 -c 'import secrets; print(secrets.token_hex(32))'"
NEW_FERNET_KEY_HINT = "python3 -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"


def credentials_key_problem(key: str | None, required: bool) -> str | None:
    """Why ``key`` cannot encrypt the stay sources' credentials, or None."""
    if not key:
        return f"SERASI_SOURCE_CREDENTIALS_KEY must be set in production (make one: {NEW_FERNET_KEY_HINT})." if required else None
    from cryptography.fernet import Fernet

    try:
        Fernet(key)
    except (ValueError, TypeError):
        return f"SERASI_SOURCE_CREDENTIALS_KEY is not a Fernet key (32 bytes, url-safe base64; make one: {NEW_FERNET_KEY_HINT})."
    return None


def secret_key_problem(key: str | None) -> str | None:
    """Why ``key`` is not good enough to sign sessions, or None. A real key is long and random:
    at least 32 characters, many different ones, and no repeated pattern (it does not compress)."""
    if not key:
        return f"SERASI_SECRET_KEY must be set in production (make one: {NEW_KEY_HINT})."
    if len(key) < 32:
        return f"SERASI_SECRET_KEY is too short: use at least 32 random characters ({NEW_KEY_HINT})."
    lowered = key.lower()
    placeholder = any(word in lowered for word in ("change", "secret", "example", "password", "serasi"))
    if placeholder or len(set(key)) < 12 or len(zlib.compress(key.encode())) < len(key) * 0.6:
        return f"SERASI_SECRET_KEY looks guessable (a placeholder or a repeated pattern): use a random one ({NEW_KEY_HINT})."
    return None


def production_problems(config, explicit: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """Every setting that makes a production start unsafe, one sentence each (empty when fine)."""
    problems = []
    key_problem = secret_key_problem(config.get("SECRET_KEY"))
    if key_problem:
        problems.append(key_problem)
    credentials_problem = credentials_key_problem(config.get("SOURCE_CREDENTIALS_KEY"), required=True)
    if credentials_problem:
        problems.append(credentials_problem)
    if config.get("DEBUG") or os.environ.get("FLASK_DEBUG", "").lower() in ("1", "true", "yes"):
        problems.append("Debug mode is on: it shows code and data to anyone; unset FLASK_DEBUG in production.")
    if not config.get("SESSION_COOKIE_SECURE"):
        problems.append("Session cookies must be Secure in production: unset SERASI_SESSION_COOKIE_SECURE "
                        "(or set it to 1) and serve over HTTPS.")
    public_url = config.get("PUBLIC_URL") or ""
    if "PUBLIC_URL" not in explicit or public_url == DEFAULTS["PUBLIC_URL"]:
        problems.append("SERASI_PUBLIC_URL must be set in production to the address people use "
                        "(for example https://serasi.example.go.id): receipts, API links and e-mails use it.")
    elif not public_url.startswith("https://"):
        problems.append(f"SERASI_PUBLIC_URL must start with https:// in production (it is {public_url}).")
    problems.extend(_transport_problems(config))
    return problems


_LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def _transport_problems(config) -> list[str]:
    """Passport data leaves only over TLS in production: mail (unless the mail server is on this
    machine) and the webhook and federation URLs."""
    problems = []
    if config.get("SMTP_HOST") and not (config.get("SMTP_STARTTLS") or config.get("SMTP_SSL")) \
            and config["SMTP_HOST"] not in _LOOPBACK_HOSTS:
        problems.append("Mail to another machine needs TLS in production: set SERASI_SMTP_STARTTLS=1 or SERASI_SMTP_SSL=1.")
    for key in ("WEBHOOK_URL", "FEDERATION_URL"):
        if config.get(key) and not str(config[key]).lower().startswith("https://"):
            problems.append(f"SERASI_{key} must be an https:// URL in production.")
    return problems


def _normalise_database_url(url: str) -> str:
    # Hosting platforms hand out postgres:// URLs; we always talk to PostgreSQL through psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _instance_secret_key(instance: Path) -> str:
    """The embedded default: a key generated once and kept in the instance folder."""
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    key_file = instance / "secret_key"
    if not key_file.exists():
        key = secrets.token_hex(32)
        # Create exclusively so two processes starting together agree on one key.
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(key)
    return key_file.read_text().strip()
