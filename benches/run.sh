#!/usr/bin/env bash
# linkkeep side by side with lychee, curl and wget, on loopback only (issues #7, #12, #13, #14,
# #19), and every target of those issues in one table.
#
#   benches/run.sh                  # every scenario, 5 timed runs per tool (about 30 minutes)
#   benches/run.sh --quick          # smaller sizes, 2 runs: a smoke test of the harness
#   benches/run.sh --only check,manifest --runs 3
#   benches/run.sh --only archive,html,big --runs 3 --runs-big 1   # issue #13's figures only
#   benches/run.sh --runs-big 3     # fewer runs for big-4g only (each can take minutes)
#   benches/run.sh --keep           # keep the scratch directory (archives, nginx config, logs)
#   BENCH_LINKKEEP=/tmp/lk benches/run.sh --only check-wide   # measure another linkkeep binary
#
# Scenarios: check (check-1k, check-10k, check-100k: linkkeep vs lychee vs curl --parallel),
# check-wide (issue #19: 5,000 URLs over 500 loopback addresses, a few hosts with 200 links and
# most with 2-5, listed in clumps, every response 100 ms late from benches/wide_server.rs:
# linkkeep vs lychee at --concurrency 64 --per-host 4, against the ideal schedule), archive-wide
# (the same shape with bodies of 64 KiB-2 MiB, 2.7 GiB, archived with WARC: linkkeep against the
# ideal schedule plus the transfer at the loopback bandwidth measured with curl),
# archive (archive-2k, 2,000 random files of 256 KiB: linkkeep cold and unchanged re-run vs
# wget --warc-file and curl --parallel), html (archive-html: a corpus of 1,500 generated HTML
# pages of 30-58 KB, 66 MB, served as plain text/html: linkkeep cold vs wget --warc-file;
# archive-html-gzip: the same pages with nginx `gzip on`, comp level 6), big (big-4g: linkkeep
# archive vs curl -o && sha256sum), manifest (manifest-100k: linkkeep status, and archiving one
# link into a 100k-link archive; status-links-5k/10k/20k: status with the matching
# links.json), checkpoints (checkpoints-20k: archiving 20,000 links into an empty archive and
# into a 100k-link one, with the time spent in checkpoints summed from -v), text (issue #14:
# archive-html-text, 2,000 of the generated HTML pages archived cold with the text analysis
# and with --no-text, the cost of reading main text), drift (issue #14: the drift corpus of
# benches/drift.py, 200 articles with 5 noise and 3 edit variants each, classified by
# `cargo bench --bench drift`: noise pairs cosmetic, edit pairs changed). --quick: check-1k
# and 10k, wide 2,000 URLs over 200 hosts, archive-200, 300 HTML pages, big-256m,
# manifest-10k, checkpoints-2k, 500 pages of text, 50 drift articles.
#
# Peers are pinned: lychee 0.24.2 (LYCHEE_VERSION below; cargo install --locked into benches/.tools), the
# Debian packages' versions are recorded in the summary. Runs as root too (nginx's workers then
# run as root, so a data directory under an unreadable home still works).
#
# A static nginx (Debian's, installed if missing) serves generated files on 127.0.0.1, one
# `listen` port per simulated host, with ETag and Last-Modified (its defaults). Nothing leaves
# the machine. Each timed run goes through `/usr/bin/time -v` after a `sync` (the page cache is
# not dropped): wall time from nanosecond clocks around it; CPU (user + sys), peak RSS
# ("Maximum resident set size") and bytes written ("File system outputs" x 512: the kernel's
# write_bytes, bytes of page cache the process dirtied for the disk, files deleted later
# included) from time, for the process and its children. Tools alternate within each round,
# after one untimed warm-up run per tool. The warm-ups check the results: every link stored
# and `linkkeep verify` clean; the unchanged re-run answered by 304s (counted in nginx's log of
# requests carrying X-Bench-Log, which only warm-ups send); `linkkeep get` of two HTML pages
# gives back the served file byte for byte. After timed runs: `du -sb` of linkkeep's archive
# (after the cold run) and of wget's WARC, and the re-run's "unchanged" count from its report
# in archive/runs/. Raw results go to benches/.data/results-<time>.tsv (one line per timed
# run) and -figures.tsv (sizes and counts), the Markdown summary (medians, ratios to linkkeep,
# the check scaling table, bytes on disk, and "Issue #13 figures": each target, its measured
# value, met or missed) to the .md beside them and to stdout. See BENCHMARKS.md.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
TOOLS=$HERE/.tools
DATA=$HERE/.data
RUNS=5
RUNS_BIG=
QUICK=0
ALL=check,check-wide,archive-wide,archive,html,big,manifest,checkpoints,text,drift
ONLY=$ALL
LYCHEE_VERSION=0.24.2
WIDE_PORT=${BENCH_WIDE_PORT:-18400}
WIDE_DELAY_MS=100
# --concurrency and --per-host of the wide scenarios: linkkeep's defaults, given to both tools.
WIDE_C=64
WIDE_P=4
PORT_BASE=${BENCH_PORT_BASE:-18100}
HOSTS=10
KEEP=0

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
    case $1 in
        --quick) QUICK=1; RUNS=2 ;;
        --runs) RUNS=$2; shift ;;
        --only) ONLY=$2; shift ;;
        --runs-big) RUNS_BIG=$2; shift ;;
        --keep) KEEP=1 ;;
        -h|--help) usage ;;
        *) echo "run.sh: unknown argument $1" >&2; usage 2 ;;
    esac
    shift
done
RUNS_BIG=${RUNS_BIG:-$RUNS}
wants() { [[ ",$ONLY," == *",$1,"* ]]; }

if [ $QUICK = 1 ]; then
    CHECK_SIZES="1000 10000"
    WIDE_N=2000; WIDE_HOSTS=200
    ARCHIVE_N=200
    HTML_N=300
    BIG_BYTES=$((256 * 1024 * 1024)); BIG_NAME=big-256m.bin
    MANIFEST_N=10000
    CHECKPOINT_N=2000
    TEXT_N=500
    DRIFT_N=50
else
    CHECK_SIZES="1000 10000 100000"
    WIDE_N=5000; WIDE_HOSTS=500
    ARCHIVE_N=2000
    HTML_N=1500
    BIG_BYTES=$((4 * 1024 * 1024 * 1024)); BIG_NAME=big-4g.bin
    MANIFEST_N=100000
    TEXT_N=2000
    DRIFT_N=200
    CHECKPOINT_N=20000
fi
ARCHIVE_SIZE=$((256 * 1024))

log() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }
die() { echo "run.sh: $*" >&2; exit 2; }

# Loopback only: no proxy may see these requests.
unset http_proxy https_proxy all_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
export CI=true  # no progress bars anywhere

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
command -v wget >/dev/null || apt_install wget
command -v sha256sum >/dev/null || apt_install coreutils
# perf for the profiles of linkkeep's runs (optional: without it the summary says so).
PERF=$(command -v perf || true)
if [ -z "$PERF" ] && [ "$(id -u)" = 0 ]; then apt_install linux-perf || true; PERF=$(command -v perf || true); fi
if [ -n "$PERF" ] && ! "$PERF" record -q -o /dev/null -- true >/dev/null 2>&1; then
    echo "run.sh: perf cannot record here (kernel.perf_event_paranoid?): no profiles" >&2
    PERF=
fi
LYCHEE=$TOOLS/bin/lychee
if { wants check || wants check-wide; } && [ "$("$LYCHEE" --version 2>/dev/null)" != "lychee $LYCHEE_VERSION" ]; then
    log "installing lychee $LYCHEE_VERSION into $TOOLS (takes several minutes)"
    cargo install "lychee@$LYCHEE_VERSION" --locked --force --root "$TOOLS" >&2
fi
# BENCH_LINKKEEP=/path/to/linkkeep measures that binary instead (an A/B comparison).
if [ -n "${BENCH_LINKKEEP:-}" ]; then
    BUILT=$BENCH_LINKKEEP
else
    log "building linkkeep (release)"
    (cd "$ROOT" && cargo build --release --quiet --bin linkkeep)
    BUILT=${CARGO_TARGET_DIR:-$ROOT/target}/release/linkkeep
fi
WIDE_BUILT=
if wants check-wide || wants archive-wide; then
    WIDE_BUILT=$(cd "$ROOT" && cargo bench --no-run --quiet --bench wide_server --message-format=json |
        python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "wide_server" and m.get("executable"):
        print(m["executable"])')
    [ -x "$WIDE_BUILT" ] || die "cargo bench --no-run --bench wide_server gave no executable"
    log "built the wide server"
fi

# ---------------------------------------------------------------------------------------------
# Scratch space and the server
mkdir -p "$DATA"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/linkkeep-bench.XXXXXX")
# A private copy: a build in the shared target directory must not swap the binary mid-run.
BIN=$WORK/linkkeep
cp "$BUILT" "$BIN"
WIDE_SERVER=$WORK/wide_server
[ -z "$WIDE_BUILT" ] || cp "$WIDE_BUILT" "$WIDE_SERVER"
NGINX_PID=
WIDE_PID=
cleanup() {
    if [ -n "$NGINX_PID" ]; then kill "$NGINX_PID" 2>/dev/null || true; wait "$NGINX_PID" 2>/dev/null || true; fi
    if [ -n "$WIDE_PID" ]; then kill "$WIDE_PID" 2>/dev/null || true; wait "$WIDE_PID" 2>/dev/null || true; fi
    if [ $KEEP = 0 ]; then rm -rf "$WORK"; else echo "kept $WORK" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# One page served for every /c/<anything> URL (check), files under /a/ (archive) and /big/,
# the HTML corpus under /h/ (plain) and /hz/ (gzip on: compressed on the fly when asked).
# Requests carrying `X-Bench-Log: 1` (sent by warm-ups only) are logged with their status and
# the body bytes sent, so a harness check can count 304s and encoded bytes; timed runs log
# nothing.
mkdir -p "$DATA/c" "$DATA/big" "$WORK/nginx/logs"
HTML_DIR=$(python3 -B -c 'import sys; sys.path.insert(0, sys.argv[1]); import gen; print(gen.HTML_DIR)' "$HERE")
[ -s "$DATA/c/page.html" ] || python3 -c '
import sys
body = "".join(f"<p>Paragraph {i} of a cited page.</p>\n" for i in range(30))
open(sys.argv[1], "w").write(f"<!doctype html><html><head><title>A cited page</title></head><body>\n{body}</body></html>\n")
' "$DATA/c/page.html"
{
    # As root, nginx's workers would run as nobody and could not read a data directory under
    # an unreadable home: keep them root (they only serve loopback).
    [ "$(id -u)" = 0 ] && echo "user root;"
    echo "daemon off; master_process on; worker_processes 1; pid $WORK/nginx/nginx.pid;"
    echo "error_log $WORK/nginx/logs/error.log warn;"
    echo "events { worker_connections 8192; }"
    echo "http {"
    echo "  access_log off; sendfile on; tcp_nopush on; tcp_nodelay on;"
    echo "  keepalive_requests 1000000; keepalive_timeout 120s;"
    echo "  open_file_cache max=10000 inactive=120s;"
    echo "  types { text/html html; application/octet-stream bin; } default_type application/octet-stream;"
    echo "  map \$http_x_bench_log \$bench_log { default 0; 1 1; }"
    echo "  log_format bench '\$status \$body_bytes_sent \$request_uri';"
    for t in client_body proxy fastcgi uwsgi scgi; do echo "  ${t}_temp_path $WORK/nginx/$t;"; done
    echo "  server {"
    for ((i = 0; i < HOSTS; i++)); do echo "    listen 127.0.0.1:$((PORT_BASE + i)) backlog=4096;"; done
    echo "    root $DATA;"
    echo "    access_log $WORK/nginx/logs/bench.log bench if=\$bench_log;"
    echo "    location /c/ { try_files /c/page.html =404; }"
    echo "    location /h/ { alias $DATA/$HTML_DIR/; }"
    echo "    location /hz/ { alias $DATA/$HTML_DIR/; gzip on; gzip_comp_level 6; }"
    echo "    location = /nginx_status { stub_status; }"
    echo "  }"
    echo "}"
} >"$WORK/nginx/nginx.conf"
for ((i = 0; i < HOSTS; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$((PORT_BASE + i))") 2>/dev/null; then
        die "port $((PORT_BASE + i)) is taken: set BENCH_PORT_BASE"
    fi
done
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/logs/error.log" &
NGINX_PID=$!
for _ in $(seq 100); do
    curl -fs -o /dev/null "http://127.0.0.1:$((PORT_BASE + HOSTS - 1))/c/ready" && break
    sleep 0.1
done
curl -fs -o /dev/null "http://127.0.0.1:$PORT_BASE/c/ready" || die "nginx did not start (see $WORK/nginx/logs)"

# The wide web (issue #19): benches/wide_server.rs answers for WIDE_HOSTS loopback addresses
# (127.1.x.y, see gen.py's wide_host), each response WIDE_DELAY_MS late, and records every
# request so that each run's schedule can be read back from /__stats.
WIDE_CONTROL=http://127.1.1.1:$WIDE_PORT
if wants check-wide || wants archive-wide; then
    "$WIDE_SERVER" --hosts "$WIDE_HOSTS" --port "$WIDE_PORT" --delay-ms "$WIDE_DELAY_MS" >"$WORK/wide.out" 2>"$WORK/wide.err" &
    WIDE_PID=$!
    for _ in $(seq 100); do grep -q '^ready' "$WORK/wide.out" && break; sleep 0.1; done
    grep -q '^ready' "$WORK/wide.out" || die "the wide server did not start: $(cat "$WORK/wide.err")"
fi

# ---------------------------------------------------------------------------------------------
# Measuring
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RESULTS=$DATA/results-$STAMP.tsv
printf 'scenario\tunits\tunit_kind\ttool\trun\texit\twall_s\tuser_s\tsys_s\tmaxrss_kb\twritten_bytes\n' >"$RESULTS"
# Sizes and counts besides the timings (du -sb, payload bytes, 304s, ...): one line per value.
FIGURES=${RESULTS%.tsv}-figures.tsv
printf 'scenario\ttool\trun\tmetric\tvalue\n' >"$FIGURES"

# figure SCENARIO TOOL RUN METRIC VALUE: one value, appended to $FIGURES.
figure() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$FIGURES"; }

# measure SCENARIO UNITS KIND TOOL RUN CMD...: one timed run, appended to $RESULTS. The
# command in $BEFORE_RUN, if any, runs after the sync, just before the clock starts.
BEFORE_RUN=
measure() {
    local scenario=$1 units=$2 kind=$3 tool=$4 run=$5
    shift 5
    local tf=$WORK/time.txt rc=0 t0 t1
    sync
    [ -z "$BEFORE_RUN" ] || $BEFORE_RUN
    t0=$(date +%s%N)
    /usr/bin/time -v -o "$tf" "$@" >"$WORK/last.out" 2>"$WORK/last.err" || rc=$?
    t1=$(date +%s%N)
    local user sys rss written
    user=$(awk -F': ' '/User time \(seconds\)/ {print $2}' "$tf")
    sys=$(awk -F': ' '/System time \(seconds\)/ {print $2}' "$tf")
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tf")
    # ru_oublock, in 512-byte units whatever the filesystem's block size.
    written=$(awk -F': ' '/File system outputs/ {printf "%.0f\n", $2 * 512}' "$tf")
    local wall
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
        "$scenario" "$units" "$kind" "$tool" "$run" "$rc" "$wall" "$user" "$sys" "$rss" "$written" >>"$RESULTS"
    awk -v s="$scenario" -v t="$tool" -v r="$run" -v w="$wall" -v u="$user" -v y="$sys" -v m="$rss" -v c="$rc" -v o="$written" \
        'BEGIN { printf "  %-17s %-28s run %-3s wall %8.3f s  cpu %7.2f s  rss %8.1f MiB  wrote %9.1f MiB  exit %s\n", s, t, r, w, u + y, m / 1024, o / 1048576, c }' >&2
    if [ "$rc" != 0 ]; then
        echo "    (exit $rc) $(tail -c 600 "$WORK/last.err")" >&2
    fi
}

gen() { python3 "$HERE/gen.py" "$@"; }

# profile SCENARIO TOOL CMD...: one more, untimed run under `perf record` (user and kernel
# samples of every thread), its flat profile (self time by symbol, the top 20 above 1 %) kept
# beside the results; the summary shows it for a missed target.
profile() {
    local scenario=$1 tool=$2
    shift 2
    [ -n "$PERF" ] || return 0
    local out=${RESULTS%.tsv}-profile-$scenario-${tool//[^a-z0-9]/}.txt
    if "$PERF" record -q -F 999 -o "$WORK/perf.data" -- "$@" >/dev/null 2>"$WORK/perf.err"; then
        {
            echo "$tool, one untimed run under perf record -F 999 (self time by symbol):"
            # awk, not head: perf must not die of SIGPIPE under pipefail.
            "$PERF" report -i "$WORK/perf.data" --stdio --no-children --sort dso,symbol --percent-limit 1 2>/dev/null |
                awk '/^ +[0-9.]+%/ && n++ < 20 { sub(/[ -]+$/, ""); print }'
        } >"$out" || true
    else
        echo "run.sh: profile of $scenario failed: $(tail -c 300 "$WORK/perf.err")" >&2
    fi
    rm -f "$WORK/perf.data"
}

# wide_reset, wide_figures SCENARIO TOOL RUN: clear the wide server's records before a run, and
# after it keep its figures (requests, the most in flight overall and per host, in flight by
# tenth of the run: benches/wide_stats.py) with the raw records beside the results.
wide_reset() { curl -fs -X POST -o /dev/null "$WIDE_CONTROL/__reset" || die "the wide server does not answer"; }
wide_figures() {
    local raw=${RESULTS%.tsv}-wide/$1-${2//[^a-z]/}-$3.json
    mkdir -p "$(dirname "$raw")"
    curl -fs -o "$raw" "$WIDE_CONTROL/__stats" || die "the wide server does not answer"
    python3 "$HERE/wide_stats.py" "$raw" | while IFS=$'\t' read -r metric value; do figure "$1" "$2" "$3" "$metric" "$value"; done
}

# check-wide (issue #19): availability of the wide web's N URLs, linkkeep against lychee at the
# same limits, each run's wall time read against the ideal schedule (gen.py ideal).
bench_check_wide() {
    local n=$1 hosts=$2 name=check-wide dir=$WORK/check-wide
    gen wide-urls "$n" "$hosts" "$WIDE_PORT" check "$dir"
    local ideal
    ideal=$(gen ideal "$dir/shape.json" "$WIDE_C" "$WIDE_P" "0.$(printf '%03d' "$WIDE_DELAY_MS")")
    log "$name: $n URLs over $hosts hosts, ${WIDE_DELAY_MS} ms a response: ideal schedule $ideal s"
    figure "$name" - - links "$n"
    figure "$name" - - ideal_s "$ideal"
    # --no-soft-404 as in check-<size>: /c/ answers every path, and lychee sends no probes.
    local -a linkkeep=("$BIN" --links "$dir/links.json" --archive "$dir/archive" check
        --concurrency "$WIDE_C" --per-host "$WIDE_P" --retries 0 --no-soft-404 --no-progress --format json -o /dev/null)
    local -a lychee=("$LYCHEE" --no-progress --max-concurrency "$WIDE_C" --host-concurrency "$WIDE_P"
        --host-request-interval 0s --max-retries 0 --format json --output /dev/null "$dir/urls.txt")
    # Warm-ups: each tool exits 0 and the server saw a request for every link.
    local tool seen
    for tool in linkkeep lychee; do
        wide_reset
        if [ $tool = linkkeep ]; then "${linkkeep[@]}"; else "${lychee[@]}"; fi >/dev/null 2>"$WORK/warmup.err" ||
            { cat "$WORK/warmup.err" >&2; die "$name: $tool's warm-up failed"; }
        wide_figures "$name" "$tool" warm-up
        seen=$(awk -F'\t' -v t="$tool" '$2 == t && $3 == "warm-up" && $4 == "requests" { print $5 }' "$FIGURES" | tail -1)
        [ "${seen:-0}" -ge "$n" ] || die "$name: the server saw ${seen:-no} requests from $tool's warm-up for $n links"
    done
    BEFORE_RUN=wide_reset
    for ((r = 1; r <= RUNS; r++)); do
        measure "$name" "$n" links linkkeep "$r" "${linkkeep[@]}"
        wide_figures "$name" linkkeep "$r"
        measure "$name" "$n" links lychee "$r" "${lychee[@]}"
        wide_figures "$name" lychee "$r"
    done
    BEFORE_RUN=
    profile "$name" linkkeep "${linkkeep[@]}"
}

# archive-wide (issue #19): the wide shape with bodies of 64 KiB-2 MiB archived cold, against the
# ideal schedule with each response's transfer at the loopback bandwidth curl measures through
# the same server without the delay (/nd/, the best of 3 runs of curl --parallel-max 4).
bench_archive_wide() {
    local n=$1 hosts=$2 name=archive-wide dir=$WORK/archive-wide
    gen wide-urls "$n" "$hosts" "$WIDE_PORT" archive "$dir"
    local bytes
    bytes=$(python3 -c 'import json, sys; print(sum(json.load(open(sys.argv[1]))["bytes"]))' "$dir/shape.json")
    sed "s#:$WIDE_PORT/a/#:$WIDE_PORT/nd/a/#" "$dir/curl.cfg" >"$dir/nodelay.cfg"
    local best=0 k t0 t1 bw
    for k in 1 2 3; do
        t0=$(date +%s%N)
        curl --parallel --parallel-max 4 --fail -s --no-progress-meter -K "$dir/nodelay.cfg" || die "$name: curl over /nd/ failed"
        t1=$(date +%s%N)
        bw=$(( bytes * 1000000000 / (t1 - t0) ))
        [ "$bw" -gt "$best" ] && best=$bw
    done
    local ideal
    ideal=$(gen ideal "$dir/shape.json" "$WIDE_C" "$WIDE_P" "0.$(printf '%03d' "$WIDE_DELAY_MS")" "$best")
    log "$name: $n bodies, $bytes bytes over $hosts hosts; loopback $((best / 1048576)) MiB/s; ideal schedule $ideal s"
    figure "$name" - - links "$n"
    figure "$name" - - payload_bytes "$bytes"
    figure "$name" - - loopback_bytes_per_s "$best"
    figure "$name" - - ideal_s "$ideal"
    local -a linkkeep=("$BIN" --links "$dir/links.json" --archive "$dir/archive" archive
        --concurrency "$WIDE_C" --per-host "$WIDE_P" --retries 0 --no-soft-404 --no-progress --format json -o /dev/null)
    rm -rf "$dir/archive"
    wide_reset
    "${linkkeep[@]}" 2>"$WORK/warmup.err" || { cat "$WORK/warmup.err" >&2; die "$name: warm-up failed"; }
    wide_figures "$name" "linkkeep (cold)" warm-up
    check_archive "$name" "$dir/archive" "$n" "$dir/links.json"
    BEFORE_RUN=wide_reset
    for ((r = 1; r <= RUNS; r++)); do
        rm -rf "$dir/archive"
        measure "$name" "$bytes" bytes "linkkeep (cold)" "$r" "${linkkeep[@]}"
        wide_figures "$name" "linkkeep (cold)" "$r"
        figure "$name" "linkkeep (cold)" "$r" du_bytes "$(du_bytes "$dir/archive")"
    done
    BEFORE_RUN=
    rm -rf "$dir/archive"
    profile "$name" "linkkeep (cold)" "${linkkeep[@]}"
    rm -rf "$dir/archive"
}

# stored_links ARCHIVE: how many of the manifest's links have a snapshot (any payload layout).
stored_links() {
    python3 -c 'import json, sys; m = json.load(open(sys.argv[1] + "/manifest.json"))
print(sum(1 for e in m["links"].values() if e.get("snapshots")))' "$1"
}

# check_archive NAME ARCHIVE N LINKS: every one of N links stored, and `linkkeep verify` clean.
check_archive() {
    local name=$1 archive=$2 n=$3 links=$4 stored
    stored=$(stored_links "$archive")
    [ "$stored" = "$n" ] || die "$name: $stored links stored for $n served"
    "$BIN" --links "$links" --archive "$archive" verify --no-progress --format json -o /dev/null 2>"$WORK/verify.err" ||
        { tail -c 2000 "$WORK/verify.err" >&2; die "$name: linkkeep verify failed on the warm-up's archive"; }
}

# report_field ARCHIVE FIELD: FIELD of the summary of the newest run report in ARCHIVE/runs/
# (empty if there is none).
report_field() {
    python3 -c 'import glob, json, os, sys
reports = glob.glob(os.path.join(sys.argv[1], "runs", "*.json"))
if reports:
    print(json.load(open(max(reports, key=os.path.getmtime)))["summary"].get(sys.argv[2], ""))' "$1" "$2"
}

du_bytes() { du -sb "$1" | cut -f1; }

# nginx's log of the requests that carry `X-Bench-Log: 1`: status, body bytes sent, URI.
BENCH_LOG=$WORK/nginx/logs/bench.log
bench_log_reset() { : >"$BENCH_LOG"; }
bench_log_count() { awk -v s="$1" '$1 == s' "$BENCH_LOG" | wc -l; }
bench_log_bytes() { awk '{ b += $2 } END { printf "%.0f\n", b }' "$BENCH_LOG"; }

# check-<size>: availability of N URLs over $HOSTS hosts.
bench_check() {
    local n=$1 name
    case $n in
        *000000) name=check-$((n / 1000000))m ;;
        *000) name=check-$((n / 1000))k ;;
        *) name=check-$n ;;
    esac
    local dir=$WORK/$name
    gen check-urls "$n" "$HOSTS" "$PORT_BASE" "$dir"
    log "$name: $n URLs over $HOSTS hosts"
    # --no-soft-404: /c/ answers every path with the one page, so a sibling probe would find
    # every link a soft-404 and read each page again; lychee sends no probes.
    local -a linkkeep=("$BIN" --links "$dir/links.json" --archive "$dir/archive" check
        --concurrency 64 --per-host 8 --retries 0 --no-soft-404 --no-progress --format json -o /dev/null)
    # lychee: same global and per-host concurrency, no retries, no cache (its default), no
    # per-host request interval (its default would pace requests and measure only the pacing).
    local -a lychee=("$LYCHEE" --no-progress --max-concurrency 64 --host-concurrency 8
        --host-request-interval 0s --max-retries 0 --format json --output /dev/null "$dir/urls.txt")
    local -a curl=(curl --parallel --parallel-max 64 --fail -s --no-progress-meter -K "$dir/curl.cfg")
    (cd "$dir" && "${linkkeep[@]}" && "${lychee[@]}" && "${curl[@]}") >/dev/null 2>"$WORK/warmup.err" ||
        { cat "$WORK/warmup.err" >&2; die "$name: warm-up failed"; }
    for ((r = 1; r <= RUNS; r++)); do
        measure "$name" "$n" links linkkeep "$r" "${linkkeep[@]}"
        measure "$name" "$n" links lychee "$r" "${lychee[@]}"
        measure "$name" "$n" links "curl --parallel" "$r" "${curl[@]}"
    done
    profile "$name" linkkeep "${linkkeep[@]}"
}

# archive-<n>: N incompressible files of 256 KiB over $HOSTS hosts.
bench_archive() {
    local n=$1 name=archive-$(($1 / 1000))k
    [ "$n" -lt 1000 ] && name=archive-$n
    local dir=$WORK/$name bytes=$((n * ARCHIVE_SIZE))
    log "$name: generating $n files of $ARCHIVE_SIZE random bytes (cached in $DATA/a)"
    gen archive-files "$n" "$ARCHIVE_SIZE" "$DATA"
    gen archive-urls "$n" "$HOSTS" "$PORT_BASE" "$dir"
    local -a linkkeep=("$BIN" --links "$dir/links.json" --archive "$dir/archive" archive
        --concurrency 64 --per-host 8 --retries 0 --no-progress --format json -o /dev/null)
    local -a wget=(wget -q --warc-file="$dir/wget/bench" -i "$dir/urls.txt" -P "$dir/wget/files")
    local -a curl=(curl --parallel --parallel-max 64 --fail -s --no-progress-meter --output-dir "$dir/curl" -K "$dir/curl.cfg")
    figure "$name" - - payload_bytes "$bytes"
    figure "$name" - - links "$n"
    # Warm-up, and a check that every file was stored and verifies.
    rm -rf "$dir/archive" "$dir/wget" "$dir/curl"; mkdir -p "$dir/wget" "$dir/curl"
    "${linkkeep[@]}" 2>"$WORK/warmup.err" || { cat "$WORK/warmup.err" >&2; die "$name: warm-up failed"; }
    check_archive "$name" "$dir/archive" "$n" "$dir/links.json"
    # The unchanged re-run, once with its requests logged: nginx should answer 304 to every
    # conditional request (ETag and Last-Modified are on), and the report count every link
    # unchanged. Not fatal: the summary shows the counts beside the re-run's ratio.
    bench_log_reset
    "${linkkeep[@]}" -H 'X-Bench-Log: 1' 2>"$WORK/warmup.err" || { cat "$WORK/warmup.err" >&2; die "$name: warm-up re-run failed"; }
    local n304 n200 unchanged
    n304=$(bench_log_count 304); n200=$(bench_log_count 200); unchanged=$(report_field "$dir/archive" unchanged)
    figure "$name" "linkkeep (unchanged re-run)" warm-up status_304 "$n304"
    figure "$name" "linkkeep (unchanged re-run)" warm-up status_200 "$n200"
    figure "$name" "linkkeep (unchanged re-run)" warm-up unchanged "${unchanged:-0}"
    log "$name: warm-up re-run: $n304 answered 304, $n200 answered 200, ${unchanged:-?} of $n reported unchanged"
    [ "${unchanged:-0}" = "$n" ] || echo "run.sh: WARNING: $name: the re-run found ${unchanged:-?} of $n links unchanged" >&2
    "${wget[@]}" && "${curl[@]}" || die "$name: peer warm-up failed"
    for ((r = 1; r <= RUNS; r++)); do
        rm -rf "$dir/archive"
        measure "$name" "$bytes" bytes "linkkeep (cold)" "$r" "${linkkeep[@]}"
        figure "$name" "linkkeep (cold)" "$r" du_bytes "$(du_bytes "$dir/archive")"
        measure "$name" "$bytes" bytes "linkkeep (unchanged re-run)" "$r" "${linkkeep[@]}"
        figure "$name" "linkkeep (unchanged re-run)" "$r" du_bytes "$(du_bytes "$dir/archive")"
        figure "$name" "linkkeep (unchanged re-run)" "$r" unchanged "$(report_field "$dir/archive" unchanged)"
        rm -rf "$dir/wget"; mkdir -p "$dir/wget"
        measure "$name" "$bytes" bytes "wget --warc-file" "$r" "${wget[@]}"
        figure "$name" "wget --warc-file" "$r" du_bytes "$(du_bytes "$dir/wget/bench.warc.gz")"
        rm -rf "$dir/curl"; mkdir -p "$dir/curl"
        measure "$name" "$bytes" bytes "curl --parallel" "$r" "${curl[@]}"
    done
    rm -rf "$dir/archive"
    profile "$name" "linkkeep (cold)" "${linkkeep[@]}"
    profile "$name" "linkkeep (unchanged re-run)" "${linkkeep[@]}"
    rm -rf "$dir/archive" "$dir/wget" "$dir/curl"
}

# archive-html and archive-html-gzip: N generated HTML pages (gen.py html-files: 30-58 KB each,
# about 0.3 of their size with gzip -6), served as plain text/html under /h/ and gzip-encoded by
# nginx under /hz/. linkkeep cold against wget --warc-file (with --compression=gzip for the
# gzip variant, so that it asks for the encoding as linkkeep does), and what each leaves on disk.
bench_html() {
    local n=$1 bytes variant
    log "html: generating $n HTML pages (cached in $DATA/$HTML_DIR)"
    gen html-files "$n" "$DATA"
    bytes=$(for ((i = 0; i < n; i++)); do printf '%s/%s/p%05d.html\n' "$DATA" "$HTML_DIR" "$i"; done |
        xargs stat -c %s | awk '{ b += $1 } END { printf "%.0f\n", b }')
    for variant in h hz; do
        local name=archive-html dir
        local -a wget_opts=()
        if [ $variant = hz ]; then name=archive-html-gzip; wget_opts=(--compression=gzip); fi
        dir=$WORK/$name
        gen html-urls "$n" "$HOSTS" "$PORT_BASE" "$variant" "$dir"
        log "$name: $n pages, $bytes bytes$([ $variant = hz ] && echo ', served gzip-encoded')"
        # The pages name images the server lacks; wget runs without --page-requisites, so
        # linkkeep does too (issue #20).
        local -a linkkeep=("$BIN" --links "$dir/links.json" --archive "$dir/archive" archive
            --concurrency 64 --per-host 8 --retries 0 --no-progress --format json -o /dev/null --no-requisites)
        local -a wget=(wget -q "${wget_opts[@]}" --warc-file="$dir/wget/bench" -i "$dir/urls.txt" -P "$dir/wget/files")
        figure "$name" - - payload_bytes "$bytes"
        figure "$name" - - links "$n"
        # Warm-up, logged: the bytes nginx sent (the encoded ones with gzip on), every page
        # stored, verify clean, and two pages read back byte for byte (decoded) with `get`.
        rm -rf "$dir/archive" "$dir/wget"; mkdir -p "$dir/wget"
        bench_log_reset
        "${linkkeep[@]}" -H 'X-Bench-Log: 1' 2>"$WORK/warmup.err" || { cat "$WORK/warmup.err" >&2; die "$name: warm-up failed"; }
        figure "$name" "linkkeep (cold)" warm-up body_bytes_sent "$(bench_log_bytes)"
        figure "$name" "linkkeep (cold)" warm-up status_200 "$(bench_log_count 200)"
        check_archive "$name" "$dir/archive" "$n" "$dir/links.json"
        local i url page
        for i in 0 $((n / 2)); do
            url=$(sed -n "$((i + 1))p" "$dir/urls.txt")
            page=$DATA/$HTML_DIR/$(printf 'p%05d.html' "$i")
            "$BIN" --links "$dir/links.json" --archive "$dir/archive" get "$url" -o "$WORK/got.html" 2>"$WORK/get.err" ||
                { cat "$WORK/get.err" >&2; die "$name: linkkeep get $url failed"; }
            cmp -s "$WORK/got.html" "$page" || die "$name: linkkeep get $url is not the served $page"
        done
        "${wget[@]}" || die "$name: wget warm-up failed"
        for ((r = 1; r <= RUNS; r++)); do
            rm -rf "$dir/archive"
            measure "$name" "$bytes" bytes "linkkeep (cold)" "$r" "${linkkeep[@]}"
            figure "$name" "linkkeep (cold)" "$r" du_bytes "$(du_bytes "$dir/archive")"
            rm -rf "$dir/wget"; mkdir -p "$dir/wget"
            measure "$name" "$bytes" bytes "wget --warc-file" "$r" "${wget[@]}"
            figure "$name" "wget --warc-file" "$r" du_bytes "$(du_bytes "$dir/wget/bench.warc.gz")"
        done
        rm -rf "$dir/archive" "$dir/wget"
    done
}

# archive-html-text (issue #14): N generated HTML pages served as text/html, archived cold with
# the text analysis (each page's main text read, normalised and fingerprinted) and with
# --no-text, alternating; the target is at most 1.3 x the time without it. Both runs send the
# same soft-404 probes (one per host and directory).
bench_text() {
    local n=$1 name=archive-html-text dir=$WORK/archive-html-text bytes
    log "text: generating $n HTML pages (cached in $DATA/$HTML_DIR)"
    gen html-files "$n" "$DATA"
    bytes=$(for ((i = 0; i < n; i++)); do printf '%s/%s/p%05d.html\n' "$DATA" "$HTML_DIR" "$i"; done |
        xargs stat -c %s | awk '{ b += $1 } END { printf "%.0f\n", b }')
    gen html-urls "$n" "$HOSTS" "$PORT_BASE" h "$dir"
    log "$name: $n pages, $bytes bytes"
    figure "$name" - - payload_bytes "$bytes"
    figure "$name" - - links "$n"
    # The cost of the text analysis alone: no requisites (the pages' images are not served).
    local -a linkkeep=("$BIN" --links "$dir/links.json" --archive "$dir/archive" archive
        --concurrency 64 --per-host 8 --retries 0 --no-progress --format json -o /dev/null --no-requisites)
    # Warm-ups: every page stored both ways, and text fields only with the analysis.
    local mode
    for mode in text no-text; do
        rm -rf "$dir/archive"
        local -a extra=(); [ $mode = no-text ] && extra=(--no-text)
        "${linkkeep[@]}" "${extra[@]}" 2>"$WORK/warmup.err" || { cat "$WORK/warmup.err" >&2; die "$name: warm-up ($mode) failed"; }
        check_archive "$name" "$dir/archive" "$n" "$dir/links.json"
        figure "$name" "linkkeep ($mode)" warm-up text_snapshots "$(python3 -c 'import json, sys
m = json.load(open(sys.argv[1] + "/manifest.json"))
print(sum(1 for e in m["links"].values() for s in e["snapshots"] if "text_sha256" in s))' "$dir/archive")"
    done
    for ((r = 1; r <= RUNS; r++)); do
        rm -rf "$dir/archive"
        measure "$name" "$bytes" bytes "linkkeep (text)" "$r" "${linkkeep[@]}"
        rm -rf "$dir/archive"
        measure "$name" "$bytes" bytes "linkkeep --no-text" "$r" "${linkkeep[@]}" --no-text
    done
    rm -rf "$dir/archive"
    profile "$name" "linkkeep (text)" "${linkkeep[@]}"
    rm -rf "$dir/archive"
}

# drift (issue #14): the drift corpus classified by linkkeep's own text code (not timed).
bench_drift() {
    local n=$1 corpus=$DATA/drift-$1 out=$WORK/drift.tsv
    log "drift: $n articles (cached in $corpus)"
    [ -s "$corpus/a$(printf '%03d' $((n - 1)))/edit-remove.html" ] || python3 "$HERE/drift.py" "$corpus" "$n"
    (cd "$ROOT" && cargo bench --quiet --bench drift -- "$corpus") >"$out" || die "drift: cargo bench --bench drift failed"
    grep '^misclassified' "$out" >&2 || true
    local kind
    for kind in noise edit; do
        figure drift - - "${kind}_pairs" "$(awk -F'\t' -v k=$kind '$1 == k { print $2 }' "$out")"
        figure drift - - "${kind}_cosmetic" "$(awk -F'\t' -v k=$kind '$1 == k { print $3 }' "$out")"
    done
    figure drift - - extraction_us_per_page "$(awk -F'\t' '$1 == "extraction" { printf "%.0f", $3 * 1000 }' "$out")"
}

# big-<size>: one large incompressible file. Bytes written (time's "File system outputs") are
# in the results for both tools: curl's, about the file's size, shows the counter works.
bench_big() {
    local bytes=$1 file=$DATA/big/$BIG_NAME name
    name=${BIG_NAME%.bin}
    local dir=$WORK/$name
    mkdir -p "$dir"
    if [ ! -f "$file" ] || [ "$(stat -c %s "$file")" != "$bytes" ]; then
        local free
        free=$(df -B1 --output=avail "$DATA" | tail -1)
        [ "$free" -gt $((bytes * 4)) ] || die "$name: needs $((bytes * 4 / 2**30)) GiB free in $DATA"
        log "$name: generating $bytes random bytes into $file (once)"
        head -c "$bytes" /dev/urandom >"$file.tmp" && mv "$file.tmp" "$file"
    fi
    local free
    free=$(df -B1 --output=avail "$WORK" | tail -1)
    [ "$free" -gt $((bytes * 2)) ] || die "$name: needs $((bytes * 2 / 2**30)) GiB free in $WORK"
    local url=http://127.0.0.1:$PORT_BASE/big/$BIG_NAME
    printf '["%s"]\n' "$url" >"$dir/links.json"
    log "$name: $bytes bytes"
    figure "$name" - - payload_bytes "$bytes"
    local -a linkkeep=("$BIN" --links "$dir/links.json" --archive "$dir/archive" archive --max-size 8GiB
        --retries 0 --no-progress --format json -o /dev/null)
    local -a curl=(sh -c 'curl -s --fail -o "$1" "$2" && sha256sum "$1"' sh "$dir/curl.bin" "$url")
    # One untimed round first: the first timed round used to pay for the page cache the
    # scenarios before it left dirty (seconds of writeback and reclaim, in system time).
    rm -rf "$dir/archive"
    "${linkkeep[@]}" 2>"$WORK/warmup.err" || { cat "$WORK/warmup.err" >&2; die "$name: warm-up failed"; }
    rm -rf "$dir/archive"
    "${curl[@]}" >/dev/null || die "$name: curl's warm-up failed"
    rm -f "$dir/curl.bin"
    for ((r = 1; r <= RUNS_BIG; r++)); do
        rm -rf "$dir/archive"
        measure "$name" "$bytes" bytes linkkeep "$r" "${linkkeep[@]}"
        figure "$name" linkkeep "$r" du_bytes "$(du_bytes "$dir/archive")"
        rm -rf "$dir/archive"
        measure "$name" "$bytes" bytes "curl -o + sha256sum" "$r" "${curl[@]}"
        rm -f "$dir/curl.bin"
    done
    rm -rf "$dir/archive"
    profile "$name" linkkeep "${linkkeep[@]}"
    rm -rf "$dir/archive"
}

# Prints the cache directory of an archive whose manifest has N links with 3 snapshots each,
# and the matching links.json; generates them once. The name carries the file's layout (one
# link per line, as Manifest::save writes it), so a cache in an older layout is not reused.
manifest_cache() {
    local cache=$DATA/manifest-lines-$(($1 / 1000))k
    if [ ! -s "$cache/archive/manifest.json" ] || [ ! -s "$cache/links.json" ]; then
        log "manifest-$(($1 / 1000))k: generating the manifest (once, cached in $cache)"
        gen manifest "$1" 3 "$cache/archive" "$cache/links.json"
    fi
    echo "$cache"
}

# manifest-<n>: `status` on an archive of N links, and archiving one more link into it.
bench_manifest() {
    local n=$1 name=manifest-$(($1 / 1000))k
    local cache dir=$WORK/$name
    cache=$(manifest_cache "$n")
    mkdir -p "$dir"
    log "$name: $(du -h "$cache/archive/manifest.json" | cut -f1) manifest"
    printf '["http://127.0.0.1:%s/c/one-more-link.html"]\n' "$PORT_BASE" >"$dir/one.json"
    local -a status=("$BIN" --archive "$cache/archive" --links "$dir/absent.json" status --format json -o /dev/null)
    # --no-soft-404: /c/ answers every path with the one page (see bench_check).
    local -a update=("$BIN" --archive "$dir/archive" --links "$dir/one.json" archive --retries 0
        --no-soft-404 --no-progress --format json -o /dev/null)
    for ((r = 1; r <= RUNS; r++)); do
        measure "$name" "$n" links "linkkeep status" "$r" "${status[@]}"
        rm -rf "$dir/archive"; cp -r "$cache/archive" "$dir/archive"
        measure "$name" "$n" links "linkkeep archive (1 link)" "$r" "${update[@]}"
    done
    profile "$name" "linkkeep status" "${status[@]}"
    rm -rf "$dir/archive"; cp -r "$cache/archive" "$dir/archive"
    profile "$name" "linkkeep archive (1 link)" "${update[@]}"
    rm -rf "$dir/archive"
}

# checkpoints-<n>: archiving N links into an empty archive and into one that already holds
# $MANIFEST_N links (issue #12): the time spent in checkpoints (summed from `-v`'s
# "checkpoint links=… micros=…" lines) should not grow with the archive, only with the links.
bench_checkpoints() {
    local n=$1 name=checkpoints-$(($1 / 1000))k
    local cache dir=$WORK/$name
    cache=$(manifest_cache "$MANIFEST_N")
    gen check-urls "$n" "$HOSTS" "$PORT_BASE" "$dir"
    log "$name: $n links into an empty archive and into a $MANIFEST_N-link one"
    local profile=${RESULTS%.tsv}-checkpoints.tsv
    [ -s "$profile" ] || printf 'scenario\tarchive\trun\tcheckpoints\tlinks\ttotal_ms\tmax_ms\n' >"$profile"
    for ((r = 1; r <= RUNS; r++)); do
        for base in empty "$MANIFEST_N"; do
            rm -rf "$dir/archive"
            if [ "$base" = empty ]; then mkdir -p "$dir/archive"; else cp -r "$cache/archive" "$dir/archive"; fi
            local tool="linkkeep archive (over $base)"
            measure "$name" "$n" links "$tool" "$r" "$BIN" -v --links "$dir/links.json" --archive "$dir/archive" \
                archive --concurrency 64 --per-host 8 --retries 0 --no-soft-404 --no-progress --format json -o /dev/null
            sed 's/\x1b\[[0-9;]*m//g' "$WORK/last.err" | awk -v s="$name" -v b="$base" -v r="$r" '
                / checkpoint links=/ {
                    for (i = 1; i <= NF; i++) {
                        if ($i ~ /^links=/) { sub("links=", "", $i); links += $i }
                        if ($i ~ /^micros=/) { sub("micros=", "", $i); v = $i + 0; total += v; if (v > max) max = v }
                    }
                    count++
                }
                END { printf "%s\t%s\t%s\t%d\t%d\t%.1f\t%.1f\n", s, b, r, count, links, total / 1000, max / 1000 }
            ' >>"$profile"
        done
    done
    rm -rf "$dir/archive"
}

# status-links-<n>: `status` when links.json lists the archive's links too (every link is
# looked up in links.json), at growing sizes, to show how its cost per link grows.
bench_status_links() {
    local n=$1 name=status-links-$(($1 / 1000))k
    local cache
    cache=$(manifest_cache "$n")
    local -a status=("$BIN" --archive "$cache/archive" --links "$cache/links.json" status --format json -o /dev/null)
    for ((r = 1; r <= RUNS; r++)); do
        measure "$name" "$n" links "linkkeep status + links.json" "$r" "${status[@]}"
    done
}

{
    echo "# linkkeep benchmarks, $STAMP"
    echo
    echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GiB RAM, Linux $(uname -r)"
    echo "- load before: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- linkkeep $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet 2>/dev/null || echo "+changes in $(git -C "$ROOT" diff --name-only | tr '\n' ' ')") (binary sha256 $(sha256sum "$BIN" | cut -c1-12)), $("$LYCHEE" --version 2>/dev/null || echo "lychee not installed"), $(curl --version | head -1 | cut -d' ' -f1-2), $(wget --version | head -1 | cut -d' ' -f1-3), nginx $("$NGINX" -v 2>&1 | cut -d/ -f2)"
    echo "- Debian packages: $(dpkg-query -W -f='${Package} ${Version}\n' nginx-light nginx-core nginx curl wget time coreutils linux-perf 2>/dev/null | awk 'NF == 2' | paste -sd, | sed 's/,/, /g')"
    echo "- perf: $([ -n "$PERF" ] && "$PERF" --version || echo 'not available: no profiles')"
    echo "- runs per tool: $RUNS$([ $QUICK = 1 ] && echo ' (--quick)'); scenarios: $ONLY"
} >"$RESULTS.header"
cat "$RESULTS.header" >&2

if wants check; then for n in $CHECK_SIZES; do bench_check "$n"; done; fi
if wants check-wide; then bench_check_wide "$WIDE_N" "$WIDE_HOSTS"; fi
if wants archive-wide; then bench_archive_wide "$WIDE_N" "$WIDE_HOSTS"; fi
if wants archive; then bench_archive "$ARCHIVE_N"; fi
if wants html; then bench_html "$HTML_N"; fi
if wants big; then bench_big "$BIG_BYTES"; fi
if wants manifest; then
    bench_manifest "$MANIFEST_N"
    for n in 5000 10000 20000; do bench_status_links "$n"; done
fi
if wants checkpoints; then bench_checkpoints "$CHECKPOINT_N"; fi
if wants text; then bench_text "$TEXT_N"; fi
if wants drift; then bench_drift "$DRIFT_N"; fi

SUMMARY=${RESULTS%.tsv}.md
{
    cat "$RESULTS.header"
    echo "- load after: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    python3 "$HERE/summarize.py" "$RESULTS" "$FIGURES"
    PROFILE=${RESULTS%.tsv}-checkpoints.tsv
    if [ -s "$PROFILE" ]; then
        echo
        echo "### Checkpoints (issue #12): time spent in them, per run"
        echo
        echo "| scenario | archive before | run | checkpoints | links | total | longest |"
        echo "|---|---|---|---|---|---|---|"
        tail -n +2 "$PROFILE" | awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s ms | %s ms |\n", $1, $2, $3, $4, $5, $6, $7 }'
    fi
} >"$SUMMARY"
rm -f "$RESULTS.header"
echo
cat "$SUMMARY"
echo
echo "raw: $RESULTS" >&2
# A full run's summary and raw figures are small: copied under benches/results/ to be committed
# with BENCHMARKS.md (issue #19), so that every quoted figure can be traced to its run.
if [ $QUICK = 0 ] && [ "$ONLY" = "$ALL" ]; then
    mkdir -p "$HERE/results"
    cp "$SUMMARY" "$HERE/results/$STAMP.md"
    cp "$RESULTS" "$HERE/results/$STAMP.tsv"
    cp "$FIGURES" "$HERE/results/$STAMP-figures.tsv"
    echo "to commit: benches/results/$STAMP.md, $STAMP.tsv, $STAMP-figures.tsv" >&2
fi
