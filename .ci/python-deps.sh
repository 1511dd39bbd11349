#!/usr/bin/env bash
# Installs what the Python compatibility test of the ID server needs: Debian's python3-requests, as
# seen by Debian's /usr/bin/python3 (the python3 first on PATH may be another one).
set -euo pipefail
if /usr/bin/python3 -c 'import requests' 2>/dev/null; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq python3-requests
/usr/bin/python3 -c 'import requests'
