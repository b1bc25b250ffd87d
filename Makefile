.PHONY: up test setup lint contracts bench clean

up:          ## Set up and run the whole system locally with simulators feeding it
	scripts/setup.sh
	uv run --frozen python -m settle_local up

test:        ## Run every check and test tier, as CI does
	scripts/test.sh

setup:       ## Install what the project needs on this machine
	scripts/setup.sh

lint:
	uv run --frozen ruff check .
	uv run --frozen ruff format --check .
	cd services/payments/core && cargo fmt --check && cargo clippy --release --locked -q -- -D warnings
	uv run --frozen mypy shared/src services/*/src services/payments/core/python simulators/src deploy/local/src tests bench

bench:       ## Measure (JSON in bench/results/)
	scripts/setup.sh
	for script in bench/*.py; do uv run --frozen python "$$script" || exit 1; done

contracts:   ## Regenerate contracts/ from the code
	uv run --frozen python -m settle_local.contracts

clean:
	rm -rf .run
