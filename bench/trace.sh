#!/usr/bin/env bash
# lamina trace against the native run it traces (issue 5: tracing the callprocess chain,
# Python -> sh -> Python, costs no more than 2x its native run): the native chain, lamina trace
# writing the manifest (the run, the listener, then hashing every trusted file), and
# lamina trace --against that manifest (the same without hashing). hyperfine medians of at
# least 40 runs after 10 warm-ups, side by side, ROUNDS (default 3) times.
# Usage: [ROUNDS=N] bench/trace.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup --bench
build=${1:-build}
lamina=$(realpath "$build/lamina")
rounds=${ROUNDS:-3}
work=$(mktemp -d /var/tmp/lamina-trace-bench.XXXXXX) # lamina trace refuses /tmp
trap 'rm -rf "$work"' EXIT
export PATH=/usr/bin:/bin # the same python3 and sh for every contender

mkdir "$work/app"
cp -r examples/python-multiprocess/scripts "$work/app/"
cd "$work/app"
"$lamina" trace -o "$work/traced.manifest" -- python3 scripts/callprocess.py >/dev/null

for ((round = 1; round <= rounds; round++)); do
        hyperfine -N -w 10 -m 40 --export-json "$work/round$round.json" \
                -n native "python3 scripts/callprocess.py" \
                -n trace "$lamina trace -o $work/out.manifest -- python3 scripts/callprocess.py" \
                -n against "$lamina trace --against $work/traced.manifest -o $work/diff -- python3 scripts/callprocess.py" \
                >/dev/null
done
/usr/bin/python3 - "$work" "$rounds" <<'PY'
import json, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
medians = {}
for r in range(1, rounds + 1):
    for result in json.load(open(f"{work}/round{r}.json"))["results"]:
        medians.setdefault(result["command"], []).append(result["median"] * 1000)
native = statistics.median(medians["native"])
for name, values in medians.items():
    m = statistics.median(values)
    print(f"{name:8} median {m:6.1f} ms (rounds: {' '.join(f'{v:.1f}' for v in values)}) "
          f"{m / native:.2f}x native")
PY
