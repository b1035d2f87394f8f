#!/usr/bin/env bash
# Cross-builds tests/asm/harness_aarch64.c together with asm/aarch64.S and runs
# it under user-mode QEMU. Works from any directory; exits non-zero if the
# build or any check fails.
#
#   tests/asm/run_aarch64.sh [switches]     (default: 1000000)
#
# Needs aarch64-linux-gnu-gcc and qemu-aarch64-static (Debian/Ubuntu:
# apt-get install gcc-aarch64-linux-gnu qemu-user-static). Override with
# CC_AARCH64=... and QEMU_AARCH64=... if they live elsewhere.
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$script_dir/../.." && pwd)"
cd "$repo_root"

cc="${CC_AARCH64:-aarch64-linux-gnu-gcc}"
qemu="${QEMU_AARCH64:-qemu-aarch64-static}"

missing=0
for tool in "$cc" "$qemu"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "run_aarch64.sh: '$tool' not found in PATH" >&2
        missing=1
    fi
done
if [ "$missing" -ne 0 ]; then
    echo "run_aarch64.sh: install them with: apt-get install gcc-aarch64-linux-gnu qemu-user-static" >&2
    exit 2
fi

out_dir="$repo_root/target/asm-harness"
mkdir -p "$out_dir"
bin="$out_dir/harness_aarch64"

# Assemble the routines on their own first, with warnings as errors, so a
# problem in the .S is reported as such rather than as a link error.
"$cc" -Wall -Wextra -Werror -I asm -c asm/aarch64.S -o "$out_dir/aarch64.o"

"$cc" -std=c11 -O2 -Wall -Wextra -Werror -static -funwind-tables -I asm \
    tests/asm/harness_aarch64.c asm/aarch64.S -o "$bin"

echo "run_aarch64.sh: running $bin under $qemu"
"$qemu" "$bin" "$@"
