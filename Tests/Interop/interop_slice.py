# Shared helper for interop_server.py / interop_client.py: loads Test.ice with the real Ice 3.7
# Slice compiler (Ice.loadSlice) and returns the generated "Test" module.
#
# Test.ice uses Ice::Context (Echo.context()) but only includes <Ice/BuiltinSequences.ice>; the real
# Slice compiler rejects that ("`Ice::Context' is not defined"). Ice::Context (Ice 3.7) lives in
# <Ice/Current.ice>. Rather than editing the shared contract, we compile a temporary copy that adds the
# missing include when needed. This does not change anything on the wire.

import os
import shutil
import tempfile

import Ice

SLICE_DIR = "/usr/share/ice/slice"
HERE = os.path.dirname(os.path.abspath(__file__))
TEST_ICE = os.path.join(HERE, "Test.ice")


def load_test_module():
    with open(TEST_ICE, "r", encoding="utf-8") as f:
        text = f.read()
    path = TEST_ICE
    tmpdir = None
    if "Ice::Context" in text and "Ice/Current.ice" not in text:
        tmpdir = tempfile.mkdtemp(prefix="floe-interop-slice-")
        path = os.path.join(tmpdir, "Test.ice")
        marker = "#include <Ice/BuiltinSequences.ice>"
        if marker in text:
            text = text.replace(marker, marker + "\n#include <Ice/Current.ice>", 1)
        else:
            text = text.replace("#pragma once", "#pragma once\n#include <Ice/Current.ice>", 1)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    try:
        Ice.loadSlice("-I%s %s" % (SLICE_DIR, path))
    finally:
        if tmpdir:
            shutil.rmtree(tmpdir, ignore_errors=True)
    import Test
    return Test
