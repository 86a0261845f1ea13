#!/usr/bin/env bash
# How fast `lamina sign` hashes a manifest's trusted files (issue 4: 10,000 trusted files at
# >= 80% of what `openssl speed -evp sha256` gives on the same cores). Makes FILES files of
# TOTAL_MIB MiB in all under /var/tmp, lists them one by one in a TOML manifest, signs it RUNS
# times with the files in the page cache, and prints the median throughput that lamina sign
# reports for its hashing, next to openssl speed -multi <cores> on 1 MiB blocks run after each,
# and next to bench/hash-loop.c, the bare read+hash loop over the same files (the ceiling).
# Usage: bench/sign.sh [BUILD_DIR] [FILES] [TOTAL_MIB] [RUNS]   (default: build 10000 1024 5)
# KEEP=1 leaves the files (for perf); the directory is printed on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
files=${2:-10000}
mib=${3:-1024}
runs=${4:-5}
lamina=$(realpath "$build/lamina")
cores=$(getconf _NPROCESSORS_ONLN)
work=$(mktemp -d /var/tmp/lamina-sign-bench.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT; echo "$work" >&2

/usr/bin/python3 - "$work" "$files" "$mib" <<'PY'
import os, sys
work, files, mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
size = mib * 1024 * 1024 // files
os.mkdir(f"{work}/data")
block = os.urandom(1 << 20)
with open(f"{work}/app.manifest", "w") as m:
    m.write('libos.entrypoint = "/bin/sh"\nsgx.trusted_files = [\n')
    for i in range(files):
        path = f"{work}/data/f{i:05}"
        with open(path, "wb") as f:
            left = size
            while left > 0:
                f.write(block[: min(left, len(block))])
                left -= len(block)
        m.write(f'  "file:{path}",\n')
    m.write("]\n")
PY
"$lamina" gen-key "$work/key.pem" >/dev/null
cc -O2 -o "$work/hash-loop" bench/hash-loop.c -lcrypto
total=$(cat "$work"/data/* | wc -c) # and the page cache, as for openssl's buffer
# Each round signs, then runs openssl speed for 2 s: the two side by side, since this kind of
# VM drifts by 20% from minute to minute.
speeds=()
openssl=()
loop=()
for ((i = 0; i < runs; i++)); do
        line=$("$lamina" sign --key "$work/key.pem" --manifest "$work/app.manifest" \
                --output "$work/app.manifest.sgx" | head -n 1)
        speeds+=("$(sed -E 's/.*\(([0-9]+) MB\/s\).*/\1/' <<<"$line")")
        loop+=("$("$work/hash-loop" "$files" "$cores" "$work/data" "$total")")
        openssl+=("$(openssl speed -evp sha256 -multi "$cores" -bytes 1048576 -seconds 2 \
                2>/dev/null | awk '/^sha256/ {print $2}' | tr -d k)")
done
/usr/bin/python3 - "$files" "$mib" "$cores" "${speeds[*]}" "${openssl[*]}" "${loop[*]}" <<'PY'
import statistics, sys
files, mib, cores = sys.argv[1], sys.argv[2], sys.argv[3]
speeds = [float(s) for s in sys.argv[4].split()]
openssl = [float(s) * 1000 / 1e6 for s in sys.argv[5].split()]
loop = [float(s) for s in sys.argv[6].split()]
ratios = [100 * a / b for a, b in zip(speeds, openssl)]
loop_ratios = [100 * a / b for a, b in zip(loop, openssl)]
print(f"lamina sign, {files} files, {mib} MiB, {cores} cores: median {statistics.median(speeds):.0f} "
      f"MB/s (runs: {' '.join(f'{s:.0f}' for s in speeds)}); openssl speed -evp sha256 -multi "
      f"{cores}: median {statistics.median(openssl):.0f} MB/s (runs: "
      f"{' '.join(f'{s:.0f}' for s in openssl)}); median of the per-round ratios: "
      f"{statistics.median(ratios):.1f}%")
print(f"bench/hash-loop.c, the same files on {cores} processes: median {statistics.median(loop):.0f} "
      f"MB/s (runs: {' '.join(f'{s:.0f}' for s in loop)}); median of the per-round ratios: "
      f"{statistics.median(loop_ratios):.1f}%")
PY
