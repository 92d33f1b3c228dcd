"""`runbook.yaml`: what runbook deploys, where, and under which rules.

Loaded once per command (never at import time) and validated with pydantic. A bad file ends
in `ConfigError`, whose message names the file, the field and what was expected.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from memory.errors import UserError
from tools.config_env import ProcessEnvironment

CONFIG_FILENAME = "runbook.yaml"


class ConfigError(UserError):
    """The configuration cannot be used; the message is one sentence for the user (exit 2)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApprovalPolicy(_Strict):
    """Who may approve a deploy into an environment, and how."""

    required: bool = True
    terminal: bool = True  # `runbook approve` / a TTY prompt may decide
    slack: bool = False  # decisions arrive through the Slack bot
    allow_self_approval: bool = False  # the requester may approve their own deploy
    # Who may approve from the terminal (`runbook approve`): OS account names, AWS ARNs or role-session
    # names, as the environment's identity provider establishes them. Required (the config is refused
    # without it) where terminal decisions are allowed and the requester may not approve themselves.
    approvers: list[str] = Field(default_factory=list)
    expires_after_seconds: int = Field(default=1800, gt=0)
    risk: Literal["low", "medium", "high"] = "medium"


class EnvironmentConfig(_Strict):
    backend: Literal["sandbox", "ecs"] = "sandbox"
    cluster: str
    region: str | None = None
    profile: str | None = None
    approval: ApprovalPolicy = Field(default_factory=ApprovalPolicy)
    # How runbook knows who runs a command here: the OS account ("os", the default of real backends),
    # the AWS caller identity of this environment's credentials ("aws"), or a name the person declares
    # with RUNBOOK_USER ("simulated": the sandbox only, the default there).
    identity: Literal["os", "aws", "simulated"] | None = None

    @property
    def identity_provider(self) -> str:
        return self.identity or ("simulated" if self.backend == "sandbox" else "os")

    @model_validator(mode="after")
    def _simulated_only_in_the_sandbox(self) -> EnvironmentConfig:
        if self.identity == "simulated" and self.backend != "sandbox":
            raise ValueError("identity 'simulated' (a self-declared RUNBOOK_USER) is only allowed with backend"
                             " 'sandbox'; use 'os' or 'aws'")
        return self


class HealthCheckConfig(_Strict):
    path: str = "/health"
    protocol: Literal["HTTP", "HTTPS", "TCP"] = "HTTP"
    interval_seconds: int = Field(default=30, gt=0)


class Thresholds(_Strict):
    """What a healthy canary and a healthy rollout look like. Every field overridable per service."""

    error_rate_percent: float = Field(default=1.0, gt=0, le=100)
    p99_latency_ms: float = Field(default=500.0, gt=0)
    canary_percent: float = Field(default=10.0, gt=0, le=50)
    health_checks: int = Field(default=3, ge=1, le=20)
    canary_observation_seconds: int = Field(default=60, ge=10)
    validation_seconds: int = Field(default=300, ge=30)
    min_requests: int = Field(default=20, ge=1)  # fewer canary requests than this after the observation: no data
    # No longer used: the canary is compared with the stable by a sequential test (see `JudgeConfig`).
    # Still accepted so that existing files load.
    max_error_rate_increase_points: float | None = Field(default=None, ge=0)
    max_p99_increase_percent: float | None = Field(default=None, ge=0)


class JudgeConfig(_Strict):
    """How sure the canary judge must be before it says "unhealthy" or "healthy".

    `alpha` bounds the chance that a verdict is wrong, at whatever moment it is read (after the 60 s
    canary or after an hour's approval wait): a canary no worse than stable is rolled back with
    probability at most alpha, and one twice as bad is called healthy with probability at most alpha.
    It is split by a union bound among the statements behind each verdict (error rate and slow
    requests against stable, the SLO checks, the late-degradation detectors) and between the canary
    and post-deploy validation, so a deploy of a version no worse than the running one is stopped
    anywhere with probability at most alpha.
    """

    alpha: float = Field(default=0.05, gt=0, le=0.5)


class ServiceConfig(_Strict):
    service_name: str | None = None  # the platform's name, when it differs from the key
    container: str = "app"
    image_repository: str
    health_check: HealthCheckConfig = Field(default_factory=HealthCheckConfig)
    required_env: list[str] = Field(default_factory=list)
    thresholds: Thresholds = Field(default_factory=Thresholds)
    ecs: EcsServiceConfig = Field(default_factory=lambda: EcsServiceConfig())


class EcsServiceConfig(_Strict):
    """ECS-specific settings of a service; every field has a default that fits an ALB-fronted service.

    Canary: by default a `<service>-canary` ECS service joins the stable service's target groups.
    Naming `canary_target_group_arn` and `listener_arn` (or `listener_rule_arn`) switches to weighted
    mode: the canary registers on its own target group and the listener sends it `canary_percent`.
    """

    target_group_arns: list[str] = Field(default_factory=list)  # empty: the service's own load balancers
    container_port: int | None = None  # empty: the port of the stable service's load balancer entry
    canary_target_group_arn: str | None = None
    listener_arn: str | None = None
    listener_rule_arn: str | None = None
    # Metrics: "alb" reads AWS/ApplicationELB per target group (per-version only in weighted mode);
    # "custom" reads `metrics_namespace` with a service and a version dimension.
    metrics_source: Literal["alb", "custom"] = "alb"
    metrics_namespace: str | None = None
    service_dimension: str = "Service"
    version_dimension: str = "Version"
    extra_dimensions: dict[str, str] = Field(default_factory=dict)
    requests_metric: str | None = None  # alb: RequestCount; custom: RequestCount
    errors_metric: str | None = None  # alb: HTTPCode_Target_5XX_Count; custom: Errors5xx
    latency_metric: str | None = None  # alb: TargetResponseTime (seconds); custom: Latency (ms)
    latency_statistic: str = "p99"
    # Count the requests slower than a latency with CloudWatch's trimmed count TC(x:) of the latency metric
    # (the canary judge's latency comparison). Off: latency is judged against the p99 limit only, never
    # against the stable version, and a canary is never called healthy on latency.
    count_slow_requests: bool = True
    latency_to_ms: float | None = Field(default=None, gt=0)  # alb: 1000; custom: 1
    # How long after a window ends CloudWatch has all of its data (ALB publishes per minute, 1-3 min late).
    metrics_settle_seconds: float | None = Field(default=None, ge=0)  # alb: 180; custom: 60
    # Alarms that belong to the service: any of names, prefix (default: the service name), tag.
    alarm_names: list[str] = Field(default_factory=list)
    alarm_prefix: str | None = None
    alarm_tags: dict[str, str] = Field(default_factory=dict)
    log_group: str | None = None  # default: /ecs/<service name>
    error_filter_pattern: str = "ERROR"


ThreadEvent = Literal["canary", "rollout", "validation", "rollback", "outcome"]
THREAD_EVENTS: tuple[ThreadEvent, ...] = ("canary", "rollout", "validation", "rollback", "outcome")


class SlackThreadConfig(_Strict):
    """What a deploy posts in its Slack thread (under the approval card, or under a "deploy started"
    message where no card is posted): the canary's verdict, the rollout's progress (one message, edited
    in place), the post-deploy validation, any rollback, and the outcome."""

    enabled: bool = True
    events: list[ThreadEvent] = Field(default_factory=lambda: list(THREAD_EVENTS))

    def posts(self, event: ThreadEvent) -> bool:
        return self.enabled and event in self.events


class SlackEnvironmentConfig(_Strict):
    """Where one environment's approval requests and deploy threads go in Slack, and who may click Approve."""

    channel: str | None = None  # default: SlackConfig.approval_channel
    approvers: list[str] = Field(default_factory=list)  # Slack user IDs (U…)
    approver_group: str | None = None  # a Slack user group ID (S…); its members may approve
    thread: SlackThreadConfig = Field(default_factory=SlackThreadConfig)


class SlackConfig(_Strict):
    """The Slack bot (`runbook slack serve`) and the approval cards. Tokens come from the environment
    (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_APP_TOKEN), never from this file."""

    approval_channel: str = "#runbook-approvals"
    environments: dict[str, SlackEnvironmentConfig] = Field(default_factory=dict)
    mode: Literal["auto", "http", "socket"] = "auto"  # auto: Socket Mode when SLACK_APP_TOKEN is set
    host: str = "127.0.0.1"
    port: int = Field(default=3000, ge=0, le=65535)
    users: dict[str, str] = Field(default_factory=dict)  # runbook user -> Slack user ID (or e-mail)
    email_domain: str | None = None  # else: users.lookupByEmail("<user>@<domain>")
    api_base_url: str | None = None  # the Web API's base URL (a stand-in); default: Slack's own

    def for_environment(self, environment: str) -> SlackEnvironmentConfig:
        return self.environments.get(environment) or SlackEnvironmentConfig()

    def channel_for(self, environment: str) -> str:
        return self.for_environment(environment).channel or self.approval_channel

    def threads_in(self, environment: str, approval: ApprovalPolicy) -> bool:
        """Whether deploys to `environment` post a thread: Slack approves there, or the environment is
        named under `slack.environments`, and its thread is enabled."""
        configured = approval.slack or environment in self.environments
        return configured and self.for_environment(environment).thread.enabled

    def runbook_user(self, slack_user_id: str) -> str | None:
        """The runbook user name mapped to a Slack user ID, if any."""
        return next((name for name, slack in self.users.items() if slack == slack_user_id), None)


class AgentConfig(_Strict):
    """The model behind `runbook ask`: Claude through the Anthropic API or Bedrock, else the offline router."""

    # auto: the Anthropic API when ANTHROPIC_API_KEY is set, else offline; bedrock: the AWS credential chain
    provider: Literal["auto", "anthropic", "bedrock", "offline"] = "auto"
    model: str = "claude-sonnet-4-6"
    bedrock_model: str = "anthropic.claude-sonnet-4-6"  # a Bedrock model id or inference profile
    region: str | None = None  # Bedrock region; default: the AWS configuration's
    profile: str | None = None  # Bedrock: the AWS profile to sign with; default: the AWS credential chain's
    api_key_env: str = "ANTHROPIC_API_KEY"
    max_steps: int = Field(default=6, ge=1, le=20)  # model calls per request
    max_tokens: int = Field(default=1024, ge=64)
    max_retries: int = Field(default=2, ge=0)
    timeout_seconds: float = Field(default=60.0, gt=0)  # one model call
    deadline_seconds: float = Field(default=45.0, gt=0)  # one question: every model call and retry wait


class KnowledgeConfig(_Strict):
    """Semantic recall over runbooks, postmortems and the scratchpad's history (`runbook knowledge`)."""

    enabled: bool = True  # false: no recall at all (answers and deploys go on without it)
    # A `chroma run` server shared by the team (http://host:port); None: a local index under the state dir.
    server_url: str | None = None
    folder: str | None = None  # markdown runbooks/postmortems; None: the examples bundled with runbook
    # auto: MiniLM (its tokenizer ships with runbook), else the lexical hashing embedding
    embedding: Literal["auto", "minilm", "hashing"] = "auto"
    vocab_path: str | None = None  # another tokenizer.json / BERT uncased vocab.txt for MiniLM (never downloaded)
    max_section_chars: int = Field(default=1500, ge=200)  # longer sections are cut at paragraphs
    # How long an answer (or the deploy's runbook hint) waits for recall before going on without it.
    wait_seconds: float = Field(default=3.0, gt=0)


class SandboxConfig(_Strict):
    time_scale: float = Field(default=60.0, ge=0)  # 0 = instant; 60 = a minute per wall second
    seed: int = 42


class RunbookConfig(_Strict):
    default_environment: str | None = None
    user: str | None = None  # the simulated person when RUNBOOK_USER is unset (identity: simulated only)
    state_dir: str = ".runbook"  # local state (recall's index, logs); relative to the config file's folder
    # Where everything shared lives (deployments, events, approvals, locks, checkpoints, the sandbox
    # fleet): a SQLAlchemy URL, SQLite (default: <state_dir>/runbook.db) or postgresql+psycopg://.
    database_url: str | None = None
    environments: dict[str, EnvironmentConfig]
    services: dict[str, ServiceConfig]
    sandbox: SandboxConfig = Field(default_factory=SandboxConfig)
    slack: SlackConfig = Field(default_factory=SlackConfig)
    agent: AgentConfig = Field(default_factory=AgentConfig)
    knowledge: KnowledgeConfig = Field(default_factory=KnowledgeConfig)
    judge: JudgeConfig = Field(default_factory=JudgeConfig)

    source: str = Field(default="<built-in sandbox>", exclude=True)  # the file as shown to the person
    path: Path | None = Field(default=None, exclude=True)  # the file read (None: the built-in sandbox)
    found_by: str = Field(default="built-in", exclude=True)  # how it was found (see tools.config_files)
    base_dir: Path | None = Field(default=None, exclude=True)  # relative paths resolve here (None: cwd)
    # Set by `tools.config_files.read_config`: the process environment read, where each value that is not
    # the file's came from (a variable or a flag), and what was overridden that the person should know.
    _process: ProcessEnvironment = PrivateAttr(default_factory=ProcessEnvironment)
    _origins: dict[tuple[str, ...], str] = PrivateAttr(default_factory=dict)
    _notes: list[str] = PrivateAttr(default_factory=list)
    _layered: bool = PrivateAttr(default=False)

    @field_validator("state_dir")
    @classmethod
    def _state_dir_is_a_folder(cls, value: str) -> str:
        if "://" in value:
            raise ValueError("state_dir is a folder; name a database with database_url instead")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url_is_supported(cls, value: str | None) -> str | None:
        return None if value is None else check_database_url(value)

    @model_validator(mode="after")
    def _production_approves_in_slack(self) -> RunbookConfig:
        # An environment called production with no approval policy of its own: Slack only, high risk.
        env = self.environments.get("production")
        if env is not None and "approval" not in env.model_fields_set:
            env.approval = ApprovalPolicy(slack=True, terminal=False, risk="high")
        return self

    @model_validator(mode="after")
    def _approvers_are_named(self) -> RunbookConfig:
        # Fail closed: where someone other than the requester must approve, the config names who may,
        # for every channel that accepts decisions.
        for name, env in self.environments.items():
            policy = env.approval
            if not policy.required or policy.allow_self_approval:
                continue
            route = self.slack.for_environment(name)
            if policy.terminal and not policy.approvers:
                raise ValueError(f"environment '{name}' needs an approver other than the requester, so"
                                 f" environments.{name}.approval.approvers must name who may approve from the"
                                 " terminal (or set terminal: false)")
            if policy.slack and not (route.approvers or route.approver_group):
                raise ValueError(f"environment '{name}' needs an approver other than the requester, so"
                                 f" slack.environments.{name}.approvers (Slack user IDs) or approver_group"
                                 " must name who may approve in Slack (or set slack: false)")
        return self

    @model_validator(mode="after")
    def _default_environment_exists(self) -> RunbookConfig:
        if self.default_environment and self.default_environment not in self.environments:
            raise ValueError(
                f"default_environment '{self.default_environment}' is not one of the environments"
                f" ({', '.join(sorted(self.environments))})"
            )
        return self

    def service(self, name: str) -> ServiceConfig:
        try:
            return self.services[name]
        except KeyError:
            raise ConfigError(
                f"Unknown service '{name}'. Known services: {', '.join(sorted(self.services))}."
            ) from None

    def environment(self, name: str | None) -> tuple[str, EnvironmentConfig]:
        """The environment called `name`, or the default one when `name` is None."""
        if name is None:
            if not self.default_environment:
                raise ConfigError(
                    "No --environment given and the config names no default_environment."
                )
            name = self.default_environment
        try:
            return name, self.environments[name]
        except KeyError:
            raise ConfigError(
                f"Unknown environment '{name}'. Known environments: "
                f"{', '.join(sorted(self.environments))}."
            ) from None

    def state_path(self, base: Path | None = None) -> Path:
        """Where runbook keeps its local state; a relative state_dir is relative to the config file's folder."""
        return self.resolve(self.state_dir, base)

    def resolve(self, path: str, base: Path | None = None) -> Path:
        """A path from the config: absolute, or relative to the config file's folder (built-in: the cwd)."""
        resolved = Path(path).expanduser()
        if not resolved.is_absolute():
            resolved = (base or self.base_dir or Path.cwd()) / resolved
        return resolved

    @property
    def label(self) -> str:
        """The config as a person reads it: the file, or "built-in config"."""
        return "built-in config, no runbook.yaml found" if self.path is None else self.source

    @property
    def process(self) -> ProcessEnvironment:
        """What the process environment said when this config was read (AWS_*, RUNBOOK_DEBUG, ...)."""
        return self._process

    @property
    def notes(self) -> list[str]:
        """Settings of the file that an AWS variable or flag replaced, one sentence each."""
        return list(self._notes)

    def origin(self, *path: str) -> str:
        """Where the value at `path` came from: a variable, a flag, or "file" (the file or the default)."""
        return self._origins.get(tuple(path), "file")

    @property
    def uses_sandbox(self) -> bool:
        return any(env.backend == "sandbox" for env in self.environments.values())


DATABASE_SCHEMES = ("sqlite", "postgresql+psycopg", "postgresql", "postgres")


def check_database_url(url: str) -> str:
    """The URL with PostgreSQL spelled as SQLAlchemy's psycopg (3) driver wants it; ValueError if unsupported."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in DATABASE_SCHEMES or not rest:
        raise ValueError("expected sqlite:///PATH or postgresql+psycopg://USER@HOST/DB")
    if scheme in ("postgresql", "postgres"):
        return "postgresql+psycopg://" + rest
    return url


def _describe_error(error: dict[str, Any], with_location: bool = True) -> str:
    location = ".".join(str(part) for part in error["loc"]) or "(top level)"
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown field"
    elif error["type"] == "missing":
        message = "required field is missing"
    given = error.get("input")
    shown = "" if error["type"] in {"missing", "extra_forbidden"} or isinstance(given, dict) else f", got {given!r}"
    return f"{location}: {message}{shown}" if with_location else f"{message}{shown}"


def parse_config(data: Any, source: str, origins: dict[tuple[str, ...], str] | None = None) -> RunbookConfig:
    """`data` validated; an error names the file, or the variable or flag (`origins`) that gave the value."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level, got {type(data).__name__}.")
    try:
        config = RunbookConfig.model_validate(data)
    except ValidationError as exc:
        from tools.config_env import origin_of

        first = exc.errors()[0]
        more = len(exc.errors()) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        variable = origin_of(tuple(first["loc"]), origins or {})
        if variable:
            message = _describe_error(dict(first), with_location=False).removeprefix("Value error, ")
            raise ConfigError(f"{variable}: {message}{suffix}.") from None
        raise ConfigError(f"{source}: {_describe_error(dict(first))}{suffix}.") from None
    config.source = source
    return config


def load_config(path: Path | None = None, cwd: Path | None = None) -> RunbookConfig:
    """The configuration as `runbook` finds it (see `tools.config_files.find_config`)."""
    from tools.config_files import read_config

    return read_config(path, cwd=cwd)


def sandbox_default_config(base_dir: Path | None = None) -> RunbookConfig:
    """The configuration used when no runbook.yaml is found: the built-in sandbox fleet."""
    # Through the parent package: importing tools.sandbox itself (the whole simulated fleet) is not needed
    # to read its configuration, and every command reads it when there is no runbook.yaml.
    text = resources.files("tools").joinpath("sandbox", "default_config.yaml").read_text()
    config = parse_config(yaml.safe_load(text), "<built-in sandbox>")
    config.base_dir = base_dir
    return config
