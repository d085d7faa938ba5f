#!/usr/bin/env bash
# Install the real peers the tests (or, with `demo`, the demo) run against: Debian packages, only
# those missing. Usage: install-peers.sh [demo]
#   command          package          what for
#   notary-server    notary           notary-server, notary-signer and the notary CLI (0.7)
#   docker-registry  docker-registry  distribution 2.8
#   skopeo           skopeo           image copies without a Docker engine
#   redis-server     redis-server     redis 7 (standalone, Sentinel: redis-server --sentinel, Cluster)
#   redis-cli        redis-tools      redis-cli --cluster create
#   dockerd          docker.io        dockerd/CLI 20.10: a real daemon using trustgate as its mirror
#   ctr, containerd  containerd       containerd 1.6: ctr image pull --hosts-dir (hosts.toml)
#   podman           podman           podman 4.3: registries.conf (location replaced, mirror)
#   promtool         prometheus       checks and unit-tests the shipped alert rules
#   pgrep            procps           tests check that nothing is left running
#   nginx            nginx            runs the shipped front-proxy recipe (deploy/nginx/)
#   python3 nacl, cryptography (python3-nacl, python3-cryptography): cosign-format key pairs for the
#                    Sigstore tests (test/helpers/make-cosign-key.py)
# and, for the tests, Debian 13's skopeo (Sigstore enabled) into the repository's .peers/
# (scripts/skopeo-sigstore.sh): nothing system-wide.
set -euo pipefail
declare -A package=(
  [notary-server]=notary [notary-signer]=notary [notary]=notary
  [docker-registry]=docker-registry [skopeo]=skopeo
  [redis-server]=redis-server [redis-cli]=redis-tools [dockerd]=docker.io [ctr]=containerd [containerd]=containerd
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
if [ "${1:-}" != demo ]; then
  /usr/bin/python3 -c 'import nacl.secret' 2>/dev/null || missing+=(python3-nacl)
  /usr/bin/python3 -c 'import cryptography' 2>/dev/null || missing+=(python3-cryptography)
fi
sigstore_skopeo() { [ "${1:-}" = demo ] || "$(dirname "$0")/skopeo-sigstore.sh" --install; }
[ ${#missing[@]} -eq 0 ] && { sigstore_skopeo "${1:-}"; exit 0; }
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
sigstore_skopeo "${1:-}"
