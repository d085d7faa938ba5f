#!/usr/bin/env bash
# Install the real peers the tests (or, with `demo`, the demo) run against: Debian packages, only
# those missing. Usage: install-peers.sh [demo]
#   command          package          what for
#   notary-server    notary           notary-server, notary-signer and the notary CLI (0.7)
#   docker-registry  docker-registry  distribution 2.8
#   skopeo           skopeo           image copies without a Docker engine
#   redis-server     redis-server     redis 7 (standalone, Sentinel, Cluster)
#   dockerd          docker.io        dockerd/CLI 20.10: a real daemon using trustgate as its mirror
#   ctr, containerd  containerd       containerd 1.6: ctr image pull --hosts-dir (hosts.toml)
#   podman           podman           podman 4.3: registries.conf (location replaced, mirror)
#   promtool         prometheus       checks and unit-tests the shipped alert rules
#   pgrep            procps           tests check that nothing is left running
#   nginx            nginx            runs the shipped front-proxy recipe (deploy/nginx/)
set -euo pipefail
declare -A package=(
  [notary-server]=notary [notary-signer]=notary [notary]=notary
  [docker-registry]=docker-registry [skopeo]=skopeo
  [redis-server]=redis-server [dockerd]=docker.io [ctr]=containerd [containerd]=containerd
  [podman]=podman [promtool]=prometheus [pgrep]=procps [nginx]=nginx
)
if [ "${1:-}" = demo ]; then
  commands=(notary-server notary docker-registry skopeo)
else
  commands=("${!package[@]}")
fi
missing=()
for cmd in "${commands[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("${package[$cmd]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
if [ "$(id -u)" != 0 ]; then
  echo "missing: $pkgs (install them: apt-get install -y $pkgs)" >&2
  exit 1
fi
echo "installing $pkgs" >&2
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
apt-get install -y -q $pkgs >/dev/null 2>&1 || {
  apt-get update -q >/dev/null
  apt-get install -y -q $pkgs >/dev/null
}
