# OneStop: `make run` to start everything locally, `make test` to run every test.
.PHONY: deps run down test bench

deps:
	bash compose/local/setup.sh

run:
	bash compose/local/up.sh

down:
	bash compose/local/down.sh

test: deps
	swift build --build-tests
	swift test

bench: deps
	swift run -c release onestop-bench protocol
	for name in messaging intake review routing notification complaints; do \
		swift run -c release onestop-bench-$$name || exit 1; \
	done
