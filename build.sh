#!/usr/bin/env bash
# Bootstrap of the build: ./build.sh --help lists the targets (build/Program.cs).
set -euo pipefail
exec dotnet run --project "$(dirname "$0")/build" -- "$@"
