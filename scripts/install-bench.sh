#!/usr/bin/env bash
# What the benchmarks need besides the test peers: nginx (the plain reverse proxy baseline), wrk and
# ApacheBench (load generators), curl.
set -euo pipefail
"$(dirname "$0")/install-peers.sh"
missing=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v ab >/dev/null 2>&1 || missing+=(apache2-utils)
command -v curl >/dev/null 2>&1 || missing+=(curl)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then echo "missing benchmark tools: ${missing[*]}" >&2; exit 1; fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 || { apt-get update -q >/dev/null; apt-get install -y -q "${missing[@]}" >/dev/null; }
