#!/usr/bin/env bash
# The Debian package, end to end: build it (cargo-deb) from the debug binary the tests
# already built, install it, start the service as its unit does, ask it /ready, run
# `plaza admin` from the PATH as root, then remove and purge it and check nothing is
# left. .ci/run calls it last; on its own: `bash .ci/package.sh` (as root). It installs
# and purges the `plaza` package on this machine: a `plaza` package already installed
# (say, by an interrupted run) is purged first, with its data.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${HOME}/.cache/plaza-ci-target}"
export DEBIAN_FRONTEND=noninteractive
# Pinned: later releases may need a newer Rust than this machine's.
CARGO_DEB_VERSION=3.8.0
TOOLS="${HOME}/.cache/plaza-ci-tools"
PORT=18480
UNIT=/usr/lib/systemd/system/plaza.service
# The server started by hand where systemd is not PID 1, so that a later run can stop it.
PIDFILE=/run/plaza-ci-package.pid
DROPIN=/run/systemd/system/plaza.service.d/ci-package.conf

say() { echo "== package: $*"; }
fail() {
  echo "package: $*" >&2
  exit 1
}
[ "$(id -u)" = 0 ] || fail "installs a package: run it as root"
systemd_running() { [ -d /run/systemd/system ]; } # the test deb-systemd-invoke uses
installed() { dpkg-query -W -f='${Status}' plaza 2>/dev/null | grep -qv 'not-installed'; }

stop_server() {
  if [ -f "$PIDFILE" ]; then
    local pid
    pid=$(cat "$PIDFILE")
    # Only the process this script started: its pid, and still the packaged binary.
    if [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = /usr/bin/plaza ]; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    fi
    rm -f "$PIDFILE"
  fi
  if systemd_running; then
    systemctl stop plaza.service 2>/dev/null || true
    if [ -f "$DROPIN" ]; then
      rm -f "$DROPIN"
      systemctl daemon-reload
    fi
  fi
}
purge() {
  stop_server
  if installed; then dpkg --purge plaza >/dev/null; fi
}

WORK="$(mktemp -d)"
cleanup() {
  local rc=$?
  if [ "$rc" != 0 ]; then
    if [ -s "$WORK/server.log" ]; then
      echo "-- server log (last 40 lines)" >&2
      tail -n 40 "$WORK/server.log" >&2
    elif systemd_running; then
      journalctl -u plaza.service -n 40 --no-pager >&2 || true
    fi
  fi
  purge || true
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT

if installed; then
  say "purging the plaza package a previous run left installed"
fi
purge

command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl >/dev/null; }
if ! "$TOOLS/bin/cargo-deb" --version 2>/dev/null | grep -qx "cargo-deb $CARGO_DEB_VERSION"; then
  say "installing cargo-deb $CARGO_DEB_VERSION"
  cargo install --quiet --locked --root "$TOOLS" "cargo-deb@$CARGO_DEB_VERSION"
fi
export PATH="$TOOLS/bin:$PATH"

# The debug binary `cargo test --workspace` built: no second (release) build. Run alone
# on a fresh cache, build just that binary.
BINARY="$CARGO_TARGET_DIR/debug/plaza"
[ -x "$BINARY" ] || cargo build --locked -p plaza-server --bin plaza

say "building the .deb (debug profile, fast compression)"
# cargo-deb warns that the dev profile is meant for testing only: that is what this is.
cargo deb -p plaza-server --no-build --profile dev --locked --fast --output "$WORK/plaza.deb"
dpkg-deb --info "$WORK/plaza.deb" | sed -n 's/^ \(Package\|Version\|Depends\|Installed-Size\):/  &/p'

say "installing it"
if ! dpkg -i "$WORK/plaza.deb" >/dev/null; then
  apt-get update -qq
  apt-get install -f -y -qq >/dev/null
fi
installed || fail "dpkg did not install plaza"
for file in /usr/bin/plaza /etc/plaza/plaza.toml "$UNIT" /usr/share/doc/plaza/README.md; do
  [ -f "$file" ] || fail "$file is missing"
done
[ "$(command -v plaza)" = /usr/bin/plaza ] || fail "plaza on the PATH is $(command -v plaza)"
getent passwd plaza >/dev/null || fail "no plaza user"
[ "$(stat -c '%U:%G %a' /etc/plaza/plaza.toml)" = "root:plaza 640" ] ||
  fail "/etc/plaza/plaza.toml is $(stat -c '%U:%G %a' /etc/plaza/plaza.toml)"
[ "$(stat -c '%U:%G %a' /var/lib/plaza)" = "plaza:plaza 750" ] ||
  fail "/var/lib/plaza is $(stat -c '%U:%G %a' /var/lib/plaza)"
dpkg-query -W -f='${Conffiles}\n' plaza | grep -q ' /etc/plaza/plaza.toml ' ||
  fail "/etc/plaza/plaza.toml is not a conffile"
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify "$UNIT"
fi

say "reinstalling over it: a changed conffile is kept"
echo "# changed by .ci/package.sh" >>/etc/plaza/plaza.toml
dpkg -i --force-confold "$WORK/plaza.deb" >/dev/null
grep -q 'changed by .ci/package.sh' /etc/plaza/plaza.toml || fail "the reinstall replaced the config"
[ "$(stat -c '%U:%G %a' /etc/plaza/plaza.toml)" = "root:plaza 640" ] || fail "the reinstall reset the config's owner"

say "starting the service on 127.0.0.1:$PORT"
if systemd_running; then
  mkdir -p "$(dirname "$DROPIN")"
  printf '[Service]\nEnvironment=PLAZA__SERVER__LISTEN=127.0.0.1:%s\n' "$PORT" >"$DROPIN"
  systemctl daemon-reload
  systemctl restart plaza.service
else
  # systemd is not PID 1 (a container): run the unit's ExecStart as the unit would,
  # as plaza, without privileges, in a clean environment, from the state directory
  # made as StateDirectory= makes it.
  install -d -o plaza -g plaza -m 0750 /var/lib/plaza
  read -r -a exec_start <<<"$(sed -n 's/^ExecStart=//p' "$UNIT")"
  (
    cd /var/lib/plaza
    umask 0077
    exec setpriv --reuid=plaza --regid=plaza --init-groups --no-new-privs \
      --bounding-set=-all --inh-caps=-all \
      env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/var/lib/plaza \
      PLAZA__SERVER__LISTEN="127.0.0.1:$PORT" "${exec_start[@]}"
  ) >"$WORK/server.log" 2>&1 &
  echo $! >"$PIDFILE"
fi
ready=""
for _ in $(seq 1 120); do
  status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/ready" || true)
  if [ "$status" = 200 ]; then
    ready=yes
    break
  fi
  if [ -f "$PIDFILE" ] && ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    fail "the server exited"
  fi
  sleep 0.5
done
[ -n "$ready" ] || fail "GET /ready did not answer 200 within 60 s"
echo "  GET /ready: 200"
if systemd_running; then
  pid=$(systemctl show -p MainPID --value plaza.service)
else
  pid=$(cat "$PIDFILE")
fi
[ "$(stat -c %U "/proc/$pid")" = plaza ] || fail "the server runs as $(stat -c %U "/proc/$pid")"
grep -q '^NoNewPrivs:[[:space:]]*1$' "/proc/$pid/status" || fail "the server may gain privileges"
grep -q '^CapBnd:[[:space:]]*0*$' "/proc/$pid/status" || fail "the server has capabilities"

curl -fs "http://127.0.0.1:$PORT/api/auth/register" -H 'content-type: application/json' \
  -d '{"username":"package@example.com","password":"correct horse battery","displayname":"Pkg"}' \
  >/dev/null || fail "registering over the API failed"

say "plaza admin from the PATH, as root, without flags"
# From a folder of its own: without the packaged settings it would open ./plaza-data.
cd "$WORK"
plaza admin --help >/dev/null
plaza admin user list >"$WORK/admin.out" 2>"$WORK/admin.err" ||
  fail "plaza admin user list failed: $(cat "$WORK/admin.err")"
grep -q 'sqlite:///var/lib/plaza/plaza.db' "$WORK/admin.err" ||
  fail "plaza admin did not use the packaged settings: $(cat "$WORK/admin.err")"
grep -q 'package@example.com' "$WORK/admin.out" ||
  fail "plaza admin user list does not show the user registered over the API"
sed 's/^/  /' "$WORK/admin.err" "$WORK/admin.out"
# Everything under the state directory still belongs to the service's user.
strays=$(find /var/lib/plaza ! -user plaza)
[ -z "$strays" ] || fail "files under /var/lib/plaza not owned by plaza: $strays"

say "stopping the service"
if systemd_running; then
  systemctl stop plaza.service
else
  pid=$(cat "$PIDFILE")
  kill -TERM "$pid"
  rc=0
  wait "$pid" || rc=$?
  rm -f "$PIDFILE"
  [ "$rc" = 0 ] || fail "the server exited with $rc on SIGTERM"
  grep -q stopped "$WORK/server.log" || fail "the server did not log a clean stop"
fi

say "removing it: the binary and unit go, the config and data stay"
dpkg -r plaza >/dev/null
for file in /usr/bin/plaza "$UNIT"; do
  [ ! -e "$file" ] || fail "$file is still there after dpkg -r"
done
[ -f /etc/plaza/plaza.toml ] && [ -f /var/lib/plaza/plaza.db ] ||
  fail "dpkg -r removed the config or the data"

say "purging it: the config, the data and the plaza user go too"
dpkg --purge plaza >/dev/null
for path in /usr/bin/plaza "$UNIT" /etc/plaza /var/lib/plaza; do
  [ ! -e "$path" ] || fail "$path is still there after dpkg --purge"
done
! getent passwd plaza >/dev/null || fail "the plaza user is still there after dpkg --purge"
! getent group plaza >/dev/null || fail "the plaza group is still there after dpkg --purge"
! installed || fail "dpkg still lists plaza after dpkg --purge"
say "ok"
