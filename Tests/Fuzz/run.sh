#!/usr/bin/env bash
# Builds the fuzz targets instrumented (libFuzzer + AddressSanitizer) and runs each for
# FUZZ_SECONDS (default 30) from the checked-in seeds. New inputs the fuzzer finds go to
# .corpus/ (not checked in); a crash stops the run with its reproducer in .crashes/.
# Prints a table of executions per target. `make fuzz` runs it; `FUZZ_SECONDS=600 make fuzz`
# is the long run.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${FUZZ_SECONDS:-30}
# The Swift backtracer reading a crashed process trips AddressSanitizer; libFuzzer reports the crash.
export SWIFT_BACKTRACE=enable=no
flags=(-c release -Xswiftc -sanitize=fuzzer,address)
echo "==> building the fuzz targets (instrumented)"
swift build "${flags[@]}" 2>&1 | grep -E "error|warning: .*Fuzz|Build complete" || true
bin=$(swift build "${flags[@]}" --show-bin-path)
mkdir -p .corpus .crashes
table="| target | seconds | executions | executions/s | corpus (seeds + found) | crashes |\n| --- | ---: | ---: | ---: | ---: | ---: |\n"
status=0
for target in line-protocol json http-request; do
    mkdir -p ".corpus/$target"
    log=".corpus/$target.log"
    echo "==> fuzz-$target for ${seconds}s"
    set +e
    "$bin/fuzz-$target" ".corpus/$target" "Corpus/$target" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=".crashes/$target-" >"$log" 2>&1
    code=$?
    set -e
    runs=$(grep -Eo "stat::number_of_executed_units: *[0-9]+" "$log" | grep -Eo "[0-9]+$" || echo 0)
    corpus=$(( $(ls "Corpus/$target" | wc -l) + $(ls ".corpus/$target" | wc -l) ))
    crashes=0
    if [ "$code" -ne 0 ]; then
        crashes=1
        status=1
        echo "fuzz-$target failed (exit $code); its log ends:" >&2
        tail -40 "$log" >&2
    fi
    table+="| fuzz-$target | $seconds | $runs | $(( runs / (seconds > 0 ? seconds : 1) )) | $corpus | $crashes |\n"
done
printf "\n$table"
exit $status
