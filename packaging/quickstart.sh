#!/usr/bin/env bash
# The main job on an embedded default: set up this machine, build, and train the built-in default
# recipe (a tiny GPT-2 on the builtin:markov corpus, whose loss floor is known exactly). Prints
# where the run is recorded. Extra arguments go to `lowbit train` (e.g. --set train.steps=200).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${root}"

bash packaging/setup.sh >/dev/null
cmake --preset dev >/dev/null
cmake --build --preset dev -j 2 --target lowbit
exec build/dev/app/lowbit/lowbit train "$@"
