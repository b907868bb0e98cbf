#!/usr/bin/env bash
# The benchmark's peers and tools that do not come with Python: ripgrep and GNU time.
set -euo pipefail
if ! command -v rg >/dev/null || [ ! -x /usr/bin/time ]; then
  apt-get update -qq
  apt-get install -y -qq ripgrep time >/dev/null
fi
rg --version | head -1
/usr/bin/time --version 2>&1 | head -1 || true
