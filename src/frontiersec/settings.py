"""Settings: one pydantic-settings object, environment prefix ``FRONTIERSEC_``.

The object is built once by the entry point (``frontiersec serve``, the CLI, the job
consumer) and passed explicitly; no module reads the environment on its own.
Every field is documented in ``docs/configuration.md`` (a contract test checks it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

_REPO_ROOT = Path(__file__).resolve().parents[2]


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "frontiersec"


def _default_demo_data() -> Path:
    # ``../shared/data`` beside the checkout.
    return _REPO_ROOT.parent / "shared" / "data"


class Settings(BaseSettings):
    """Deployment configuration. Read from ``FRONTIERSEC_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="FRONTIERSEC_", extra="ignore")

    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Where the SQLite database, job queue, secret key, logs and evaluation logs live.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL. Default: a SQLite file `frontiersec.db` in the data dir. "
        "PostgreSQL: `postgresql+psycopg://user:pass@host/db`.",
    )
    redis_url: str | None = Field(
        default=None,
        description="When set, the job queue uses Redis storage and `frontiersec worker` runs consumers; "
        "otherwise jobs live in a SQLite file in the data dir and `serve` runs them.",
    )
    secret_key_file: Path | None = Field(
        default=None,
        description="File holding the deployment secret (Fernet key) that encrypts secrets at rest and "
        "signs session cookies. Default: `secret.key` in the data dir, created on first start (mode 0600).",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(default="info", description="Log level.")
    log_format: Literal["console", "json"] = Field(
        default="console", description="`console` for people, `json` for production log shippers."
    )
    demo_data: Path = Field(
        default_factory=_default_demo_data,
        description="Folder of real public data (KEV, OSV, schemas...) read by `demo load`, tests and "
        "validators. Default: `../shared/data` beside the checkout.",
    )
    max_upload_bytes: int = Field(default=100 * 1024 * 1024, description="Largest accepted file upload.")
    max_json_bytes: int = Field(default=1024 * 1024, description="Largest accepted JSON request body.")
    session_max_age_s: int = Field(default=8 * 3600, description="Web session lifetime in seconds.")
    secure_cookies: bool = Field(
        default=False,
        description="Mark session cookies `Secure` (HTTPS only). Turn on behind TLS in production.",
    )
    job_workers: int = Field(default=2, description="Consumer threads that `serve` (or `worker`) runs.")
    run_consumer_in_serve: bool = Field(
        default=True,
        description="Start job consumer threads inside `frontiersec serve` (embedded mode). "
        "Set false when separate `frontiersec worker` processes run the queue.",
    )
    webhook_timeout_s: float = Field(default=10.0, description="Timeout of one webhook delivery attempt.")
    webhook_max_attempts: int = Field(
        default=6, description="Delivery attempts before a webhook delivery is marked failed."
    )
    webhook_backoff_base_s: float = Field(
        default=30.0, description="First retry delay; each later retry doubles it (exponential backoff)."
    )
    reconsideration_request_days: int = Field(
        default=30,
        ge=1,
        description="Days after a determination is issued during which the developer may request "
        "reconsideration.",
    )
    reconsideration_decision_days: int = Field(
        default=30, ge=1, description="Days designation officials have to decide a reconsideration request."
    )
    kb_kev_url: str = Field(
        default="https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json",
        description="Where `kb sync` fetches CISA's KEV catalog (JSON).",
    )
    kb_osv_url: str = Field(
        default="https://osv-vulnerabilities.storage.googleapis.com/{ecosystem}/all.zip",
        description="Where `kb sync` fetches an OSV ecosystem export; `{ecosystem}` is replaced.",
    )
    kb_osv_ecosystems: list[str] = Field(
        default_factory=lambda: ["PyPI", "Go", "crates.io"],
        description="OSV ecosystems `kb sync` fetches when none is given (JSON list in the environment).",
    )
    kb_epss_url: str = Field(
        default="https://epss.empiricalsecurity.com/epss_scores-current.csv.gz",
        description="Where `kb sync` fetches FIRST's daily EPSS scores (CSV, gzip).",
    )
    kb_feed_timeout_s: float = Field(
        default=60.0, description="Connect/read timeout of one feed download step in `kb sync`."
    )
    kb_feed_max_bytes: int = Field(
        default=2 * 1024 * 1024 * 1024, description="Largest feed download `kb sync` accepts."
    )
    review_window_max_days: int = Field(
        default=30,
        ge=1,
        description="Longest pre-release review window (submission to planned release to trusted "
        "partners) in days; a later release date is refused with the reason.",
    )
    review_eval_suite: str = Field(
        default="cyber-core", description="Evaluation suite scheduled against a submitted model's endpoint."
    )
    review_eval_limit: int | None = Field(
        default=None, description="Samples per task of the scheduled review runs (unset: the whole suite)."
    )

    @property
    def resolved_database_url(self) -> str:
        """The database URL in force (the SQLite default when none is set)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'frontiersec.db'}"

    @property
    def resolved_secret_key_file(self) -> Path:
        """The secret-key file in force."""
        return self.secret_key_file or self.data_dir / "secret.key"

    @property
    def schemas_dir(self) -> Path:
        """Official JSON schemas (inside the demo data folder)."""
        return self.demo_data / "schemas"

    def ensure_dirs(self) -> None:
        """Create the data dir (mode 0700) if missing."""
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
