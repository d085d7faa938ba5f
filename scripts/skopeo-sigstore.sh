#!/usr/bin/env bash
# skopeo-sigstore.sh ARGS... : run a skopeo that signs and verifies Sigstore (cosign-format) signatures.
#
# Debian 12's skopeo 1.9.3 (like its podman and buildah) is built with Sigstore disabled ("Debian-local change:
# sigstore disabled" on both `--sign-by-sigstore-private-key` and a policy.json `sigstoreSigned` requirement).
# Debian 13 (trixie) ships skopeo 1.18 (containers/image 5.34) with Sigstore enabled; it needs glibc 2.38, so it runs
# under Debian 13's own glibc loader from a private directory: nothing is installed system-wide.
#   - a system skopeo with Sigstore support is used as is;
#   - otherwise, once per machine: `apt-get download` (a private sources list and lists for trixie, nothing else) of
#     skopeo libc6 libgpgme11t64 libassuan9 libgpg-error0 libsqlite3-0, `dpkg-deb -x` into the cache directory
#     (about 45 MB), under a lock so concurrent tests wait for one download.
# Cache: $TRUSTGATE_PEERS_DIR/skopeo-debian13 (default: .peers/ in the repository, which git ignores).
# `skopeo-sigstore.sh --install` only fetches; `--which` prints the command line it runs.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
D=${TRUSTGATE_PEERS_DIR:-$here/.peers}/skopeo-debian13
sys=$(command -v skopeo || true)
if [ -n "$sys" ] && ! grep -q 'sigstore disabled' "$sys" 2>/dev/null && grep -q 'verifySigstorePayload' "$sys" 2>/dev/null; then
  case "${1:-}" in --which) echo "$sys"; exit 0 ;; --install) exit 0 ;; esac
  exec "$sys" "$@"
fi
L=$D/root/usr/lib/x86_64-linux-gnu
fetch() {
  [ "$(dpkg --print-architecture)" = amd64 ] || { echo "skopeo-sigstore.sh: amd64 only" >&2; exit 2; }
  rm -rf "$D/apt" "$D/debs" "$D/root"
  mkdir -p "$D/apt/lists/partial" "$D/apt/cache/archives/partial" "$D/debs" "$D/root"
  # the Debian mirror the system already uses, suite trixie
  local uri
  uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
  [ -n "$uri" ] || uri=$(awk '$1=="deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
  [ -n "$uri" ] || { echo "skopeo-sigstore.sh: no Debian mirror found in the apt sources" >&2; exit 2; }
  echo "deb $uri trixie main" > "$D/apt/sources.list"
  : > "$D/apt/status"
  local sandbox=()
  [ "$(id -u)" = 0 ] && sandbox=(-o APT::Sandbox::User=root)
  local APTO=(-o "Dir::Etc::sourcelist=$D/apt/sources.list" -o Dir::Etc::sourceparts=/nonexistent
    -o "Dir::State::Lists=$D/apt/lists" -o "Dir::Cache=$D/apt/cache" -o "Dir::State::status=$D/apt/status"
    "${sandbox[@]}" -o Debug::NoLocking=1)
  echo "skopeo-sigstore.sh: fetching Debian 13 skopeo (Sigstore enabled) into $D" >&2
  timeout 300 apt-get "${APTO[@]}" -q update > "$D/apt.log" 2>&1 \
    && (cd "$D/debs" && timeout 300 apt-get "${APTO[@]}" -q download skopeo libc6 libgpgme11t64 libassuan9 \
      libgpg-error0 libsqlite3-0) >> "$D/apt.log" 2>&1 \
    || { echo "skopeo-sigstore.sh: apt-get failed (log $D/apt.log):" >&2; tail -5 "$D/apt.log" >&2; exit 2; }
  local f
  for f in "$D"/debs/*.deb; do dpkg-deb -x "$f" "$D/root" || exit 2; done
  "$L/ld-linux-x86-64.so.2" --library-path "$L" "$D/root/usr/bin/skopeo" --version > "$D/version" 2>&1 \
    || { echo "skopeo-sigstore.sh: the Debian 13 skopeo does not run here:" >&2; cat "$D/version" >&2; exit 2; }
  rm -rf "$D/apt" "$D/debs"
  touch "$D/.ready"
}
if [ ! -f "$D/.ready" ]; then
  mkdir -p "$D"
  exec 9> "$D.lock"; flock 9
  [ -f "$D/.ready" ] || fetch
  flock -u 9; exec 9>&-
fi
case "${1:-}" in
  --install) exit 0 ;;
  --which) echo "$L/ld-linux-x86-64.so.2 --library-path $L $D/root/usr/bin/skopeo ($(cat "$D/version"))"; exit 0 ;;
esac
exec "$L/ld-linux-x86-64.so.2" --library-path "$L" "$D/root/usr/bin/skopeo" "$@"
