#!/usr/bin/env bash
# Prints the generator table: IDs/s of one generator against its layout's limit with 1, 2 and 8
# goroutines, and ns per ID uncapped, lock-free against a mutex-based generator.
# Usage: bench/generator.sh [-d 2s]
set -euo pipefail
cd "$(dirname "$0")/.."
go run ./bench/genbench "$@"
