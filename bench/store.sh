#!/usr/bin/env bash
# The snapshot store against GNU tar, in one run on one filesystem:
#   backup:    abur backup (pax + zstd, CONFIG_ZSTD_LEVEL/THREADS)  vs  tar --zstd -cf
#   unchanged: abur backup of the same tree again: must write no payload bytes
# on a config tree of ~2,000 files / ~50 MB (ini, xml, json, logs, PEM text
# and binary blobs, generated deterministically).  Bytes written come from
# the kernel's I/O accounting of each process (getrusage ru_oublock, i.e.
# /proc/PID/io write_bytes, via /usr/bin/time %O), and from the size of what
# each tool left on disk.  Times are the median of BENCH_RUNS (3) runs with
# a warm page cache.
#   bench/store.sh [ABUR]      (BENCH_RUNS=3, BENCH_FILES=2000, BENCH_MB=50)
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/.." && pwd)}
ABUR=${1:-${ABUR:-$TOP/build/abur}}
runs=${BENCH_RUNS:-3}
nfiles=${BENCH_FILES:-2000}
mb=${BENCH_MB:-50}
tmp=$(mktemp -d /tmp/abur-bench-store.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

[ -x "$ABUR" ] || { echo "bench/store.sh: no $ABUR (run make first)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench/store.sh: needs /usr/bin/time (Debian package time)" >&2; exit 1; }
command -v zstd >/dev/null || { echo "bench/store.sh: needs zstd for tar --zstd" >&2; exit 1; }

# ---- the tree ----------------------------------------------------------
python3 - "$tmp/src/etc/vms" "$nfiles" "$mb" <<'EOF'
import json, os, random, sys
root, nfiles, mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(20261122)
words = ("camera stream record motion alarm zone retention codec h264 h265 bitrate fps width height "
         "storage archive user group role permission schedule event trigger relay input output ptz "
         "preset tour analytics lpr face overlay timezone ntp dns gateway multicast unicast").split()
def w(): return rnd.choice(words)
def ini(n):
    out = []
    while sum(map(len, out)) < n:
        out.append("[%s_%d]\n" % (w(), rnd.randrange(100)))
        for _ in range(rnd.randrange(3, 12)):
            out.append("%s_%s = %s\n" % (w(), w(), rnd.choice([str(rnd.randrange(10**6)), w(), "yes", "no",
                       "10.%d.%d.%d" % (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256))])))
    return "".join(out)
def xml(n):
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n<config>\n']
    while sum(map(len, out)) < n:
        out.append('  <camera id="%d" name="%s-%s-%d" enabled="%s">\n    <stream codec="%s" fps="%d" '
                   'bitrate="%d"/>\n    <url>rtsp://10.0.%d.%d:554/%s</url>\n  </camera>\n' %
                   (rnd.randrange(10**4), w(), w(), rnd.randrange(100), rnd.choice(["true", "false"]),
                    rnd.choice(["h264", "h265"]), rnd.choice([10, 15, 25, 30]), rnd.randrange(512, 8192),
                    rnd.randrange(256), rnd.randrange(256), w()))
    return "".join(out) + "</config>\n"
def js(n):
    items = []
    while len(json.dumps(items)) < n:
        items.append({"id": rnd.randrange(10**6), "name": w() + "-" + w(), "zones": [rnd.randrange(64) for _ in range(8)],
                      "schedule": {d: [rnd.randrange(24), rnd.randrange(24)] for d in ("mon", "tue", "wed", "thu", "fri")}})
    return json.dumps(items, indent=2)
def log(n):
    out = []
    while sum(map(len, out)) < n:
        out.append("2026-11-%02d %02d:%02d:%02d INFO %s: %s %s on %s-%d\n" % (rnd.randrange(1, 29), rnd.randrange(24),
                   rnd.randrange(60), rnd.randrange(60), w(), w(), w(), w(), rnd.randrange(100)))
    return "".join(out)
def pem(n):
    import base64
    body = base64.encodebytes(rnd.randbytes(n * 3 // 4)).decode()
    return "-----BEGIN CERTIFICATE-----\n" + body + "-----END CERTIFICATE-----\n"
kinds = [(".ini", ini), (".xml", xml), (".json", js), (".log", log), (".pem", pem)]
nblobs = max(1, nfiles // 40)
ntext = nfiles - nblobs
text_bytes = mb * 2**20 // 5          # a fifth of the bytes is text
blob_bytes = mb * 2**20 - text_bytes  # the rest: binary blobs
for i in range(ntext):
    ext, gen = kinds[i % len(kinds)]
    d = os.path.join(root, "site%02d" % (i % 25), ["cameras", "users", "rules", "maps", "certs"][i % 5])
    os.makedirs(d, exist_ok=True)
    size = max(64, int(rnd.expovariate(1.0) * text_bytes / ntext))
    with open(os.path.join(d, "%s%04d%s" % (w(), i, ext)), "w") as f:
        f.write(gen(size))
os.makedirs(os.path.join(root, "blobs"), exist_ok=True)
for i in range(nblobs):
    size = blob_bytes // nblobs
    with open(os.path.join(root, "blobs", "blob%03d.bin" % i), "wb") as f:
        if i % 3 == 0:    # compressed already (firmware, images): random
            f.write(rnd.randbytes(size))
        elif i % 3 == 1:  # tables with structure: compress well
            f.write(b"".join(i.to_bytes(4, "little") + bytes(12) for i in range(size // 16)))
        else:             # half random, half zeros (sparse-ish databases)
            f.write(rnd.randbytes(size // 2) + bytes(size - size // 2))
EOF
files=$(find "$tmp/src" -type f | wc -l)
bytes=$(du -sb "$tmp/src" | cut -f1)
cat >"$tmp/abur.ini" <<EOF
[flash]
store = $tmp/store
mount = $tmp/mnt
[component config]
paths = /etc/vms
keep = 2
EOF
find "$tmp/src" -type f -exec cat {} + >/dev/null # warm the page cache for both tools

# measure NAME CMD...: runs CMD once; sets T (seconds) and W (bytes written).
measure() {
	local name=$1 rc
	shift
	sync
	/usr/bin/time -f '%e %O' -o "$tmp/time.$name" "$@" >"$tmp/out.$name" 2>&1
	rc=$?
	read -r T blocks < <(tail -n 1 "$tmp/time.$name")
	W=$((blocks * 512))
	return $rc
}
median() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

for _ in $(seq "$runs"); do
	rm -rf "${tmp:?}/store" "${tmp:?}/out.tar.zst"
	mkdir -p "$tmp/store"
	measure abur "$ABUR" -c "$tmp/abur.ini" backup --root "$tmp/src" config ||
		{ echo "abur backup failed: $(cat "$tmp/out.abur")"; exit 1; }
	echo "$T" >>"$tmp/abur.t"
	echo "$W" >>"$tmp/abur.w"
	measure tar tar --zstd -cf "$tmp/out.tar.zst" -C "$tmp/src" etc/vms ||
		{ echo "tar failed: $(cat "$tmp/out.tar")"; exit 1; }
	echo "$T" >>"$tmp/tar.t"
	echo "$W" >>"$tmp/tar.w"
done
abur_payload=$(stat -c %s "$tmp"/store/abur/config/g*/data.tar.zst)
abur_store=$(du -sb "$tmp/store" | cut -f1)
tar_size=$(stat -c %s "$tmp/out.tar.zst")

# Unchanged re-run: nothing may reach the store.
before=$(cd "$tmp/store" && find . ! -name .lock -printf '%p %s %T@\n' | sort | sha256sum)
store_before=$(du -sb "$tmp/store" | cut -f1)
measure again "$ABUR" -c "$tmp/abur.ini" backup --root "$tmp/src" config
rc=$?
after=$(cd "$tmp/store" && find . ! -name .lock -printf '%p %s %T@\n' | sort | sha256sum)
store_after=$(du -sb "$tmp/store" | cut -f1)
again_t=$T again_w=$W

at=$(median <"$tmp/abur.t") tt=$(median <"$tmp/tar.t")
aw=$(median <"$tmp/abur.w") tw=$(median <"$tmp/tar.w")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
echo "tree: $files files, $(mib "$bytes") (text: ini xml json log pem; binary blobs); median of $runs runs"
echo "abur: zstd level $(sed -n 's/^#define CONFIG_ZSTD_LEVEL //p' "$TOP/include/generated/autoconf.h" 2>/dev/null), $(sed -n 's/^#define CONFIG_ZSTD_THREADS //p' "$TOP/include/generated/autoconf.h" 2>/dev/null) threads; tar: zstd CLI defaults"
printf '%-34s %14s %14s %10s\n' "" "abur" "tar --zstd" "abur/tar"
printf '%-34s %14s %14s %10s\n' "backup time (s)" "$at" "$tt" "$(ratio "$at" "$tt")"
printf '%-34s %14s %14s %10s\n' "bytes written (I/O accounting)" "$(mib "$aw")" "$(mib "$tw")" "$(ratio "$aw" "$tw")"
printf '%-34s %14s %14s %10s\n' "payload / archive size" "$(mib "$abur_payload")" "$(mib "$tar_size")" "$(ratio "$abur_payload" "$tar_size")"
printf '%-34s %14s %14s %10s\n' "whole store (payload+manifest)" "$(mib "$abur_store")" "-" ""
printf '%-34s %14s\n' "unchanged re-run: time (s)" "$again_t"
printf '%-34s %14s\n' "unchanged re-run: bytes written" "$again_w  (process total: source atime updates, stdout)"
printf '%-34s %14s\n' "unchanged re-run: store growth" "$((store_after - store_before)) B"
if [ $rc = 4 ] && [ "$before" = "$after" ] && [ "$store_after" = "$store_before" ]; then
	echo "unchanged re-run: exit 4, zero payload bytes (store listing, sizes and mtimes identical): OK"
else
	echo "unchanged re-run: exit $rc, store changed: $([ "$before" = "$after" ] && echo no || echo yes): NOT ZERO"
	exit 1
fi
