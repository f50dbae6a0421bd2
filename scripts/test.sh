#!/usr/bin/env bash
# Runs every certhall test: `scripts/test.sh`.
#
# First makes sure what the tests need is here, installing or starting only what is missing:
#   - Debian packages: chromium, chromium-driver (the browser test), a CJK font (readable
#     screenshots), postgresql (the store suite's second backend);
#   - Python packages gmssl, asn1crypto, pkilint (independent checks of SM2/SM3 and certificates)
#     and openapi-spec-validator (the API document);
#   - a running PostgreSQL on 127.0.0.1:5432 with a database `test` that user `postgres` reaches
#     over TCP. The tests use CERTHALL_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/test)
#     to create a database per test (so that user needs CREATEDB).
# Then runs `cargo test --workspace --all-targets --no-fail-fast` and exits with its status.
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
for pkg in chromium chromium-driver fonts-wqy-microhei postgresql; do
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

# --- The tests ------------------------------------------------------------------------------
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
cmd=(cargo test --workspace --all-targets --no-fail-fast)
say "${cmd[*]}"
status=0
"${cmd[@]}" 2>&1 | tee "$log" || status=$?

# Adds up every `test result:` line cargo printed (ignored tests count as skipped).
awk '
    /^test result:/ {
        for (i = 1; i <= NF; i++) {
            if ($i ~ /^passed/) p += $(i - 1)
            if ($i ~ /^failed/) f += $(i - 1)
            if ($i ~ /^ignored/) s += $(i - 1)
        }
        n++
    }
    END {
        printf "%d test binaries run\n", n
        printf "summary: %d passed, %d failed, %d skipped\n", p, f, s
    }
' "$log"
exit "$status"
