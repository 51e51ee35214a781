# OneStop: `make run` to start everything locally, `make test` to run every test.
.PHONY: deps run down clean test validate-deploy bench fuzz chaos

deps:
	bash compose/local/setup.sh

run:
	bash compose/local/up.sh

down:
	bash compose/local/down.sh

# Stops everything, then deletes the local cluster's data and the logs.
clean: down
	rm -rf .data .logs

# Tests start real services and databases; on a small machine a few dozen at once is the most
# that stays responsive (ONESTOP_TEST_PARALLELISM raises or lowers it).
test: deps validate-deploy
	swift build --build-tests
	SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH=$${ONESTOP_TEST_PARALLELISM:-24} swift test

# compose/Dockerfile, docker-compose.yml and compose/k8s checked offline (no Docker engine, no cluster).
validate-deploy:
	bash compose/validate.sh

# The last line compares the line protocol with gRPC Swift 2 and Hummingbird 2; it is a package of
# its own (Tests/Benchmarks/Compare) so the main build never compiles them. JSON in .bench/.
# The whole-system benchmarks start the service executables, so everything is built first.
bench: deps
	swift build -c release
	swift run -c release onestop-bench protocol
	for name in messaging intake review routing notification complaints; do \
		swift run -c release onestop-bench-$$name || exit 1; \
	done
	for part in targets ramp footprint; do \
		.build/release/onestop-bench-gateway $$part || exit 1; \
	done
	cd Tests/Benchmarks/Compare && swift run -c release onestop-compare run --json ../../../.bench/compare.json

# libFuzzer targets (Tests/Fuzz, a package of its own: everything in it is instrumented) for the
# line framing, the JSON-RPC envelope, the JSON parser and the gateway's HTTP request decoding.
# FUZZ_SECONDS per target: 30 by default (CI runs 20), 600 or more for a long run.
fuzz:
	bash Tests/Fuzz/run.sh

# The long chaos run: 5,000 cases through the gateway while services are killed, Postgres is
# stopped, notification is frozen and the routing -> notification link is cut (10 s each);
# prints the accounting (lost, duplicated, unexpected, recovered) and fails unless nothing is
# lost or duplicated. The short version runs in `make test` (Tests/EndToEnd/Scenarios/ChaosTests).
chaos: deps
	swift build
	.build/debug/onestop-chaos --cases $${CHAOS_CASES:-5000}
