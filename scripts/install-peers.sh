#!/usr/bin/env bash
# Install the real peers the tests run against (Debian packages), only those missing.
#   notary          notary-server, notary-signer and the notary CLI (0.7)
#   docker-registry distribution 2.8
#   redis-server    redis 7
#   skopeo          image copies without a Docker engine
#   docker.io       dockerd/CLI 20.10 (a real daemon using trustgate as its registry mirror)
#   python3-nacl, python3-cryptography
#                   cosign-format key pairs for the Sigstore tests (test/helpers/make-cosign-key.py)
# and, last, Debian 13's skopeo (Sigstore enabled) into the repository's .peers/ (scripts/skopeo-sigstore.sh).
set -euo pipefail
declare -A need=(
  [notary-server]=notary [notary-signer]=notary [notary]=notary
  [docker-registry]=docker-registry [redis-server]=redis-server [skopeo]=skopeo [dockerd]=docker.io
)
missing=()
for cmd in "${!need[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("${need[$cmd]}")
done
/usr/bin/python3 -c 'import nacl.secret' 2>/dev/null || missing+=(python3-nacl)
/usr/bin/python3 -c 'import cryptography' 2>/dev/null || missing+=(python3-cryptography)
sigstore_skopeo() { "$(dirname "$0")/skopeo-sigstore.sh" --install; }
[ ${#missing[@]} -eq 0 ] && { sigstore_skopeo; exit 0; }
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
sigstore_skopeo
