#!/usr/bin/env bash
# Installs the system packages the build and the tests need on a fresh Debian machine:
# the real ZeroC Ice 3.7 runtime (interop peers), Python's xxhash (the interop client checks
# the server's XXH3 and XXH64 with it), zlib and bzip2 headers, socat (raw TCP reference for benchmarks)
# and gnuplot (benchmark plots).
set -euo pipefail
need=()
/usr/bin/python3 -c 'import Ice' 2>/dev/null || need+=(python3-zeroc-ice)
command -v slice2py >/dev/null || need+=(zeroc-ice-compilers)
/usr/bin/python3 -c 'import xxhash' 2>/dev/null || need+=(python3-xxhash)
[ -f /usr/include/zlib.h ] || need+=(zlib1g-dev)
[ -f /usr/include/bzlib.h ] || need+=(libbz2-dev)
command -v socat >/dev/null || need+=(socat)
command -v gnuplot >/dev/null || need+=(gnuplot-nox)
[ -f /usr/include/Ice/Ice.h ] || need+=(libzeroc-ice-dev)   # the Ice C++ reference of make bench
command -v g++ >/dev/null || need+=(g++)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
