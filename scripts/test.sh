#!/usr/bin/env bash
# Runs every certhall test: `scripts/test.sh`.
#
# First makes sure what the tests need is here, installing or starting only what is missing:
#   - Debian packages: chromium, chromium-driver (the browser test), poppler-utils (the PDF
#     tests render and read back every PDF), a CJK font (readable
#     screenshots), postgresql (the store suite's second backend);
#   - Python packages gmssl, asn1crypto, pkilint (independent checks of SM2/SM3 and certificates)
#     and openapi-spec-validator (the API document);
#   - a running PostgreSQL on 127.0.0.1:5432 with a database `test` that user `postgres` reaches
#     over TCP. The tests use CERTHALL_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/test)
#     to create a database per test (so that user needs CREATEDB).
#   - cargo-deny (built with `cargo install` when missing).
# Then runs the gates, each whatever the others say, and fails when any fails:
#   `cargo fmt --all --check`, `cargo deny check` (deny.toml), `cargo test --workspace
#   --all-targets --no-fail-fast`, `cargo clippy --workspace --all-targets -- -D warnings`;
# and prints one line per gate and the tests' totals.
#
# CERTHALL_SCREENSHOTS=DIR also saves the browser test's page screenshots into DIR.
set -euo pipefail

cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*"; }

export CERTHALL_TEST_PG_URL="${CERTHALL_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}"
is_root() { [ "$(id -u)" -eq 0 ]; }

# --- Debian packages ------------------------------------------------------------------------
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
missing=()
for pkg in chromium chromium-driver fonts-wqy-microhei poppler-utils postgresql; do
    installed "$pkg" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    if is_root; then
        say "installing Debian packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null
        apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        say "missing Debian packages: ${missing[*]}"
        say "install them as root: apt-get install ${missing[*]}"
    fi
fi

# --- Python packages ------------------------------------------------------------------------
if ! python3 -c 'import gmssl, asn1crypto, pkilint, openapi_spec_validator' >/dev/null 2>&1; then
    say "installing Python packages: gmssl asn1crypto pkilint openapi-spec-validator"
    python3 -m pip install -q --disable-pip-version-check gmssl asn1crypto pkilint openapi-spec-validator \
        || python3 -m pip install -q --disable-pip-version-check --break-system-packages \
            gmssl asn1crypto pkilint openapi-spec-validator
fi

# --- PostgreSQL -----------------------------------------------------------------------------
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    if is_root && [ -d /etc/postgresql ]; then
        version="$(ls /etc/postgresql | sort -V | tail -n 1)"
        say "starting PostgreSQL $version"
        pg_ctlcluster --skip-systemctl-redirect "$version" main start
        for _ in $(seq 1 60); do
            pg_isready -q -h 127.0.0.1 -p 5432 && break
            sleep 0.5
        done
    fi
    if ! pg_isready -q -h 127.0.0.1 -p 5432; then
        say "PostgreSQL is not answering on 127.0.0.1:5432; start it, then run this again"
        exit 1
    fi
fi
# Only for the default URL: a custom CERTHALL_TEST_PG_URL is the caller's to prepare.
if [ "$CERTHALL_TEST_PG_URL" = "postgres://postgres@127.0.0.1:5432/test" ]; then
    if ! psql -h 127.0.0.1 -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
        say "user postgres cannot connect over TCP to 127.0.0.1 without a password"
        say "allow it in pg_hba.conf (host all postgres 127.0.0.1/32 trust), then run this again"
        exit 1
    fi
    if [ "$(psql -h 127.0.0.1 -U postgres -d postgres -Atqc \
        "select 1 from pg_database where datname = 'test'")" != "1" ]; then
        say "creating database test"
        psql -h 127.0.0.1 -U postgres -d postgres -qc 'create database test' >/dev/null
    fi
    # Each test gets a database of its own, certhall_t_PID_HEX, copied from its process's
    # migrated template certhall_tpl_PID_HEX (crates/store/src/testing.rs). Drop those of
    # processes that have ended; DROP DATABASE also refuses one still connected to. Earlier
    # runs made a schema per test (t + 16 hex digits) in `test`: drop those too, one statement
    # a line so each runs in its own transaction.
    psql -h 127.0.0.1 -U postgres -d postgres -Atqc \
        "select datname from pg_database where datname ~ '^certhall_(t|tpl)_[0-9]+_[0-9a-f]{8}$'" \
        | while read -r db; do
            pid="${db#certhall_*_}"
            pid="${pid%_*}"
            kill -0 "$pid" 2>/dev/null || printf 'drop database if exists "%s";\n' "$db"
        done \
        | psql -h 127.0.0.1 -U postgres -d postgres -q >/dev/null 2>&1 || true
    psql -h 127.0.0.1 -U postgres -d test -Atqc \
        "select format('drop schema %I cascade;', nspname) from pg_namespace where nspname ~ '^t[0-9a-f]{16}$'" \
        | psql -h 127.0.0.1 -U postgres -d test -q >/dev/null 2>&1 || true
fi

# --- Temporary files ------------------------------------------------------------------------
# Tests keep their SQLite files (the per-process templates and per-test copies) and upload
# directories under $TMPDIR/certhall-tests; drop what is older than a day.
tmp_tests="${TMPDIR:-/tmp}/certhall-tests"
if [ -d "$tmp_tests" ]; then
    find "$tmp_tests" -mindepth 1 -maxdepth 1 -mmin +1440 -exec rm -rf {} + 2>/dev/null || true
fi


# --- cargo-deny ------------------------------------------------------------------------------
# Built from crates.io when missing (GitHub release binaries cannot be fetched here). cargo-deny
# 0.20 needs rustc 1.88 or newer and builds on 1.95; `cargo install --locked` took 12 min 16 s
# of wall time (3 min 55 s of CPU) on the shared 2-core machine, once per machine.
if ! cargo deny --version >/dev/null 2>&1; then
    say "installing cargo-deny (cargo install --locked cargo-deny --version ~0.20; about 12 minutes)"
    cargo install --locked --quiet cargo-deny --version '~0.20' || say "cargo-deny did not install"
fi

# --- The gates ------------------------------------------------------------------------------
# fmt and deny first (fast), then every test, then clippy. Each gate runs whatever the ones
# before it said; any failing gate fails the script; one summary line per gate at the end.
log="$(mktemp)"
deny_log="$(mktemp)"
trap 'rm -f "$log" "$deny_log"' EXIT
status=0
gates=()
gate() { # NAME RESULT [DETAIL]: records one gate's line; RESULT ok|FAILED
    gates+=("gate $1: $2${3:+ ($3)}")
    [ "$2" = ok ] || status=1
}

say "cargo fmt --all --check"
if cargo fmt --all --check; then gate fmt ok; else gate fmt FAILED "run cargo fmt --all"; fi

# Advisories need the RustSec database, a git repository on GitHub; see deny.toml for why it
# may be out of reach and what happens then. Never passes quietly without it: the gate line
# says NOT CHECKED, and CERTHALL_REQUIRE_ADVISORIES=1 makes that a failure.
say "cargo deny check"
advisory_db_present() {
    compgen -G "${CARGO_HOME:-$HOME/.cargo}/advisory-dbs/advisory-db-*/.git" >/dev/null
}
if ! cargo deny --version >/dev/null 2>&1; then
    gate deny FAILED "cargo-deny is not installed and did not install"
elif timeout 120 cargo deny fetch db >"$deny_log" 2>&1; then
    if cargo deny check; then gate deny ok "advisories on a fresh RustSec database"
    else gate deny FAILED; fi
elif advisory_db_present; then
    # A copy fetched earlier: cargo-deny refuses it when older than maximum-db-staleness.
    if cargo deny --offline check; then gate deny ok "advisories on an earlier copy of the RustSec database"
    else gate deny FAILED "with an earlier copy of the RustSec database; stale copies fail"; fi
else
    why="$(grep -oE 'Could not resolve host: [^ ]+|Connection refused|Connection timed out' "$deny_log" | head -n 1 || true)"
    say "RustSec advisory database unreachable (${why:-cargo deny fetch db failed or timed out}); checking bans, licenses, sources only"
    if cargo deny check bans licenses sources; then
        if [ "${CERTHALL_REQUIRE_ADVISORIES:-0}" = 1 ]; then
            gate deny FAILED "advisories NOT CHECKED: RustSec database unreachable, CERTHALL_REQUIRE_ADVISORIES=1"
        else
            gate deny ok "bans, licenses, sources; advisories NOT CHECKED: RustSec database unreachable"
        fi
    else
        gate deny FAILED "advisories NOT CHECKED: RustSec database unreachable"
    fi
fi

cmd=(cargo test --workspace --all-targets --no-fail-fast)
say "${cmd[*]}"
test_status=0
"${cmd[@]}" 2>&1 | tee "$log" || test_status=$?

# Adds up every `test result:` line cargo printed (ignored tests count as skipped).
read -r binaries passed failed skipped < <(awk '
    /^test result:/ {
        for (i = 1; i <= NF; i++) {
            if ($i ~ /^passed/) p += $(i - 1)
            if ($i ~ /^failed/) f += $(i - 1)
            if ($i ~ /^ignored/) s += $(i - 1)
        }
        n++
    }
    END { printf "%d %d %d %d\n", n, p, f, s }
' "$log")
totals="$passed passed, $failed failed, $skipped skipped"
tests_summary="$binaries test binaries, $totals"
if [ "$test_status" -eq 0 ]; then gate test ok "$tests_summary"
else gate test FAILED "$tests_summary"; fi

# Every cargo-fuzz target for CERTHALL_FUZZ_SECONDS each (scripts/fuzz.sh; 0 skips).
fuzz_out="$(scripts/fuzz.sh 2>&1 | tee /dev/stderr | tail -1)"
case "$fuzz_out" in
    "fuzz ok") gate fuzz ok ;;
    "fuzz skipped"*) gate fuzz ok "skipped: CERTHALL_FUZZ_SECONDS=0" ;;
    *) gate fuzz FAILED "${fuzz_out#fuzz FAILED }" ;;
esac

cmd=(cargo clippy --workspace --all-targets -- -D warnings)
say "${cmd[*]}"
if "${cmd[@]}" 2>&1 | tee "$log"; then gate clippy ok
else
    errors="$(grep -E '^error' "$log" | grep -vc -e 'could not compile' -e '^error: aborting' || true)"
    gate clippy FAILED "$errors errors"
fi

printf '%s\n' "${gates[@]}"
# The last line: the tests' own totals (the shape CI reads).
printf 'summary: %s\n' "$totals"
exit "$status"
