#!/bin/sh
# demo.sh - the main job on the built-in defaults: the seed statements of
# DESIGN.md, checked and planned.  (Running them needs the network and
# traffic engines of later milestones; this shows what they will build.)
set -eu
cd "$(dirname "$0")/.."
spec=examples/seed.dyn

echo "== the spec ($spec)"
sed 's/^/   /' "$spec"
echo
echo "== dynamo check $spec"
./dynamo check "$spec"
echo
echo "== dynamo plan $spec"
./dynamo plan "$spec"
