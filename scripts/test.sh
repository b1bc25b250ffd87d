#!/usr/bin/env bash
# Every check CI runs: lint, types, then all test tiers (unit, integration, stream, contract,
# end-to-end, deploy) in one pytest session sharing one PostgreSQL and one Kafka.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }

scripts/setup.sh
[ -d "$HOME/.cargo/bin" ] && PATH="$HOME/.cargo/bin:$PATH"
say "ruff"
uv run --frozen ruff check .
uv run --frozen ruff format --check .
say "rustfmt and clippy (payments core)"
(cd services/payments/core && cargo fmt --check && cargo clippy --release --locked -q -- -D warnings)
say "mypy (strict)"
uv run --frozen mypy shared/src services/*/src services/payments/core/python simulators/src deploy/local/src tests bench
say "pytest: every tier"
uv run --frozen pytest "$@"
