#!/usr/bin/env bash
# kepu-playout's two entry points on a fresh Debian 12 machine:
#   ./run.sh demo   install what is missing, build, and run the main job on demo data (form → catalog → month → on air, dashboard); `--for N` stops after N s
#   ./run.sh test   install what is missing and run the whole test suite
#   ./run.sh bench  install what is missing and run the engine benchmark (prints figures)
#   ./run.sh bench-api  the API under 200 concurrent readers while on air (prints figures)
#   ./run.sh faults the fault suite of the main/backup pair (report: target/faults/report.md)
#   ./run.sh soak --hours N   N hours on air sampling memory, descriptors and threads
#                   every minute (report: target/soak/report.md)
set -euo pipefail
cd "$(dirname "$0")"

# Debian packages the project needs at run time and in tests.
PACKAGES=(
  pkg-config libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-tools gstreamer1.0-x
  ffmpeg nginx libnginx-mod-rtmp srt-tools fonts-wqy-zenhei fontconfig
  libnginx-mod-stream openssl libxml2-utils ca-certificates tesseract-ocr tesseract-ocr-chi-sim
  wrk libcairo2-dev libpango1.0-dev poppler-utils chromium python3-openpyxl
  gstreamer1.0-rtsp gir1.2-gst-rtsp-server-1.0 python3-gi
  python3-docx
  systemd python3-venv
)

install_packages() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
  if ! command -v cargo >/dev/null; then
    echo "Rust is missing: install it with rustup (https://rustup.rs), Rust 1.92 or newer" >&2
    exit 1
  fi
}

# A throwaway PostgreSQL for the tests that prove the PostgreSQL backend.
start_postgres() {
  local initdb
  initdb=$(command -v initdb || ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | tail -n1 || true)
  if [ -z "$initdb" ]; then
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    initdb=$(ls /usr/lib/postgresql/*/bin/initdb | tail -n1)
  fi
  local bin; bin=$(dirname "$initdb")
  PGTEST_DIR=$(mktemp -d /tmp/kepu-pg.XXXXXX)
  local port; port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
  local as=""
  if [ "$(id -u)" -eq 0 ]; then chown postgres "$PGTEST_DIR"; as="runuser -u postgres --"; fi
  $as "$bin/initdb" -D "$PGTEST_DIR/data" -U postgres -A trust >/dev/null
  $as "$bin/pg_ctl" -D "$PGTEST_DIR/data" -l "$PGTEST_DIR/log" -w -t 30 \
      -o "-p $port -k $PGTEST_DIR -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
  PG_CTL="$as $bin/pg_ctl"
  trap 'stop_postgres' EXIT
  export KEPU_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

# The official XMLTV DTD, as Debian ships it in xmltv-util (only the DTD is extracted: the
# package itself pulls in dozens of Perl modules).
fetch_xmltv_dtd() {
  local dir="target/xmltv"
  if [ ! -f "$dir/usr/share/xmltv/xmltv.dtd" ]; then
    mkdir -p "$dir"
    (cd "$dir" && apt-get download xmltv-util >/dev/null 2>&1 || { apt-get update -qq && apt-get download xmltv-util >/dev/null; })
    dpkg-deb --fsys-tarfile "$dir"/xmltv-util_*.deb | tar -x -C "$dir" ./usr/share/xmltv/xmltv.dtd
  fi
  export KEPU_XMLTV_DTD="$PWD/$dir/usr/share/xmltv/xmltv.dtd"
}

# The dashboard's browser test drives Debian's Chromium with playwright-core, pinned in
# tests/browser/package-lock.json (node and npm come with the machine; no browser download).
install_browser_test() {
  if ! command -v npm >/dev/null; then
    echo "npm is missing: the dashboard browser test needs node and npm" >&2
    exit 1
  fi
  npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
}

stop_postgres() {
  [ -n "${PGTEST_DIR:-}" ] || return 0
  $PG_CTL -D "$PGTEST_DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PGTEST_DIR"
}

case "${1:-}" in
  demo)
    shift
    install_packages
    cargo build --release --bin kepu-playout
    exec target/release/kepu-playout demo "$@"
    ;;
  test)
    shift
    install_packages
    start_postgres
    fetch_xmltv_dtd
    install_browser_test
    if cargo nextest --version >/dev/null 2>&1; then
      cargo nextest run --workspace --no-fail-fast "$@"
    else
      cargo test --workspace --no-fail-fast "$@"
    fi
    ;;
  bench)
    shift
    install_packages
    cargo build --release -p playout --example bench
    exec target/release/examples/bench "$@"
    ;;
  bench-api)
    shift
    install_packages
    exec cargo nextest run --release --test serve_bench --run-ignored only --no-capture "$@"
    ;;
  faults)
    shift
    install_packages
    start_postgres
    mkdir -p target/faults
    rm -f target/faults/*.md
    status=0
    cargo test --test cluster_faults -- --nocapture --test-threads=2 "$@" || status=$?
    {
      echo "# Fault report: the main/backup pair on one PostgreSQL"
      echo
      echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores; each fault against the real daemons,"
      echo "a real PostgreSQL and real nginx-rtmp receivers (tests/cluster_faults.rs)."
      echo
      cat target/faults/[0-9]*.md 2>/dev/null || echo "(no fault ran)"
    } > target/faults/report.md
    echo "report: target/faults/report.md"
    exit "$status"
    ;;
  soak)
    shift
    hours=1
    while [ $# -gt 0 ]; do
      case "$1" in
        --hours) hours="${2:?--hours needs a number}"; shift 2 ;;
        *) echo "usage: ./run.sh soak [--hours N]" >&2; exit 2 ;;
      esac
    done
    install_packages
    secs=$(awk -v h="$hours" 'BEGIN { printf "%d", h * 3600 }')
    KEPU_SOAK_SECONDS="$secs" KEPU_SOAK_EVERY_SECONDS=60 \
      cargo test --test soak -- --nocapture
    echo "report: target/soak/report.md"
    ;;
  *)
    echo "usage: ./run.sh demo | test | bench | bench-api | faults | soak [--hours N]" >&2
    exit 2
    ;;
esac
