#!/usr/bin/python3
#
# A real ZeroC Ice 3.7 Python client of slice/FileTransfer.ice, for interop tests of ftserver.
#
#   /usr/bin/python3 ft_python_client.py --proxy "store:tcp -h 127.0.0.1 -p 10000" \
#       --file LOCAL --dest REMOTE [--chunk BYTES] [--window N] [--compress-every K] [--bad-path P]
#       [--commit-checksum sha256|bare|xxh3|xxh64]
#
# Uploads LOCAL to REMOTE in chunks with sendAsync, keeping up to N calls in flight and sending
# them out of order (odd chunks first, then even ones); every K-th chunk (K > 0) goes through
# sendCompressed (zlib). Then commits with the checksum --commit-checksum names ("sha256:<hex>",
# the default; 64 hex digits alone, as clients older than XXH64 send; "xxh3:<hex>" or
# "xxh64:<hex>"), stats the file, checks that stat reports the XXH3 Python's xxhash module
# computes, and reads the
# file back. With --bad-path it also opens that path and expects FileTransfer.PathError.
#
# Output, one per line:
#   RESULT received <start,end,...>            (before commit)
#   RESULT commit path=<path> size=<n> checksum=<algorithm:hex>
#   RESULT stat path=<path> size=<n> checksum=<algorithm:hex>
#   RESULT statChecksum ok|mismatch <expected xxh3:hex>
#   RESULT readback ok|mismatch
#   RESULT pathError path=<path> reason=<reason>     (or RESULT noPathError <what happened>)
#   DONE
# Exit code 0 when every step ran (the Swift test checks the values), 1 on an unexpected error.

import argparse
import hashlib
import os
import sys
import zlib

import Ice
import xxhash

HERE = os.path.dirname(os.path.abspath(__file__))
SLICE = os.path.normpath(os.path.join(HERE, "..", "..", "slice", "FileTransfer.ice"))
Ice.loadSlice("-I/usr/share/ice/slice %s" % SLICE)
import FileTransfer  # noqa: E402

TIMEOUT_S = 60.0


def commit_checksum(data, kind):
    if kind == "xxh3":
        return "xxh3:" + xxhash.xxh3_64(data).hexdigest()
    if kind == "xxh64":
        return "xxh64:" + xxhash.xxh64(data).hexdigest()
    digest = hashlib.sha256(data).hexdigest()
    return digest if kind == "bare" else "sha256:" + digest


def upload(store, data, dest, chunk, window, compress_every, checksum_kind):
    upload = store.open(dest, len(data), True, False)
    if upload is None:
        raise RuntimeError("open returned a null proxy")
    offsets = list(range(0, len(data), chunk))
    order = offsets[1::2] + offsets[0::2]  # out of order on purpose
    in_flight = []
    for index, offset in enumerate(order):
        piece = data[offset:offset + chunk]
        if compress_every > 0 and index % compress_every == 0:
            future = upload.sendCompressedAsync(offset, len(piece), zlib.compress(piece))
        else:
            future = upload.sendAsync(offset, piece)
        in_flight.append(future)
        if len(in_flight) >= window:
            in_flight.pop(0).result(TIMEOUT_S)
    for future in in_flight:
        future.result(TIMEOUT_S)
    received = upload.received()
    print("RESULT received %s" % ",".join(str(v) for v in received), flush=True)
    info = upload.commit(commit_checksum(data, checksum_kind))
    print("RESULT commit path=%s size=%d checksum=%s" % (info.path, info.size, info.checksum), flush=True)
    return info


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--proxy", required=True)
    parser.add_argument("--file", required=True)
    parser.add_argument("--dest", required=True)
    parser.add_argument("--chunk", type=int, default=64 * 1024)
    parser.add_argument("--window", type=int, default=8)
    parser.add_argument("--compress-every", type=int, default=0)
    parser.add_argument("--bad-path", default=None)
    parser.add_argument("--commit-checksum", choices=["sha256", "bare", "xxh3", "xxh64"], default="sha256")
    args = parser.parse_args()

    init = Ice.InitializationData()
    init.properties = Ice.createProperties()
    init.properties.setProperty("Ice.MessageSizeMax", "8192")
    with Ice.initialize(init) as communicator:
        store = FileTransfer.StorePrx.checkedCast(communicator.stringToProxy(args.proxy))
        if store is None:
            raise RuntimeError("%s is not a FileTransfer::Store" % args.proxy)
        with open(args.file, "rb") as f:
            data = f.read()
        info = upload(store, data, args.dest, args.chunk, args.window, args.compress_every, args.commit_checksum)

        stat = store.stat(info.path)
        print("RESULT stat path=%s size=%d checksum=%s" % (stat.path, stat.size, stat.checksum), flush=True)
        expected = "xxh3:" + xxhash.xxh3_64(data).hexdigest()
        print("RESULT statChecksum %s %s" % ("ok" if stat.checksum == expected else "mismatch", expected), flush=True)
        back = bytearray()
        while len(back) < stat.size:
            part = store.read(info.path, len(back), 1 << 20)
            if not part:
                break
            back += part
        print("RESULT readback %s" % ("ok" if bytes(back) == data else "mismatch"), flush=True)

        if args.bad_path is not None:
            try:
                store.open(args.bad_path, 1, False, False)
                print("RESULT noPathError open succeeded", flush=True)
            except FileTransfer.PathError as e:
                print("RESULT pathError path=%s reason=%s" % (e.path, e.reason), flush=True)
            except Exception as e:  # noqa: BLE001
                print("RESULT noPathError %s: %s" % (type(e).__name__, e), flush=True)
    print("DONE", flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # noqa: BLE001
        print("ERROR %s: %s" % (type(e).__name__, e), flush=True)
        sys.exit(1)
