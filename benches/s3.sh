#!/usr/bin/env bash
# linkkeep with its archive in S3-compatible object storage, on loopback only (issue #18).
#
#   benches/s3.sh                   # every scenario (about 2 minutes once built and installed)
#   benches/s3.sh --quick           # smaller sizes, 1 shard round: a smoke test of the harness
#   benches/s3.sh --only requests,memory,shards --runs 3
#   benches/s3.sh --keep            # keep the scratch directory (nginx config, moto's log, TSVs)
#
# Scenarios:
# requests: requests to the object store per captured link. N links (distinct 64 KiB files of
#   random bytes, over 50 simulated hosts) archived cold into an empty prefix, then an unchanged
#   re-run, for N = 100, 1,000 and 2,000; then 100 of the 2,000 links re-run against the
#   2,000-link archive (a 20x larger archive than the list), and the same 100-link re-run after
#   5,000 small objects were added under the prefix's runs/ (what years of run reports leave),
#   to show whether a run's requests depend on the archive's object count. Requests are counted
#   from moto's log (one werkzeug line per request), by method and kind: PUT (objects / multipart
#   parts), GET (objects), LIST (GET ?list-type), HEAD, DELETE, POST (multipart create /
#   complete / batch delete), and by the object they name (lease, manifest+index, WARC, journal
#   segment, run report). Sizes of manifest.json and index.cdxj are listed too: every run reads
#   and rewrites them whole.
# memory: peak RSS of `linkkeep archive` of one link whose body is 1 GiB of random bytes, into
#   the bucket (a multipart upload: 8 MiB parts, 2 in flight) and into a local directory.
# shards: 2,000 links over 50 hosts (h00.test .. h49.test, all --resolve'd to 127.0.0.1, so that
#   each is its own registrable domain), one process vs 4 `--shard K/4` processes at once
#   against one bucket, same --concurrency 32 --per-host 4 in every process; wall time of
#   --runs rounds each, alternating, a fresh prefix per run. After every sharded run its manifest
#   (downloaded) must hold the 2,000 links, each with one snapshot, and equal the previous
#   single-process manifest in ids, URLs, sha256s and snapshot counts. CPU seconds of linkkeep
#   (summed over processes) and of moto over the same interval are recorded: on a 2-core machine
#   with moto (Python, one process) beside linkkeep, they say what bounds the wall time.
# --quick: N = 100 and 300, a 128 MiB body, 400 links for the shards, 1 round.
#
# Servers: moto's S3 server (moto[server]==5.1.22, the version .ci/python-tools.txt pins,
# installed into benches/.data/moto-venv if missing) and a static nginx (Debian's, installed if
# missing), both on 127.0.0.1; nothing leaves the machine. Timed runs go through
# `/usr/bin/time -v` (wall time from nanosecond clocks around it). Raw results go to
# benches/.data/s3-<time>.tsv (one line per value) and the Markdown summary to the .md beside
# it and to stdout. See BENCHMARKS.md.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
DATA=$HERE/.data
# The version the tests use: one pin, in .ci/python-tools.txt.
MOTO_VERSION=$(sed -n 's/^moto\[server\]==//p' "$ROOT/.ci/python-tools.txt")
[ -n "$MOTO_VERSION" ] || { echo "s3.sh: no moto[server]== pin in .ci/python-tools.txt" >&2; exit 2; }
VENV=$DATA/moto-venv
RUNS=3
QUICK=0
KEEP=0
ONLY=requests,memory,shards
NGINX_PORT=${BENCH_PORT_BASE:-18300}
MOTO_PORT=$((NGINX_PORT + 1))
HOSTS=50
FILE_SIZE=$((64 * 1024))
CONCURRENCY=32
PER_HOST=4
SHARDS=4

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
    case $1 in
        --quick) QUICK=1; RUNS=1 ;;
        --runs) RUNS=$2; shift ;;
        --only) ONLY=$2; shift ;;
        --keep) KEEP=1 ;;
        -h|--help) usage ;;
        *) echo "s3.sh: unknown argument $1" >&2; usage 2 ;;
    esac
    shift
done
wants() { [[ ",$ONLY," == *",$1,"* ]]; }

if [ $QUICK = 1 ]; then
    REQUEST_SIZES="100 300"
    BIG_BYTES=$((128 * 1024 * 1024)); BIG_NAME=big-128m.bin
    SHARD_N=400
    SEED_OBJECTS=1500
else
    REQUEST_SIZES="100 1000 2000"
    BIG_BYTES=$((1024 * 1024 * 1024)); BIG_NAME=big-1g.bin
    SHARD_N=2000
    SEED_OBJECTS=5000
fi
SUBSET_N=100
MAX_N=$SHARD_N
for n in $REQUEST_SIZES; do [ "$n" -gt "$MAX_N" ] && MAX_N=$n; done

log() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }
die() { echo "s3.sh: $*" >&2; exit 2; }

# Loopback only: no proxy may see these requests.
unset http_proxy https_proxy all_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
export CI=true  # no progress bars anywhere
# The object store: moto on loopback, with throwaway keys it accepts.
export AWS_ENDPOINT_URL=http://127.0.0.1:$MOTO_PORT AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench
export AWS_REGION=us-east-1 AWS_ALLOW_HTTP=true
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_PROFILE

# ---------------------------------------------------------------------------------------------
# Tools
APT_UPDATED=0
apt_install() {
    [ "$(id -u)" = 0 ] || die "$* missing and not root: install it (apt-get install $*)"
    if [ $APT_UPDATED = 0 ]; then apt-get update -qq >&2; APT_UPDATED=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || apt_install nginx-light || apt_install nginx
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x /usr/bin/time ] || apt_install time
command -v curl >/dev/null || apt_install curl
python3 -c 'import venv' 2>/dev/null || apt_install python3-venv
if [ "$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("moto"))' 2>/dev/null)" != "$MOTO_VERSION" ]; then
    log "installing moto[server]==$MOTO_VERSION into $VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "moto[server]==$MOTO_VERSION" >&2
fi
PY=$VENV/bin/python
log "building linkkeep (release)"
(cd "$ROOT" && cargo build --release --quiet --bin linkkeep)
BUILT=${CARGO_TARGET_DIR:-$ROOT/target}/release/linkkeep

# ---------------------------------------------------------------------------------------------
# Scratch space and the servers
mkdir -p "$DATA/s3" "$DATA/big"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/linkkeep-s3bench.XXXXXX")
# A private copy: a build in the shared target directory must not swap the binary mid-run.
BIN=$WORK/linkkeep
cp "$BUILT" "$BIN"
NGINX_PID= MOTO_PID=
cleanup() {
    local pid
    for pid in $NGINX_PID $MOTO_PID; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    if [ $KEEP = 0 ]; then rm -rf "$WORK"; else echo "kept $WORK" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for port in $NGINX_PORT $MOTO_PORT; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then die "port $port is taken: set BENCH_PORT_BASE"; fi
done

log "generating $MAX_N files of $FILE_SIZE random bytes (cached in $DATA/s3) and a $BIG_BYTES-byte body"
python3 - "$DATA/s3" "$MAX_N" "$FILE_SIZE" "$DATA/big/$BIG_NAME" "$BIG_BYTES" <<'EOF'
import os, sys
d, n, size, big, big_size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
for i in range(n):
    path = os.path.join(d, f"f{i:05d}.bin")
    if not (os.path.exists(path) and os.path.getsize(path) == size):
        with open(path + ".tmp", "wb") as f:
            f.write(os.urandom(size))
        os.replace(path + ".tmp", path)
if not (os.path.exists(big) and os.path.getsize(big) == big_size):
    with open(big + ".tmp", "wb") as f:
        for _ in range(big_size // (1 << 20)):
            f.write(os.urandom(1 << 20))
    os.replace(big + ".tmp", big)
EOF

# One port serves every simulated host (hNN.test, resolved to 127.0.0.1 by --resolve); nginx's
# ETag and Last-Modified are on (its defaults), so an unchanged re-run is answered with 304s.
mkdir -p "$WORK/nginx/logs"
{
    echo "daemon off; master_process on; worker_processes 1; pid $WORK/nginx/nginx.pid;"
    echo "error_log $WORK/nginx/logs/error.log warn;"
    echo "events { worker_connections 8192; }"
    echo "http {"
    echo "  access_log off; sendfile on; tcp_nopush on; tcp_nodelay on;"
    echo "  keepalive_requests 1000000; keepalive_timeout 120s;"
    echo "  types { application/octet-stream bin; } default_type application/octet-stream;"
    for t in client_body proxy fastcgi uwsgi scgi; do echo "  ${t}_temp_path $WORK/nginx/$t;"; done
    echo "  server { listen 127.0.0.1:$NGINX_PORT backlog=4096; root $DATA; }"
    echo "}"
} >"$WORK/nginx/nginx.conf"
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/logs/error.log" &
NGINX_PID=$!

# moto logs one line per request to stderr (werkzeug): "METHOD /bucket/key?query HTTP/1.1" STATUS.
MOTO_LOG=$WORK/moto.log
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >"$WORK/moto.out" 2>"$MOTO_LOG" &
MOTO_PID=$!
for _ in $(seq 150); do
    curl -fs -o /dev/null "http://127.0.0.1:$NGINX_PORT/s3/f00000.bin" &&
        curl -s -o /dev/null "http://127.0.0.1:$MOTO_PORT/" && break
    sleep 0.2
done
curl -fs -o /dev/null "http://127.0.0.1:$NGINX_PORT/s3/f00000.bin" || die "nginx did not start (see $WORK/nginx/logs)"
curl -s -o /dev/null "http://127.0.0.1:$MOTO_PORT/" || die "moto did not start (see $MOTO_LOG)"
BUCKET=linkkeep-bench
curl -fs -o /dev/null -X PUT "http://127.0.0.1:$MOTO_PORT/$BUCKET" || die "cannot create the bucket $BUCKET in moto"

RESOLVE=()
for ((h = 0; h < HOSTS; h++)); do RESOLVE+=(--resolve "$(printf 'h%02d.test' "$h"):$NGINX_PORT:127.0.0.1"); done

# links N FILE [FIRST]: links.json of N files, link i on host h(i mod 50).
links() {
    python3 -c 'import json, sys
n, port, first = int(sys.argv[1]), sys.argv[2], int(sys.argv[4])
json.dump([f"http://h{i % 50:02d}.test:{port}/s3/f{i:05d}.bin" for i in range(first, first + n)], open(sys.argv[3], "w"), indent=0)' \
        "$1" "$NGINX_PORT" "$2" "${3:-0}"
}

# ---------------------------------------------------------------------------------------------
# Measuring
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RESULTS=$DATA/s3-$STAMP.tsv
printf 'scenario\tsubject\trun\tmetric\tvalue\n' >"$RESULTS"
figure() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS"; }

# linkkeep PREFIX LINKS [ARGS...]: the archive command against s3://$BUCKET/PREFIX.
archive_cmd() {
    local prefix=$1 links=$2
    shift 2
    CMD=("$BIN" --links "$links" --archive "s3://$BUCKET/$prefix" archive "${RESOLVE[@]}"
        --concurrency "$CONCURRENCY" --per-host "$PER_HOST" --retries 0 --no-progress --format json -o /dev/null "$@")
}

# timed TIMEFILE CMD...: runs CMD under /usr/bin/time -v; fails with its stderr when it fails.
timed() {
    local tf=$1
    shift
    /usr/bin/time -v -o "$tf" "$@" >"$tf.out" 2>"$tf.err" || { tail -c 2000 "$tf.err" >&2; return 1; }
}
# elapsed_s TIMEFILE: time's "Elapsed (wall clock)" ([h:]m:ss.cc) in seconds.
elapsed_s() { time_field "$1" 'Elapsed (wall clock)' | awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.2f\n", s }'; }
time_field() { awk -F': ' -v k="$2" 'index($0, k) { print $2; exit }' "$1"; }
cpu_of() { awk -F': ' '/User time \(seconds\)/ { u = $2 } /System time \(seconds\)/ { s = $2 } END { printf "%.2f\n", u + s }' "$1"; }
# moto's CPU seconds so far (utime + stime of its process).
moto_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f\n", ($14 + $15) / hz }' "/proc/$MOTO_PID/stat"; }
now_ns() { date +%s%N; }

# moto's log lines from line $1 on (after a pause: werkzeug logs just after answering).
log_since() { sleep 0.3; tail -n "+$(($1 + 1))" "$MOTO_LOG"; }
log_lines() { wc -l <"$MOTO_LOG"; }

# count_requests SCENARIO SUBJECT FROM_LINE N: requests since FROM_LINE, by method and by kind of
# object, into $RESULTS (metric req:<class> and obj:<kind>), and printed per link.
count_requests() {
    local scenario=$1 subject=$2 from=$3 n=$4
    log_since "$from" | python3 -c '
import re, sys, collections
bucket, scenario, subject, n = sys.argv[1:5]
ansi = re.compile(r"\x1b\[[0-9;]*m")
by_class, by_kind = collections.Counter(), collections.Counter()
for line in sys.stdin:
    m = re.search(r"\"([A-Z]+) (\S+) HTTP/[0-9.]+\" (\d+)", ansi.sub("", line))
    if not m:
        continue
    method, target, status = m.groups()
    path, _, query = target.partition("?")
    if not path.startswith("/" + bucket):
        continue
    key = path[len(bucket) + 2:].split("/", 1)[1] if "/" in path[len(bucket) + 2:] else ""
    q = query
    if method == "GET" and "list-type" in q: c = "LIST"
    elif method == "PUT" and "partNumber=" in q: c = "PUT part"
    elif method == "PUT": c = "PUT object"
    elif method == "POST" and "uploads" in [p.split("=")[0] for p in q.split("&")]: c = "POST create multipart"
    elif method == "POST" and "uploadId=" in q: c = "POST complete multipart"
    elif method == "POST" and "delete" in [p.split("=")[0] for p in q.split("&")]: c = "POST delete (batch)"
    elif method == "DELETE" and "uploadId=" in q: c = "DELETE abort multipart"
    else: c = method
    by_class[c] += 1
    if c in ("LIST", "POST delete (batch)"): kind = "bucket-level"
    elif key.startswith(".lock"): kind = "lease"
    elif key in ("manifest.json", "index.cdxj"): kind = "manifest+index"
    elif key.startswith("warc/"): kind = "warc"
    elif key.startswith("journal/"): kind = "journal"
    elif key.startswith("runs/"): kind = "run report"
    else: kind = "other"
    by_kind[kind] += 1
    if status.startswith("5"): by_class["(5xx answers)"] += 1
total = sum(v for k, v in by_class.items() if not k.startswith("("))
out = [(f"req:{k}", v) for k, v in sorted(by_class.items())] + [(f"obj:{k}", v) for k, v in sorted(by_kind.items())]
out.append(("req:total", total))
for metric, v in out:
    print(f"{scenario}\t{subject}\t-\t{metric}\t{v}", file=open(sys.argv[5], "a"))
print(f"    {subject}: {total} requests, {total / int(n):.3f} per link: " + ", ".join(f"{k} {v}" for k, v in sorted(by_class.items())), file=sys.stderr)
' "$BUCKET" "$scenario" "$subject" "$n" "$RESULTS"
}

# s3_py CODE ARGS...: Python with boto3 (from moto's venv) against the bucket.
s3_py() { "$PY" -c "import boto3, json, sys; s3 = boto3.client('s3'); B = '$BUCKET'
$1" "${@:2}"; }

# object_sizes SCENARIO SUBJECT PREFIX: count and bytes of the prefix's objects, and the
# manifest's and index's sizes.
object_sizes() {
    s3_py '
prefix, scenario, subject, out = sys.argv[1] + "/", sys.argv[2], sys.argv[3], open(sys.argv[4], "a")
count, size, named = 0, 0, {}
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=B, Prefix=prefix):
    for o in page.get("Contents", []):
        count += 1; size += o["Size"]; named[o["Key"][len(prefix):]] = o["Size"]
for metric, v in [("objects", count), ("object_bytes", size), ("manifest_bytes", named.get("manifest.json", 0)), ("index_bytes", named.get("index.cdxj", 0))]:
    print(f"{scenario}\t{subject}\t-\t{metric}\t{v}", file=out)
' "$3" "$1" "$2" "$RESULTS"
}

# manifest_summary PREFIX OUT: {id: [url, sorted sha256s, snapshot count]} of the prefix's manifest.
manifest_summary() {
    s3_py '
m = json.loads(s3.get_object(Bucket=B, Key=sys.argv[1] + "/manifest.json")["Body"].read())
json.dump({i: [e["url"], sorted(s["sha256"] for s in e.get("snapshots", [])), len(e.get("snapshots", []))]
           for i, e in m["links"].items()}, open(sys.argv[2], "w"), sort_keys=True)
' "$1" "$2"
}

# unchanged PREFIX: the newest run report's "unchanged" count.
unchanged_of() {
    s3_py '
prefix = sys.argv[1] + "/runs/"
objs = [o for p in s3.get_paginator("list_objects_v2").paginate(Bucket=B, Prefix=prefix) for o in p.get("Contents", [])]
objs = [o for o in objs if not o["Key"].rsplit("/", 1)[-1].startswith("seed-")]
print(json.loads(s3.get_object(Bucket=B, Key=max(objs, key=lambda o: o["Key"])["Key"])["Body"].read())["summary"].get("unchanged", ""))
' "$1"
}

# ---------------------------------------------------------------------------------------------
# requests: requests per captured link, cold and unchanged re-run, as N grows.
bench_requests() {
    local n from prefix links
    for n in $REQUEST_SIZES; do
        prefix=req-$n-$STAMP links=$WORK/links-$n.json
        links "$n" "$links"
        log "requests: $n links cold into an empty prefix, then an unchanged re-run"
        archive_cmd "$prefix" "$links"
        from=$(log_lines)
        local t0 t1
        t0=$(now_ns)
        timed "$WORK/req.time" "${CMD[@]}" || die "requests: the cold run of $n links failed"
        t1=$(now_ns)
        figure requests "cold-$n" - wall_s "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')"
        count_requests requests "cold-$n" "$from" "$n"
        object_sizes requests "cold-$n" "$prefix"
        from=$(log_lines)
        timed "$WORK/req.time" "${CMD[@]}" || die "requests: the re-run of $n links failed"
        count_requests requests "rerun-$n" "$from" "$n"
        object_sizes requests "rerun-$n" "$prefix"
        figure requests "rerun-$n" - unchanged "$(unchanged_of "$prefix")"
        LAST_PREFIX=$prefix LAST_N=$n
    done
    # The same small re-run against the largest archive: 100 of its links.
    links "$SUBSET_N" "$WORK/links-subset.json"
    log "requests: $SUBSET_N links re-run against the $LAST_N-link archive"
    archive_cmd "$LAST_PREFIX" "$WORK/links-subset.json"
    from=$(log_lines)
    timed "$WORK/req.time" "${CMD[@]}" || die "requests: the subset re-run failed"
    count_requests requests "rerun-$SUBSET_N-in-$LAST_N" "$from" "$SUBSET_N"
    # And after $SEED_OBJECTS more objects under runs/ (as many run reports as years of daily
    # runs of several shards leave): a run that lists only what it needs does not notice.
    log "requests: adding $SEED_OBJECTS small objects under $LAST_PREFIX/runs/, then the same re-run"
    s3_py '
from concurrent.futures import ThreadPoolExecutor
prefix, n = sys.argv[1], int(sys.argv[2])
with ThreadPoolExecutor(8) as pool:
    list(pool.map(lambda i: s3.put_object(Bucket=B, Key=f"{prefix}/runs/seed-{i:06d}.json", Body=b"{}"), range(n)))
' "$LAST_PREFIX" "$SEED_OBJECTS"
    object_sizes requests "rerun-$SUBSET_N-in-$LAST_N+seeded" "$LAST_PREFIX"
    from=$(log_lines)
    timed "$WORK/req.time" "${CMD[@]}" || die "requests: the seeded re-run failed"
    count_requests requests "rerun-$SUBSET_N-in-$LAST_N+seeded" "$from" "$SUBSET_N"
}

# memory: peak RSS while archiving one big body, into the bucket and into a local directory.
bench_memory() {
    local links=$WORK/links-big.json
    echo "[\"http://h00.test:$NGINX_PORT/big/$BIG_NAME\"]" >"$links"
    figure memory - - body_bytes "$BIG_BYTES"
    log "memory: one $BIG_BYTES-byte body into the bucket"
    archive_cmd "big-$STAMP" "$links" --max-size $((BIG_BYTES + 1))
    local from t0 t1
    from=$(log_lines)
    t0=$(now_ns)
    timed "$WORK/big.time" "${CMD[@]}" || die "memory: the bucket run failed"
    t1=$(now_ns)
    figure memory bucket 1 maxrss_kb "$(time_field "$WORK/big.time" 'Maximum resident set size')"
    figure memory bucket 1 wall_s "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')"
    figure memory bucket 1 cpu_s "$(cpu_of "$WORK/big.time")"
    count_requests memory bucket "$from" 1
    object_sizes memory bucket "big-$STAMP"
    log "memory: the same body into a local directory"
    local -a local_cmd=("$BIN" --links "$links" --archive "$WORK/big-local" archive "${RESOLVE[@]}"
        --retries 0 --no-progress --format json -o /dev/null --max-size $((BIG_BYTES + 1)))
    t0=$(now_ns)
    timed "$WORK/big.time" "${local_cmd[@]}" || die "memory: the local run failed"
    t1=$(now_ns)
    figure memory local 1 maxrss_kb "$(time_field "$WORK/big.time" 'Maximum resident set size')"
    figure memory local 1 wall_s "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')"
    figure memory local 1 cpu_s "$(cpu_of "$WORK/big.time")"
    rm -rf "$WORK/big-local"
}

# shards: one process vs $SHARDS shard processes at once over the same links, one bucket.
bench_shards() {
    local links=$WORK/links-shards.json r k t0 t1 m0 m1 cpu pids
    links "$SHARD_N" "$links"
    for ((r = 1; r <= RUNS; r++)); do
        log "shards: round $r: one process over $SHARD_N links"
        archive_cmd "one-$r-$STAMP" "$links"
        m0=$(moto_cpu); t0=$(now_ns)
        timed "$WORK/one.time" "${CMD[@]}" || die "shards: the single run failed"
        t1=$(now_ns); m1=$(moto_cpu)
        figure shards one "$r" wall_s "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')"
        figure shards one "$r" linkkeep_cpu_s "$(cpu_of "$WORK/one.time")"
        figure shards one "$r" moto_cpu_s "$(awk -v a="$m0" -v b="$m1" 'BEGIN { printf "%.2f", b - a }')"
        figure shards one "$r" maxrss_kb "$(time_field "$WORK/one.time" 'Maximum resident set size')"
        manifest_summary "one-$r-$STAMP" "$WORK/one-$r.json"
        log "shards: round $r: $SHARDS shard processes at once over the same links"
        pids=()
        m0=$(moto_cpu); t0=$(now_ns)
        for ((k = 0; k < SHARDS; k++)); do
            archive_cmd "sharded-$r-$STAMP" "$links" --shard "$k/$SHARDS"
            timed "$WORK/shard-$k.time" "${CMD[@]}" &
            pids+=($!)
        done
        for k in "${!pids[@]}"; do wait "${pids[$k]}" || die "shards: shard $k/$SHARDS failed"; done
        t1=$(now_ns); m1=$(moto_cpu)
        cpu=0
        for ((k = 0; k < SHARDS; k++)); do cpu=$(awk -v a="$cpu" -v b="$(cpu_of "$WORK/shard-$k.time")" 'BEGIN { print a + b }'); done
        figure shards sharded "$r" wall_s "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')"
        figure shards sharded "$r" linkkeep_cpu_s "$cpu"
        figure shards sharded "$r" moto_cpu_s "$(awk -v a="$m0" -v b="$m1" 'BEGIN { printf "%.2f", b - a }')"
        for ((k = 0; k < SHARDS; k++)); do
            figure shards "sharded (shard $k)" "$r" wall_s "$(elapsed_s "$WORK/shard-$k.time")"
        done
        manifest_summary "sharded-$r-$STAMP" "$WORK/sharded-$r.json"
        python3 - "$WORK/one-$r.json" "$WORK/sharded-$r.json" "$SHARD_N" <<'EOF' >>"$RESULTS" || die "shards: round $r: the sharded manifest differs (see above)"
import json, sys
one, sharded, n = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), int(sys.argv[3])
problems = []
for name, m in (("single", one), ("sharded", sharded)):
    if len(m) != n: problems.append(f"{name}: {len(m)} links for {n}")
    bad = [i for i, (_, shas, count) in m.items() if count != 1 or len(shas) != 1]
    if bad: problems.append(f"{name}: {len(bad)} links without exactly one snapshot, e.g. {bad[:3]}")
if one != sharded:
    diff = sorted(set(one) ^ set(sharded)) + sorted(i for i in set(one) & set(sharded) if one[i] != sharded[i])
    problems.append(f"the manifests differ at {len(diff)} ids, e.g. {diff[:3]}")
for p in problems: print("s3.sh: " + p, file=sys.stderr)
print(f"shards\tsharded\t-\tmanifest_equal\t{'yes' if not problems else 'no'}")
sys.exit(1 if problems else 0)
EOF
        log "shards: round $r: the sharded manifest equals the single run's ($SHARD_N links, one snapshot each)"
    done
}

wants requests && bench_requests
wants memory && bench_memory
wants shards && bench_shards

# ---------------------------------------------------------------------------------------------
# Summary
SUMMARY=${RESULTS%.tsv}.md
python3 - "$RESULTS" "$REQUEST_SIZES" "$SUBSET_N" <<'EOF' | tee "$SUMMARY"
import collections, statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])][1:]
sizes, subset = [int(x) for x in sys.argv[2].split()], int(sys.argv[3])
v = collections.defaultdict(dict)
runs = collections.defaultdict(lambda: collections.defaultdict(list))
for scenario, subject, run, metric, value in rows:
    v[(scenario, subject)][metric] = value
    if run != "-":
        runs[(scenario, subject)][metric].append(float(value))
def num(x): return float(x) if x not in (None, "") else 0.0
print("## Requests to the object store per captured link\n")
subjects = [s for (sc, s) in v if sc == "requests" and "req:total" in v[(sc, s)]]
if subjects:
    classes = sorted({m[4:] for s in subjects for m in v[("requests", s)] if m.startswith("req:") and m != "req:total"})
    print("| run | links | " + " | ".join(classes) + " | total | per link |")
    print("|---|---:|" + "---:|" * len(classes) + "---:|---:|")
    for s in subjects:
        d = v[("requests", s)]
        n = int(s.split("-")[1]) if not s.startswith("rerun-%d-in" % subset) else subset
        print(f"| {s} | {n} | " + " | ".join(d.get("req:" + c, "0") for c in classes)
              + f" | {d['req:total']} | {num(d['req:total']) / n:.3f} |")
    kinds = sorted({m[4:] for s in subjects for m in v[("requests", s)] if m.startswith("obj:")})
    print("\nBy object: " + "; ".join(f"{s}: " + ", ".join(f"{k} {v[('requests', s)].get('obj:' + k, '0')}" for k in kinds) for s in subjects))
    print("\n| after | objects under the prefix | object bytes | manifest.json bytes | index.cdxj bytes |")
    print("|---|---:|---:|---:|---:|")
    for s in subjects:
        d = v[("requests", s)]
        if "objects" in d:
            print(f"| {s} | {d['objects']} | {d['object_bytes']} | {d['manifest_bytes']} | {d['index_bytes']} |")
    for n in sizes:
        d = v[("requests", f"rerun-{n}")]
        if "unchanged" in d: print(f"\nre-run of {n}: {d['unchanged']} of {n} reported unchanged", end="")
    print()
if ("memory", "bucket") in v:
    b, l = v[("memory", "bucket")], v[("memory", "local")]
    print(f"\n## Memory: one body of {int(v[('memory', '-')]['body_bytes']) / 2**20:.0f} MiB\n")
    print("| into | peak RSS (MiB) | wall (s) | CPU (s) |\n|---|---:|---:|---:|")
    for name, d in (("bucket (multipart)", b), ("local directory", l)):
        print(f"| {name} | {num(d['maxrss_kb']) / 1024:.1f} | {d['wall_s']} | {d['cpu_s']} |")
    print(f"\nBucket requests: " + ", ".join(f"{m[4:]} {x}" for m, x in sorted(b.items()) if m.startswith("req:")))
if ("shards", "one") in runs:
    print("\n## One process vs 4 shard processes, one bucket\n")
    print("| | runs | wall median (s) | wall runs (s) | linkkeep CPU median (s) | moto CPU median (s) |\n|---|---:|---:|---|---:|---:|")
    med = {}
    for s in ("one", "sharded"):
        d = runs[("shards", s)]
        med[s] = statistics.median(d["wall_s"])
        print(f"| {s} | {len(d['wall_s'])} | {med[s]:.2f} | {', '.join(f'{x:.2f}' for x in d['wall_s'])} | "
              f"{statistics.median(d['linkkeep_cpu_s']):.2f} | {statistics.median(d['moto_cpu_s']):.2f} |")
    print(f"\nsharded / one: {med['sharded'] / med['one']:.2f}; manifests equal: {v[('shards', 'sharded')].get('manifest_equal', '?')}")
EOF
echo "results: $RESULTS and $SUMMARY" >&2
