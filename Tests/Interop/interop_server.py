#!/usr/bin/python3
#
# Reference Ice 3.7 server for the Floe interop tests (see README.md).
#
# Implements Tests/Interop/Test.ice with the real ZeroC Ice 3.7 Python runtime.
#
#   /usr/bin/python3 interop_server.py [--message-size-max KB] [--sliced]
#
# Both adapters listen on "tcp -h 127.0.0.1 -p 0"; once they are active the server prints exactly one
# line to stdout:
#
#   READY <testPort> <controlPort>
#
# Identities: "echo" on adapter "Test", "controller" on adapter "Control".
# The server exits when stdin reaches EOF (so a harness that dies never leaves it running) or after
# Controller.shutdown().

import argparse
import os
import sys
import threading

import Ice

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interop_slice import load_test_module  # noqa: E402

Test = load_test_module()


class EchoI(Test.Echo):
    def __init__(self):
        self._lock = threading.Lock()
        self._recorded = []

    def add(self, a, b, current):
        # Slice int arithmetic wraps like the other language mappings would.
        r = (a + b) & 0xFFFFFFFF
        return r - 0x100000000 if r >= 0x80000000 else r

    def concat(self, a, b, current):
        s = a + b
        return (s, len(s.encode("utf-8")))

    def roundTrip(self, v, current):
        return (v, v)

    def echoBytes(self, data, current):
        return data

    def byteCount(self, data, current):
        return len(data)

    def record(self, value, current):
        with self._lock:
            self._recorded.append(value)

    def recorded(self, current):
        with self._lock:
            r = self._recorded
            self._recorded = []
        return r

    def throwBase(self, reason, current):
        raise Test.BaseError(reason)

    def throwDerived(self, reason, code, current):
        raise Test.DerivedError(reason, code)

    # slice2py escapes the operation name "self" to "_self".
    def _self(self, current):
        return Test.EchoPrx.uncheckedCast(current.adapter.createProxy(current.id))

    def sleep(self, ms, current):
        # AMD: complete from a timer thread so a sleeping call never occupies a server thread-pool
        # thread (the thread pool has 4 threads anyway, see main()).
        f = Ice.Future()
        t = threading.Timer(max(ms, 0) / 1000.0, lambda: f.set_result(None))
        t.daemon = True
        t.start()
        return f

    def context(self, current):
        return dict(current.ctx)


class ControllerI(Test.Controller):
    def __init__(self, adapter):
        self._adapter = adapter

    def holdAdapter(self, current):
        self._adapter.hold()

    def activateAdapter(self, current):
        self._adapter.activate()

    def shutdown(self, current):
        current.adapter.getCommunicator().shutdown()


def port_of(adapter):
    for e in adapter.getEndpoints():
        info = e.getInfo()
        # TCPEndpointInfo derives from IPEndpointInfo which carries the port.
        if hasattr(info, "port"):
            return info.port
    raise RuntimeError("adapter %s has no IP endpoint" % adapter.getName())


def main():
    parser = argparse.ArgumentParser(description="Ice 3.7 reference server for Test.ice")
    parser.add_argument("--message-size-max", type=int, metavar="KB", default=None)
    parser.add_argument("--sliced", action="store_true", help="Ice.Default.SlicedFormat=1")
    args = parser.parse_args()

    init = Ice.InitializationData()
    init.properties = Ice.createProperties()
    p = init.properties
    p.setProperty("Ice.ThreadPool.Server.Size", "4")
    p.setProperty("Ice.ThreadPool.Server.SizeMax", "4")
    # With several threads, Ice dispatches consecutive requests of one connection concurrently, so
    # oneway record(1..5) could be applied out of order (observed: [1, 2, 3, 5, 4]) and a twoway
    # recorded() could overtake a flushed batch. Serialize=1 dispatches the requests of a connection
    # in order, one at a time; sleep() is AMD, so it does not hold up the connection (and 4 threads
    # still serve different connections concurrently).
    p.setProperty("Ice.ThreadPool.Server.Serialize", "1")
    p.setProperty("Ice.Warn.Connections", "0")
    p.setProperty("Ice.Warn.Dispatch", "0")
    p.setProperty("Test.Endpoints", "tcp -h 127.0.0.1 -p 0")
    p.setProperty("Control.Endpoints", "tcp -h 127.0.0.1 -p 0")
    if args.message_size_max is not None:
        p.setProperty("Ice.MessageSizeMax", str(args.message_size_max))
    if args.sliced:
        p.setProperty("Ice.Default.SlicedFormat", "1")

    with Ice.initialize(init) as communicator:
        test = communicator.createObjectAdapter("Test")
        control = communicator.createObjectAdapter("Control")
        test.add(EchoI(), Ice.stringToIdentity("echo"))
        control.add(ControllerI(test), Ice.stringToIdentity("controller"))
        test.activate()
        control.activate()

        # Exit when the harness goes away (stdin EOF), whatever else happens.
        # os.read on the raw descriptor (not sys.stdin) so that this daemon thread holds no Python I/O
        # lock when the interpreter exits after Controller.shutdown().
        def watch_stdin():
            try:
                while os.read(0, 4096):
                    pass
            except Exception:
                pass
            communicator.shutdown()

        threading.Thread(target=watch_stdin, daemon=True).start()

        sys.stdout.write("READY %d %d\n" % (port_of(test), port_of(control)))
        sys.stdout.flush()

        communicator.waitForShutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
