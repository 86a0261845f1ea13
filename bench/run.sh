#!/usr/bin/env bash
# lamina run against native and against bubblewrap with an equivalent read-only view, tree
# already built (issue 3: within 1.10x of native for both Python cases, faster than bwrap):
#   python3 -c pass        under examples/python-simple's manifest (secure: no allowed files,
#                          the whole standard library trusted) and under the multiprocess one
#   callprocess chain      examples/python-multiprocess: Python -> sh -> Python
#   fork+exec+wait         sh running /bin/true 200 times
# hyperfine medians of at least 40 runs after 10 warm-ups, each case's contenders side by
# side, ROUNDS (default 3) times; run it on an idle machine.
# Usage: [ROUNDS=N] bench/run.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup --bench
build=${1:-build}
lamina=$(realpath "$build/lamina")
store=$(mktemp -d)
trap 'rm -rf "$store"' EXIT
export PATH=/usr/bin:/bin # the same python3 and sh for every contender

mp=examples/python-multiprocess
simple=examples/python-simple
make -s -C "$mp" LAMINA="$lamina" >/dev/null
make -s -C "$simple" LAMINA="$lamina" >/dev/null
py=$(realpath /usr/bin/python3)

# a manifest for the loop: sh, true, and what they load
cat >"$store/loop.manifest" <<MANIFEST
libos.entrypoint = "/bin/sh"
loader.insecure__use_cmdline_argv = true
sgx.trusted_files = ["file:/bin/sh", "file:/usr/bin/dash", "file:/bin/true",
  "file:/lib64/ld-linux-x86-64.so.2", "file:/lib/x86_64-linux-gnu/libc.so.6"]
MANIFEST
loop='i=0; while [ $i -lt 200 ]; do /bin/true; i=$((i+1)); done'

# bubblewrap's view: the host's /usr read-only, the usual symlinks, the scripts, /proc, /dev,
# a tmpfs /tmp, and new pid and ipc namespaces, as lamina makes.
bwrap_view=(bwrap --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib
            --symlink usr/lib64 /lib64 --ro-bind "$PWD/$mp/scripts" /scripts --proc /proc
            --dev /dev --tmpfs /tmp --unshare-pid --unshare-ipc --die-with-parent --chdir /
            --clearenv --setenv PATH /usr/bin:/bin --setenv HOME /)

cases=()
run() { # NAME COMMAND
        cases+=("$1" "$2")
}
run "python3 -c pass, native" "$py -c pass"
run "python3 -c pass, lamina (python-simple, secure)" \
        "$lamina run --store $store $simple/python.manifest -c pass"
run "python3 -c pass, lamina (python-multiprocess)" \
        "$lamina run --store $store $mp/python3.11.manifest -c pass"
run "python3 -c pass, bwrap" "${bwrap_view[*]} $py -c pass"
run "callprocess, native" "sh -c 'cd $mp && $py scripts/callprocess.py'"
run "callprocess, lamina" "sh -c 'cd $mp && ./pal_loader --store $store ./python3.11.manifest scripts/callprocess.py'"
run "callprocess, bwrap" "${bwrap_view[*]} $py scripts/callprocess.py"
run "fork+exec /bin/true x200, native" "sh -c '$loop'"
run "fork+exec /bin/true x200, lamina" "$lamina run --store $store $store/loop.manifest -c '$loop'"
run "fork+exec /bin/true x200, bwrap" "${bwrap_view[*]} sh -c '$loop'"

# build the trees once, so that every timed run finds them ready
for ((i = 1; i < ${#cases[@]}; i += 2)); do eval "${cases[i]}" >/dev/null 2>&1 || true; done

# This VM drifts over a minute by more than the differences measured: each case's contenders
# are timed side by side, in ROUNDS rounds, and the median of the round medians is reported.
rounds=${ROUNDS:-3}
for ((round = 0; round < rounds; round++)); do
        for group in "python3 -c pass" "callprocess" "fork+exec"; do
                args=()
                for ((i = 0; i < ${#cases[@]}; i += 2)); do
                        case ${cases[i]} in "$group"*) args+=("${cases[i + 1]}") ;; esac
                done
                hyperfine --warmup 10 --min-runs 40 \
                        --export-json "$store/$round-${group%% *}.json" "${args[@]}" >&2
        done
done
printf '%s\n' "${cases[@]}" >"$store/cases"
/usr/bin/python3 - "$store" "$rounds" <<'PY'
import glob, json, statistics, sys
store, rounds = sys.argv[1], int(sys.argv[2])
lines = open(f"{store}/cases").read().split("\n")
names = dict(zip(lines[1::2], lines[0::2]))
per_case = {}
for path in glob.glob(f"{store}/*.json"):
    for r in json.load(open(path))["results"]:
        per_case.setdefault(names[r["command"]], []).append(statistics.median(r["times"]) * 1e3)
print(f"| case | median [ms] (median of {rounds} rounds) | vs native |")
print("|:---|---:|---:|")
for name in lines[0::2]:
    if name not in per_case:
        continue
    value = statistics.median(per_case[name])
    native = statistics.median(per_case[name.split(",")[0] + ", native"])
    print(f"| {name} | {value:.1f} | {value / native:.2f}x |")
PY
