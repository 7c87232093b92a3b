#!/usr/bin/env bash
# Builds driftgate from the action's own checkout, so the binary is exactly
# the source the workflow pinned with `uses: driftgate/driftgate@REF`; no
# release is downloaded. Writes the binary's path to the step output `bin`.
#
# Environment: GITHUB_ACTION_PATH (the action's checkout), RUNNER_TEMP,
# GITHUB_OUTPUT, and GITHUB_ACTION_REF (the ref in `uses:`, stamped as the
# version).
set -euo pipefail

src=${GITHUB_ACTION_PATH:?GITHUB_ACTION_PATH is not set: run this as the driftgate action}
out=$(mktemp -d "${RUNNER_TEMP:?RUNNER_TEMP is not set}/driftgate-bin.XXXXXX")

# The ref goes into -ldflags, which splits on spaces: keep it to the
# characters a tag, branch or commit uses, else say only "action".
version=${GITHUB_ACTION_REF:-}
if [[ ! $version =~ ^[A-Za-z0-9._/+-]+$ ]]; then
  version=action
fi

# -trimpath as `make build` does, so a warm build cache serves both.
cd "$src"
go build -trimpath \
  -ldflags "-X github.com/driftgate/driftgate/internal/version.Version=$version" \
  -o "$out/driftgate" ./cmd/driftgate
"$out/driftgate" version
echo "bin=$out/driftgate" >>"${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set}"
