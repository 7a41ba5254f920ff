#!/usr/bin/python3
#
# Conformance client for Tests/Interop/Test.ice, using the real ZeroC Ice 3.7 Python runtime.
# Runs against ANY server implementing Test.ice (the reference interop_server.py, or Floe's Swift server).
#
#   /usr/bin/python3 interop_client.py --echo "echo:tcp -h 127.0.0.1 -p 1234" \
#       --controller "controller:tcp -h 127.0.0.1 -p 1235" [--message-size-max KB] [--only a,b] [--list]
#
# Output: one line per scenario, "ok <name>", "FAIL <name>: <reason>" or "skip <name>: <why>" (skips are
# not counted), then exactly "interop: N passed, M failed". Exit code 0 only if M == 0.
#
# --message-size-max KB must be the value the *server* was started with (it is also applied to this
# client so that large replies are accepted). Without it, the large_payload and over_limit scenarios
# are skipped.
#
# The exact expected values are documented in interop_expectations.md; keep the two in sync.

import argparse
import os
import struct
import sys
import threading
import time
import traceback

import Ice

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interop_slice import load_test_module  # noqa: E402

Test = load_test_module()

CALL_TIMEOUT_MS = 10000      # per-call invocation timeout on every proxy, so nothing hangs
FUTURE_WAIT_S = 30.0         # upper bound when waiting on futures


class Skip(Exception):
    pass


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def eq(actual, expected, what):
    if actual != expected:
        a, e = repr(actual), repr(expected)
        if len(a) > 200:
            a = a[:200] + "..."
        if len(e) > 200:
            e = e[:200] + "..."
        raise Failure("%s: expected %s, got %s" % (what, e, a))


def expect_exception(exc_type, fn, what, exact=True):
    """Calls fn() and returns the raised exception, which must be an instance of exc_type (and, if
    exact, of exactly that type)."""
    try:
        r = fn()
    except Exception as ex:  # noqa: BLE001
        if not isinstance(ex, exc_type) or (exact and type(ex) is not exc_type):
            raise Failure("%s: expected %s, got %s: %s" % (what, exc_type.__name__, type(ex).__name__,
                                                           str(ex).strip().splitlines()[0:1]))
        return ex
    raise Failure("%s: expected %s, but the call returned %r" % (what, exc_type.__name__, r))


def pattern(n, seed=0):
    """Deterministic n-byte payload (not all zeros, so corruption/truncation would be noticed)."""
    block = bytes((i * 31 + seed) % 251 for i in range(251))
    return (block * (n // 251 + 1))[:n]


def encaps(payload):
    """Encapsulation with encoding 1.1 around already-marshaled parameters."""
    return struct.pack("<iBB", 6 + len(payload), 1, 1) + payload


class Ctx(object):
    def __init__(self, communicator, echo, controller, message_size_max):
        self.communicator = communicator
        self.echo = echo
        self.controller = controller
        self.message_size_max = message_size_max


SCENARIOS = []


def scenario(fn):
    SCENARIOS.append((fn.__name__[len("sc_"):], fn))
    return fn


# ---------------------------------------------------------------------------------------------------
@scenario
def sc_twoway(c):
    e = c.echo
    eq(e.add(2, 3), 5, "add(2,3)")
    eq(e.add(-7, 3), -4, "add(-7,3)")
    eq(e.add(2147483640, 7), 2147483647, "add(2147483640,7)")
    eq(e.add(-2147483648, 0), -2147483648, "add(-2147483648,0)")

    eq(e.concat("", ""), ("", 0), "concat('','')")
    eq(e.concat("foo", "bar"), ("foobar", 6), "concat(foo,bar)")
    eq(e.concat("héllo", " wörld €"), ("héllo wörld €", 17), "concat non-ASCII")
    # Each argument (and the result) is >= 255 UTF-8 bytes, so the strings use the 5-byte size
    # encoding (0xff + int32).
    a = "x" * 300
    b = "é" * 200                     # 400 UTF-8 bytes
    eq(e.concat(a, b), (a + b, 700), "concat 300+400 bytes")
    c254 = "y" * 254                 # 254 = largest 1-byte size
    eq(e.concat(c254, ""), (c254, 254), "concat 254 bytes")
    eq(e.concat(c254, "z"), (c254 + "z", 255), "concat 255 bytes")

    full = Test.AllTypes(
        b=True, by=0xFE, s=-32768, i=-2147483648, l=-9223372036854775808,
        f=-1.5, d=-1.0e300, str="ünïcødé ✓", color=Test.Color.Blue,
        points=[Test.Point(1, -2), Test.Point(2147483647, -2147483648)],
        dict={"a": 1, "": -1, "ключ": 2147483647},
        strings=["", "x", "ü" * 300])
    ret, copy = e.roundTrip(full)
    eq(ret, full, "roundTrip(full) return")
    eq(copy, full, "roundTrip(full) copy")

    full2 = Test.AllTypes(
        b=False, by=0x7F, s=32767, i=2147483647, l=9223372036854775807,
        f=3.4028234663852886e38, d=2.2250738585072014e-308, str="", color=Test.Color.Green,
        points=[], dict={}, strings=[])
    ret, copy = e.roundTrip(full2)
    eq(ret, full2, "roundTrip(extremes/empty) return")
    eq(copy, full2, "roundTrip(extremes/empty) copy")

    eq(e.echoBytes(b""), b"", "echoBytes(0 bytes)")
    data = pattern(100 * 1024)
    r = e.echoBytes(data)
    eq(len(r), len(data), "echoBytes(100 KiB) length")
    check(r == data, "echoBytes(100 KiB) content differs")
    eq(e.byteCount(b""), 0, "byteCount(0 bytes)")
    eq(e.byteCount(data), 100 * 1024, "byteCount(100 KiB)")


@scenario
def sc_oneway(c):
    c.echo.recorded()  # drain anything left over
    o = c.echo.ice_oneway()
    for i in range(1, 6):
        o.record(i)
    # Same connection as the twoway proxy; requests on one connection are dispatched in order.
    eq(c.echo.recorded(), [1, 2, 3, 4, 5], "recorded() after oneway record(1..5)")
    eq(c.echo.recorded(), [], "recorded() clears the list")


@scenario
def sc_batch_oneway(c):
    c.echo.recorded()
    b = c.echo.ice_batchOneway()
    for i in (10, 11, 12):
        b.record(i)
    b.ice_flushBatchRequests()
    eq(c.echo.recorded(), [10, 11, 12], "recorded() after batch record(10..12) + flush")

    for i in range(1000):
        b.record(i)
    b.ice_flushBatchRequests()
    eq(c.echo.recorded(), list(range(1000)), "recorded() after 1000 batched records + proxy flush")


@scenario
def sc_user_exceptions(c):
    ex = expect_exception(Test.BaseError, lambda: c.echo.throwBase("base reason"), "throwBase")
    eq(ex.reason, "base reason", "BaseError.reason")
    eq(ex.ice_id(), "::Test::BaseError", "BaseError.ice_id()")

    ex = expect_exception(Test.DerivedError, lambda: c.echo.throwDerived("derived reason", 42),
                          "throwDerived")
    eq(ex.reason, "derived reason", "DerivedError.reason")
    eq(ex.code, 42, "DerivedError.code")
    eq(ex.ice_id(), "::Test::DerivedError", "DerivedError.ice_id()")

    try:
        c.echo.throwDerived("caught as base", -1)
        raise Failure("throwDerived did not raise")
    except Test.BaseError as b:
        check(isinstance(b, Test.DerivedError), "except BaseError got %s" % type(b).__name__)
        eq((b.reason, b.code), ("caught as base", -1), "DerivedError caught as BaseError")

    # Non-ASCII / empty reasons.
    ex = expect_exception(Test.BaseError, lambda: c.echo.throwBase(""), "throwBase('')")
    eq(ex.reason, "", "BaseError.reason (empty)")
    ex = expect_exception(Test.DerivedError, lambda: c.echo.throwDerived("ошибка", -2147483648),
                          "throwDerived(non-ASCII)")
    eq((ex.reason, ex.code), ("ошибка", -2147483648), "DerivedError non-ASCII")
    # The connection is still usable after user exceptions.
    eq(c.echo.add(1, 1), 2, "add after user exceptions")


@scenario
def sc_returned_proxy(c):
    p = c.echo._self()  # slice2py escapes the operation name "self" to "_self"
    check(p is not None, "self() returned a null proxy")
    eq(p.ice_getIdentity(), Ice.Identity("echo", ""), "self() identity")
    eq(p.ice_getFacet(), "", "self() facet")
    check(isinstance(p, Test.EchoPrx), "self() is %s, not EchoPrx" % type(p).__name__)
    check(len(p.ice_getEndpoints()) > 0, "self() returned a proxy without endpoints")
    eq(p.ice_invocationTimeout(CALL_TIMEOUT_MS).add(20, 22), 42, "add via self() proxy")


@scenario
def sc_builtins(c):
    e = c.echo
    e.ice_ping()
    eq(e.ice_isA("::Test::Echo"), True, "ice_isA(::Test::Echo)")
    eq(e.ice_isA("::Ice::Object"), True, "ice_isA(::Ice::Object)")
    eq(e.ice_isA("::Test::Controller"), False, "ice_isA(::Test::Controller)")
    eq(e.ice_id(), "::Test::Echo", "ice_id()")
    eq(e.ice_ids(), ["::Ice::Object", "::Test::Echo"], "ice_ids()")
    eq(c.controller.ice_id(), "::Test::Controller", "controller ice_id()")
    # checkedCast uses ice_isA under the hood.
    check(Test.EchoPrx.checkedCast(e) is not None, "checkedCast(echo, EchoPrx) is None")
    check(Test.ControllerPrx.checkedCast(e) is None, "checkedCast(echo, ControllerPrx) is not None")


@scenario
def sc_errors(c):
    e = c.echo
    nobody = e.ice_identity(Ice.stringToIdentity("nobody"))
    ex = expect_exception(Ice.ObjectNotExistException, nobody.ice_ping, "ping 'nobody'")
    eq(ex.id, Ice.Identity("nobody", ""), "ObjectNotExistException.id")
    eq(ex.operation, "ice_ping", "ObjectNotExistException.operation")
    ex = expect_exception(Ice.ObjectNotExistException, lambda: Test.EchoPrx.uncheckedCast(nobody).add(1, 2),
                          "add on 'nobody'")
    eq(ex.operation, "add", "ObjectNotExistException.operation (add)")

    ex = expect_exception(Ice.FacetNotExistException, e.ice_facet("nofacet").ice_ping, "ping facet")
    eq(ex.facet, "nofacet", "FacetNotExistException.facet")
    eq(ex.id, Ice.Identity("echo", ""), "FacetNotExistException.id")

    ex = expect_exception(Ice.OperationNotExistException,
                          lambda: e.ice_invoke("nosuch", Ice.OperationMode.Normal, b""), "invoke 'nosuch'")
    eq(ex.operation, "nosuch", "OperationNotExistException.operation")
    eq(ex.id, Ice.Identity("echo", ""), "OperationNotExistException.id")

    # Dynamic invocation with the right mode works and the reply is the plain encoded int.
    args = encaps(struct.pack("<ii", 40, 2))
    ok, out = e.ice_invoke("add", Ice.OperationMode.Normal, args)
    eq(ok, True, "ice_invoke(add, Normal) ok flag")
    eq(bytes(out), encaps(struct.pack("<i", 42)), "ice_invoke(add, Normal) out encapsulation")

    # "add" is not idempotent: a request marked Idempotent is rejected by the server's mode check
    # (Ice raises MarshalException "unexpected operation mode" in the dispatch, which reaches the
    # client as UnknownLocalException).
    ex = expect_exception(Ice.UnknownLocalException,
                          lambda: e.ice_invoke("add", Ice.OperationMode.Idempotent, args),
                          "ice_invoke(add, Idempotent)")
    # Ice 3.7's check is strict in both directions: a Normal request to the idempotent operation
    # "recorded" is rejected the same way ("expected = ::Ice::Idempotent received = ::Ice::Normal").
    expect_exception(Ice.UnknownLocalException,
                     lambda: e.ice_invoke("recorded", Ice.OperationMode.Normal, b""),
                     "ice_invoke(recorded, Normal)")
    ok, out = e.ice_invoke("recorded", Ice.OperationMode.Idempotent, b"")
    eq(ok, True, "ice_invoke(recorded, Idempotent) ok flag")

    # A user exception through ice_invoke: ok == False and the out encapsulation holds the exception.
    ok, out = e.ice_invoke("throwBase", Ice.OperationMode.Normal,
                           encaps(b"\x01" + b"x"))
    eq(ok, False, "ice_invoke(throwBase) ok flag")

    eq(e.add(1, 2), 3, "add after errors")


@scenario
def sc_context(c):
    ctx = {"user": "alice", "trace": "1"}
    eq(c.echo.context(), {}, "context() without context")
    eq(c.echo.context(ctx), ctx, "context() with explicit context")
    eq(c.echo.ice_context(ctx).context(), ctx, "context() with ice_context proxy")
    # An explicit context replaces (is not merged with) the proxy context.
    eq(c.echo.ice_context({"a": "1"}).context({"b": "2"}), {"b": "2"}, "explicit ctx overrides proxy ctx")
    big = {"k%d" % i: "v" * i for i in range(300)}
    big["ключ"] = "значение"
    eq(c.echo.context(big), big, "context() with 301 entries")


@scenario
def sc_large_payload(c):
    if c.message_size_max is None or c.message_size_max < 5120:
        raise Skip("needs --message-size-max >= 5120 on both sides")
    data = pattern(4 * 1024 * 1024, seed=7)
    r = c.echo.ice_invocationTimeout(60000).echoBytes(data)
    eq(len(r), len(data), "echoBytes(4 MiB) length")
    check(r == data, "echoBytes(4 MiB) content differs")
    eq(c.echo.byteCount(data), 4 * 1024 * 1024, "byteCount(4 MiB)")


@scenario
def sc_over_limit(c):
    if c.message_size_max is None:
        raise Skip("needs --message-size-max (the server's limit)")
    # Separate connection so the server closing it does not disturb the other scenarios.
    big = c.echo.ice_connectionId("big").ice_invocationTimeout(60000)
    big.ice_ping()  # establish the connection first
    data = pattern(c.message_size_max * 1024 + 1024, seed=3)
    # The server reads the message header, sees the size exceeds Ice.MessageSizeMax and closes the
    # connection without replying; the client sees the connection go away.
    expect_exception(Ice.ConnectionLostException, lambda: big.byteCount(data), "byteCount(limit + 1 KiB)")
    eq(c.echo.add(5, 6), 11, "add on the main connection after over-limit")
    # A new "big" connection works again.
    eq(big.add(1, 1), 2, "add on a new 'big' connection")


@scenario
def sc_ami_sent_while_held(c):
    # Payload is 1 MiB - 1 KiB, not 1 MiB: Ice.MessageSizeMax (default 1024 KB) limits the whole
    # protocol message (header, identity, operation name, encapsulation...), so a 1 MiB byte sequence
    # would be rejected by a server running with the default limit.
    size = 1024 * 1024 - 1024
    payload = pattern(size, seed=5)
    held = c.echo.ice_connectionId("held").ice_invocationTimeout(60000)
    held.ice_ping()  # establish the dedicated connection before holding
    futures = []
    unsent_right_after_call = None
    c.controller.holdAdapter()
    try:
        for _ in range(64):
            f = held.byteCountAsync(payload)
            futures.append(f)
            if not f.is_sent():
                unsent_right_after_call = f
                break
    finally:
        # Leave the adapter held a little while, so that the queued requests really wait.
        time.sleep(0.2)
        c.controller.activateAdapter()
    results = [f.result(timeout=FUTURE_WAIT_S) for f in futures]
    check(unsent_right_after_call is not None,
          "all %d byteCountAsync(%d bytes) calls were sent synchronously while the adapter was held"
          % (len(futures), size))
    eq(results, [size] * len(futures), "byteCountAsync results after activateAdapter")
    check(unsent_right_after_call.is_sent(), "future not marked sent after completion")
    eq(unsent_right_after_call.is_sent_synchronously(), False, "is_sent_synchronously() of queued call")
    check(futures[0].is_sent_synchronously(), "the first call was not sent synchronously")
    eq(c.echo.add(3, 4), 7, "add after activateAdapter")


@scenario
def sc_cancel(c):
    f = c.echo.sleepAsync(2000)
    f.cancel()
    try:
        ex = f.exception(timeout=FUTURE_WAIT_S)
    except Ice.InvocationCanceledException as raised:
        ex = raised  # Ice's Future.exception() raises when the future itself is in the cancelled state
    check(isinstance(ex, Ice.InvocationCanceledException),
          "exception() after cancel: expected InvocationCanceledException, got %r" % (ex,))
    check(f.done(), "future not done after cancel")
    expect_exception(Ice.InvocationCanceledException, lambda: f.result(timeout=FUTURE_WAIT_S),
                     "result() after cancel")
    eq(c.echo.add(1, 2), 3, "add after cancel")


@scenario
def sc_result_timeout(c):
    f = c.echo.sleepAsync(1500)
    expect_exception(Ice.TimeoutException, lambda: f.result(timeout=0.1), "result(timeout=0.1)")
    check(not f.done(), "future done too early")
    eq(f.result(timeout=FUTURE_WAIT_S), None, "result() of sleepAsync(1500)")


@scenario
def sc_invocation_timeout(c):
    t0 = time.time()
    expect_exception(Ice.InvocationTimeoutException, lambda: c.echo.ice_invocationTimeout(100).sleep(1000),
                     "ice_invocationTimeout(100).sleep(1000)")
    elapsed = time.time() - t0
    check(elapsed < 0.9, "invocation timeout took %.2fs" % elapsed)
    eq(c.echo.add(2, 2), 4, "add after invocation timeout")


@scenario
def sc_amd_concurrency(c):
    t0 = time.time()
    futures = [c.echo.sleepAsync(200) for _ in range(20)]
    results = [f.result(timeout=FUTURE_WAIT_S) for f in futures]
    elapsed = time.time() - t0
    eq(results, [None] * 20, "20 x sleepAsync(200) results")
    check(elapsed >= 0.19, "20 x sleep(200) finished in %.3fs (< 200 ms?)" % elapsed)
    check(elapsed < 3.0, "20 x sleep(200) took %.2fs (server dispatches them one by one?)" % elapsed)


# ---------------------------------------------------------------------------------------------------
def main():
    parser = argparse.ArgumentParser(description="Ice 3.7 conformance client for Test.ice")
    parser.add_argument("--echo", help="stringified proxy of the Echo object")
    parser.add_argument("--controller", help="stringified proxy of the Controller object")
    parser.add_argument("--message-size-max", type=int, metavar="KB", default=None)
    parser.add_argument("--only", default=None, help="comma-separated scenario names")
    parser.add_argument("--list", action="store_true", help="list scenario names and exit")
    parser.add_argument("--timeout", type=float, default=180.0, help="overall watchdog in seconds")
    parser.add_argument("--trace", action="store_true", help="print tracebacks of failures")
    args = parser.parse_args()

    names = [n for n, _ in SCENARIOS]
    if args.list:
        print("\n".join(names))
        return 0
    if not args.echo or not args.controller:
        parser.error("--echo and --controller are required")
    selected = SCENARIOS
    if args.only:
        wanted = [w.strip() for w in args.only.split(",") if w.strip()]
        unknown = [w for w in wanted if w not in names]
        if unknown:
            parser.error("unknown scenario(s): %s (known: %s)" % (", ".join(unknown), ", ".join(names)))
        selected = [(n, f) for n, f in SCENARIOS if n in wanted]

    def watchdog():
        sys.stdout.write("FAIL watchdog: client did not finish within %.0fs\n" % args.timeout)
        sys.stdout.flush()
        os._exit(2)
    timer = threading.Timer(args.timeout, watchdog)
    timer.daemon = True
    timer.start()

    init = Ice.InitializationData()
    init.properties = Ice.createProperties()
    p = init.properties
    p.setProperty("Ice.RetryIntervals", "-1")
    p.setProperty("Ice.Warn.Connections", "0")
    p.setProperty("Ice.Default.Host", "127.0.0.1")
    if args.message_size_max is not None:
        p.setProperty("Ice.MessageSizeMax", str(args.message_size_max))

    passed = failed = 0
    with Ice.initialize(init) as communicator:
        echo = Test.EchoPrx.uncheckedCast(communicator.stringToProxy(args.echo)).ice_invocationTimeout(
            CALL_TIMEOUT_MS)
        controller = Test.ControllerPrx.uncheckedCast(
            communicator.stringToProxy(args.controller)).ice_invocationTimeout(CALL_TIMEOUT_MS)
        c = Ctx(communicator, echo, controller, args.message_size_max)
        for name, fn in selected:
            try:
                fn(c)
                print("ok %s" % name)
                passed += 1
            except Skip as s:
                print("skip %s: %s" % (name, s))
            except Failure as f:
                print("FAIL %s: %s" % (name, f))
                failed += 1
            except Exception as ex:  # noqa: BLE001
                first = (str(ex).strip().splitlines() or [""])[0]
                print("FAIL %s: unexpected %s: %s" % (name, type(ex).__name__, first))
                if args.trace:
                    traceback.print_exc()
                failed += 1
            sys.stdout.flush()

    print("interop: %d passed, %d failed" % (passed, failed))
    sys.stdout.flush()
    timer.cancel()
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
