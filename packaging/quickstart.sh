#!/usr/bin/env bash
# The main job: set up this machine, build the engine and the studio, and open the studio on a live
# demo run: `lowbit-studio --demo` trains the built-in default recipe (a tiny GPT-2 on the
# builtin:markov corpus, whose loss floor is known exactly) through the studio's launcher into the
# demo workspace (~/.local/share/lowbit/demo-workspace). Without a display it trains a short run
# headless and prints the paths of snapshots of its charts (docs/studio.md §The demo).
# Extra arguments go to `lowbit train` (e.g. --set train.steps=200).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${root}"

bash packaging/setup.sh >/dev/null
cmake --preset dev >/dev/null
cmake --build --preset dev -j 2 --target lowbit lowbit-studio
exec build/dev/app/lowbit-studio/lowbit-studio --demo -- "$@"
