"""The deployment files in docs/deploy agree with the README and the settings (issue 11).

These machines have no Docker engine, so the images are never built here; what can be
checked is that the compose file, the Dockerfile, the systemd unit and the proxy config say
the same thing as the README and name only settings that exist.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "docs" / "deploy"
README = (ROOT / "README.md").read_text(encoding="utf-8")


def compose() -> dict[str, object]:
    loaded = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def readme_settings() -> dict[str, str]:
    """The README's settings table: name -> default."""
    rows = re.findall(r"^\| `(SHOPBOT_[A-Z_]+)` \| ([^|]*) \|", README, flags=re.MULTILINE)
    return {name: default.strip().strip("`") for name, default in rows}


def section(title: str) -> str:
    start = README.index(f"## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end]


def test_compose_runs_bot_workers_beside_postgresql_and_an_optional_llm() -> None:
    services = compose()["services"]
    assert isinstance(services, dict)
    assert set(services) == {"bot", "postgres", "llm"}
    bot, postgres, llm = services["bot"], services["postgres"], services["llm"]
    assert bot["build"]["dockerfile"] == "docs/deploy/Dockerfile"
    assert (DEPLOY / bot["build"]["context"] / "pyproject.toml").is_file()
    assert bot["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "healthcheck" in postgres
    # The LLM server starts only when asked for.
    assert llm["profiles"] == ["llm"] and "profiles" not in bot
    # The bot and PostgreSQL agree on the database.
    # As compose fills it in: ${POSTGRES_PASSWORD:?…} becomes the password.
    url = urlsplit(re.sub(r"\$\{[^}]*\}", "password", bot["environment"]["SHOPBOT_DATABASE_URL"]))
    assert url.scheme == "postgresql+asyncpg" and url.hostname == "postgres"
    assert url.username == postgres["environment"]["POSTGRES_USER"]
    assert url.path.lstrip("/") == postgres["environment"]["POSTGRES_DB"]


def test_the_published_port_is_the_listening_port_on_the_hosts_loopback() -> None:
    bot = compose()["services"]["bot"]  # type: ignore[index]
    [published] = bot["ports"]
    host, host_port, container_port = published.split(":")
    listen_port = bot["environment"]["SHOPBOT_WEBHOOK_LISTEN"].rsplit(":", 1)[1]
    assert host == "127.0.0.1" and container_port == listen_port
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert f"EXPOSE {container_port}" in dockerfile
    assert f"SHOPBOT_WEBHOOK_LISTEN=0.0.0.0:{container_port}" in dockerfile
    assert re.search(r'CMD \["shopbot", "serve"\]', dockerfile)
    # The README tells where the proxy finds it, and the Caddyfile sends it there.
    assert f"127.0.0.1:{host_port}" in section("Running for many families")
    assert f"reverse_proxy 127.0.0.1:{host_port}" in (DEPLOY / "Caddyfile").read_text()


def test_every_setting_the_deployment_files_name_exists_and_is_in_the_readme() -> None:
    documented = readme_settings()
    fields = {f"SHOPBOT_{name.upper()}" for name in Settings.model_fields}
    named: set[str] = set(compose()["services"]["bot"]["environment"])  # type: ignore[index]
    for path in ("Dockerfile", "shopbot.service", "env.example"):
        named |= set(re.findall(r"\bSHOPBOT_[A-Z_]+[A-Z]", (DEPLOY / path).read_text()))
    assert named - fields == set(), "settings the bot does not have"
    assert named - set(documented) == set(), "settings missing from the README's table"
    # The webhook settings of ARCHITECTURE.md's contract, with the README's defaults.
    assert documented["SHOPBOT_WEBHOOK_LISTEN"] == "127.0.0.1:8080"
    assert documented["SHOPBOT_WORKERS"] == "1" and documented["SHOPBOT_RATE_LIMIT"] == "on"
    defaults = Settings.model_fields
    assert defaults["webhook_listen"].default == "127.0.0.1:8080"
    assert defaults["workers"].default == 1 and defaults["rate_limit"].default is True


def test_only_the_webhook_path_is_public_and_the_unit_runs_serve() -> None:
    example = (DEPLOY / "env.example").read_text(encoding="utf-8")
    url = re.search(r"^SHOPBOT_WEBHOOK_URL=(\S+)$", example, flags=re.MULTILINE)
    assert url is not None and urlsplit(url.group(1)).scheme == "https"
    caddy = (DEPLOY / "Caddyfile").read_text(encoding="utf-8")
    assert f"handle {urlsplit(url.group(1)).path} {{" in caddy and "respond 404" in caddy
    unit = (DEPLOY / "shopbot.service").read_text(encoding="utf-8")
    assert re.search(r"^ExecStart=\S+/shopbot serve$", unit, flags=re.MULTILINE)
    assert "RestartPreventExitStatus=2" in unit


def test_the_readme_says_the_images_are_not_built_here() -> None:
    text = section("Running for many families")
    assert "not built here" in text and "no Docker engine" in text
    assert "docs/deploy/compose.yaml" in text and "tests/test_deploy.py" in text
