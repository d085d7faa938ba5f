#!/usr/bin/env bash
# Install the real peers the tests run against (Debian packages), only those missing.
#   notary          notary-server, notary-signer and the notary CLI (0.7)
#   docker-registry distribution 2.8
#   redis-server    redis 7
#   skopeo          image copies without a Docker engine
#   docker.io       dockerd/CLI 20.10 (a real daemon using trustgate as its registry mirror)
set -euo pipefail
declare -A need=(
  [notary-server]=notary [notary-signer]=notary [notary]=notary
  [docker-registry]=docker-registry [redis-server]=redis-server [skopeo]=skopeo [dockerd]=docker.io
)
missing=()
for cmd in "${!need[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("${need[$cmd]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
if [ "$(id -u)" != 0 ]; then
  echo "missing test dependencies: $pkgs (install them: apt-get install -y $pkgs)" >&2
  exit 1
fi
echo "installing $pkgs" >&2
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
apt-get install -y -q $pkgs >/dev/null 2>&1 || {
  apt-get update -q >/dev/null
  apt-get install -y -q $pkgs >/dev/null
}
