#!/bin/sh
# The headless demo: with no display, `lowbit-studio --demo` trains the built-in default recipe
# (made tiny by the options after --) through the run launcher, prints the path of the charts'
# snapshot, and the engine's own `lowbit runs show` reads the run back as completed at step 4.
# Usage: headless_demo_test.sh LOWBIT-STUDIO LOWBIT WORKSPACE
set -eu
studio="$1" engine="$2" workspace="$3"
rm -rf "${workspace}"
env -u DISPLAY -u WAYLAND_DISPLAY PATH="$(dirname "${engine}"):${PATH}" "${studio}" --demo \
    --workspace "${workspace}" -- --name tiny-demo --set train.steps=4 --set model.layers=1 \
    --set model.context=32 \
    --set data.markov.tokens=20000 --set train.eval_batches=2 --set train.device=cpu \
    > "${workspace}.out"
cat "${workspace}.out"
grep -q '^demo: no display' "${workspace}.out"
grep -qx "snapshot: ${workspace}/snapshots/demo-run-1-charts.png" "${workspace}.out"
# A PNG file: its 8-byte signature.
test "$(head -c 8 "${workspace}/snapshots/demo-run-1-charts.png" | od -An -tx1 | tr -d ' ')" = \
    "89504e470d0a1a0a"
# Everything after -- reached the engine, --name included (Qt takes -name for itself on X11).
"${engine}" runs show tiny-demo --workspace "${workspace}" > "${workspace}.show"
cat "${workspace}.show"
grep -q '(train, completed)' "${workspace}.show"
grep -Eq '^ *train/loss +[0-9.]+ +\(step 4\)' "${workspace}.show"
