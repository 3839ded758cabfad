#!/usr/bin/env bash
# Installs the system tools the test suite needs, where missing: kcat (its librdkafka mock cluster
# speaks the Kafka protocol for the Kafka tests) and chromium (browser tests). Debian/Ubuntu.
set -euo pipefail
missing=()
command -v kcat >/dev/null 2>&1 || missing+=(kcat)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -eq 0 ]; then
  echo "test-deps: kcat and chromium present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "test-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
