#!/usr/bin/python3
"""Reference for icebench: the same benchmarks with the real Ice 3.7 runtime (Python over the C++ core).

    icebench_ref.py server                       # prints READY <port>, serves until stdin closes
    icebench_ref.py ping --proxy P --count N
    icebench_ref.py oneway --proxy P --count N --size 1024
"""
import os
import sys
import time

import Ice

HERE = os.path.dirname(os.path.abspath(__file__))
Ice.loadSlice("-I/usr/share/ice/slice " + os.path.join(HERE, "..", "..", "shared", "ice-protocol", "vectors", "Demo.ice"))
import Demo  # noqa: E402


class Servant(Demo.FileTransfer):
    def send(self, offset, bytes, current):
        pass

    def ping2(self, x, current):
        return (x + 1, "")

    def fail(self, current):
        pass

    def _self(self, current):
        return None


def arg(name, default=None):
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    return default


def main():
    cmd = sys.argv[1]
    props = Ice.createProperties()
    props.setProperty("Ice.MessageSizeMax", "65536")
    init = Ice.InitializationData()
    init.properties = props
    with Ice.initialize(init) as comm:
        if cmd == "server":
            adapter = comm.createObjectAdapterWithEndpoints("Bench", "tcp -h 127.0.0.1 -p 0")
            adapter.add(Servant(), Ice.stringToIdentity("bench"))
            adapter.activate()
            port = adapter.getEndpoints()[0].getInfo().port
            print("READY %d" % port, flush=True)
            os.read(0, 1)  # until stdin closes
            while os.read(0, 4096):
                pass
            return
        proxy = Demo.FileTransferPrx.uncheckedCast(comm.stringToProxy(arg("--proxy")))
        if cmd == "ping":
            n = int(arg("--count", "20000"))
            proxy.ice_ping()
            t = time.perf_counter()
            for _ in range(n):
                proxy.ice_ping()
            s = time.perf_counter() - t
            print("ping %d calls %.3f s %.0f calls/s" % (n, s, n / s))
        elif cmd == "oneway":
            n = int(arg("--count", "100000"))
            payload = bytes(int(arg("--size", "1024")))
            ow = proxy.ice_oneway()
            t = time.perf_counter()
            for i in range(n):
                f = ow.sendAsync(i, payload)
                f.sent()
            proxy.ice_ping()
            s = time.perf_counter() - t
            print("oneway %d calls %.3f s %.0f calls/s" % (n, s, n / s))


if __name__ == "__main__":
    main()
