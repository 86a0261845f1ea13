#!/usr/bin/env bash
# How long lamina takes to read, validate and resolve a manifest with N trusted files, in both
# languages, against the cost of starting lamina at all (`lamina --version`). hyperfine, median
# of at least 30 runs after 5 warm-ups; run it on an idle machine. Half of the TOML entries
# carry a sha256, and so do half of the Graphene ones (sgx.trusted_checksum).
# Usage: bench/manifest-read.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup --bench
build=${1:-build}
[ -x "$build/lamina" ] || { echo "build lamina first (scripts/test or ninja -C $build)" >&2; exit 1; }
lamina=$(realpath "$build/lamina")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for n in 1000 10000 100000; do
        /usr/bin/python3 - "$work" "$n" <<'PY'
import sys
work, n = sys.argv[1], int(sys.argv[2])
sha = "0123456789abcdef" * 4
with open(f"{work}/toml-{n}.manifest", "w") as f:
    f.write('libos.entrypoint = "/usr/bin/python3"\nsgx.trusted_files = [\n')
    for i in range(n):
        if i % 2:
            f.write(f'  {{ uri = "file:/usr/lib/python3/f{i}.py", sha256 = "{sha}" }},\n')
        else:
            f.write(f'  "file:/usr/lib/python3/f{i}.py",\n')
    f.write("]\n")
with open(f"{work}/legacy-{n}.manifest", "w") as f:
    f.write("loader.exec = file:/usr/bin/python3\n")
    for i in range(n):
        f.write(f"sgx.trusted_files.f{i} = file:/usr/lib/python3/f{i}.py\n")
        if i % 2:
            f.write(f"sgx.trusted_checksum.f{i} = {sha}\n")
PY
done

args=(--warmup 5 --min-runs 30 --export-json "$work/results.json" -N
      "$lamina --version")
for n in 1000 10000 100000; do
        args+=("$lamina check --quiet $work/toml-$n.manifest"
               "$lamina check --quiet $work/legacy-$n.manifest")
done
hyperfine "${args[@]}" >&2
/usr/bin/python3 - "$work/results.json" "$work/" "$lamina" <<'PY'
import json, statistics, sys
results, work, lamina = json.load(open(sys.argv[1]))["results"], sys.argv[2], sys.argv[3]
print("| command | median [ms] | min [ms] | runs |")
print("|:---|---:|---:|---:|")
for r in results:
    name = r["command"].replace(work, "").replace(lamina, "lamina")
    print(f"| `{name}` | {statistics.median(r['times']) * 1e3:.1f} | "
          f"{min(r['times']) * 1e3:.1f} | {len(r['times'])} |")
PY
