# Sourced by the benchmark scripts from the repository root: sets LOWBIT to the engine binary,
# the one given in $LOWBIT or else the first built of build/release, build/dev, build/headless,
# and exits 2 naming the calling script when there is none.
if [[ -z "${LOWBIT:-}" ]]; then
  for candidate in build/release/app/lowbit/lowbit build/dev/app/lowbit/lowbit build/headless/app/lowbit/lowbit; do
    if [[ -x "$candidate" ]]; then LOWBIT=$candidate; break; fi
  done
fi
[[ -x "${LOWBIT:-}" ]] || { echo "$(basename "$0" .sh): no lowbit binary; build first or set LOWBIT" >&2; exit 2; }
