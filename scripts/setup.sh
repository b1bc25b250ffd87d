#!/usr/bin/env bash
# Prepares a fresh machine: pinned uv and the locked Python environment, PostgreSQL and JDK/Maven
# from the system packages when missing, the Kafka jars, and the offline tools the tests use.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION=0.13.9
say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }

need_apt=()
command -v java >/dev/null && java -version 2>&1 | grep -q '"17\|"2[0-9]' || need_apt+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || need_apt+=(maven)
command -v node >/dev/null || need_apt+=(nodejs npm)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || command -v pg_config >/dev/null || need_apt+=(postgresql)
if ((${#need_apt[@]})); then
  say "installing system packages: ${need_apt[*]}"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# The payments core is compiled from Rust: cargo must be there before uv builds it.
[ -d "$HOME/.cargo/bin" ] && PATH="$HOME/.cargo/bin:$PATH"
if ! command -v cargo >/dev/null; then
  echo "Rust's cargo is not installed; the payments core (services/payments/core) is compiled" \
    "with it. Install Rust 1.80 or later (rustup.rs, or your distribution's rustup)." >&2
  exit 1
fi

if ! uv --version 2>/dev/null | grep -q "^uv $UV_VERSION"; then
  say "installing uv $UV_VERSION"
  python3 -m pip install -q --disable-pip-version-check "uv==$UV_VERSION"
fi

say "syncing the Python environment from uv.lock"
uv sync --frozen --all-packages --quiet

say "resolving Apache Kafka from Maven Central (cached in .cache/)"
uv run --frozen python -c "from settle_local.kafka import ensure_kafka_jars; print(ensure_kafka_jars())" >/dev/null

say "installing the offline test tools (tools/package-lock.json)"
npm ci --prefix tools --no-audit --no-fund --loglevel=error >/dev/null

if [ -x tools/deploy_schemas.sh ]; then
  say "fetching the manifest schemas (Kubernetes CRDs, compose spec)"
  tools/deploy_schemas.sh >/dev/null
fi
say "ready"
