"""The one settings object: every knob comes from an environment variable with a working default."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit


@dataclass(frozen=True, slots=True)
class AMIAddress:
    host: str
    port: int
    username: str
    secret: str = field(repr=False)  # never in logs


@dataclass(frozen=True, slots=True)
class Settings:
    """Environment variables (defaults in brackets):
    PBX_DATABASE_URL  configuration database, SQLAlchemy URL [SQLite in ./var/pbx.sqlite]
    PBX_AMI_URL       ami://user:secret@host:5038 of a real Asterisk [unset: run the simulator]
    PBX_AGI_BIND      host:port the FastAGI server listens on [127.0.0.1:4573]
    PBX_HTTP_BIND     host:port of the health and metrics endpoint [127.0.0.1:8080]
    PBX_API_BIND      host:port of the admin API [127.0.0.1:8081]
    PBX_TRUNK         PJSIP endpoint of the operator trunk [trunk]
    PBX_SPOOL         where Asterisk records messages [/var/spool/pbx; ./var/spool with the simulator]
    PBX_MEDIA         where voicemail messages and call recordings are kept [/var/lib/pbx/media; ./var/media with
                      the simulator]
    PBX_PROMPTS       tenants' own prompts: Asterisk's sounds/pbx directory (files go in t/<tenant>/)
                      [/var/lib/asterisk/sounds/pbx; ./var/prompts with the simulator]
    PBX_REDIS_URL     redis://host:6379/0 for live state shared by several controllers [unset: in memory]
    PBX_SIM_SPEED     simulator clock speed, simulated seconds per real second [1]
    PBX_LOG_LEVEL     DEBUG, INFO, WARNING… [INFO]
    PBX_SMTP_URL      smtp[s]://user:pass@host:port?from=pbx@example.se&starttls=1 for e-mail [unset: no e-mail]
    PBX_SMS_URL       HTTP SMS gateway taking {"to","from","text"} as JSON [unset: no SMS]
    PBX_SMS_TOKEN     bearer token for the SMS gateway [none]
    PBX_SMS_FROM      sender id shown on SMS [PBX]
    PBX_WEBHOOK_SECRET  HMAC key signing webhooks (X-PBX-Signature) [unset: no webhooks]"""

    database_url: str
    log_level: str
    ami: AMIAddress | None = None
    agi_host: str = "127.0.0.1"
    agi_port: int = 4573
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    api_host: str = "127.0.0.1"
    api_port: int = 8081
    trunk: str = "trunk"
    spool: str = "/var/spool/pbx"
    media: str = "/var/lib/pbx/media"
    prompts: str = "/var/lib/asterisk/sounds/pbx"
    sim_speed: float = 1.0
    redis_url: str | None = None
    smtp_url: str | None = field(default=None, repr=False)
    sms_url: str | None = None
    sms_token: str | None = field(default=None, repr=False)
    sms_from: str = "PBX"
    webhook_secret: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ) if env is None else env
        default_db = f"sqlite:///{Path('var/pbx.sqlite').resolve()}"
        ami = parse_ami_url(env["PBX_AMI_URL"]) if env.get("PBX_AMI_URL") else None
        agi_host, agi_port = _host_port(env.get("PBX_AGI_BIND", "127.0.0.1:4573"), "PBX_AGI_BIND")
        http_host, http_port = _host_port(env.get("PBX_HTTP_BIND", "127.0.0.1:8080"), "PBX_HTTP_BIND")
        api_host, api_port = _host_port(env.get("PBX_API_BIND", "127.0.0.1:8081"), "PBX_API_BIND")
        default_spool = "/var/spool/pbx" if ami else str(Path("var/spool").resolve())
        return cls(
            database_url=env.get("PBX_DATABASE_URL", default_db),
            log_level=env.get("PBX_LOG_LEVEL", "INFO").upper(),
            ami=ami,
            agi_host=agi_host,
            agi_port=agi_port,
            http_host=http_host,
            http_port=http_port,
            api_host=api_host,
            api_port=api_port,
            trunk=env.get("PBX_TRUNK", "trunk"),
            spool=env.get("PBX_SPOOL", default_spool),
            media=env.get("PBX_MEDIA", "/var/lib/pbx/media" if ami else str(Path("var/media").resolve())),
            prompts=env.get("PBX_PROMPTS",
                            "/var/lib/asterisk/sounds/pbx" if ami else str(Path("var/prompts").resolve())),
            sim_speed=float(env.get("PBX_SIM_SPEED", "1")),
            redis_url=env.get("PBX_REDIS_URL") or None,
            smtp_url=env.get("PBX_SMTP_URL") or None,
            sms_url=env.get("PBX_SMS_URL") or None,
            sms_token=env.get("PBX_SMS_TOKEN") or None,
            sms_from=env.get("PBX_SMS_FROM", "PBX"),
            webhook_secret=env.get("PBX_WEBHOOK_SECRET") or None,
        )


def _host_port(text: str, name: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"{name} must be host:port, got {text!r}")
    return host or "127.0.0.1", int(port)


def parse_ami_url(url: str) -> AMIAddress:
    """ami://user:secret@host:port"""
    parts = urlsplit(url)
    if parts.scheme != "ami" or not parts.hostname or not parts.username:
        raise ValueError(f"PBX_AMI_URL must look like ami://user:secret@host:5038, got {url!r}")
    return AMIAddress(parts.hostname, parts.port or 5038, unquote(parts.username), unquote(parts.password or ""))
