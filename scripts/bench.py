#!/usr/bin/env python3
"""Floe benchmarks (`make bench`): every figure is a ratio against a reference measured in the
same run, each configuration is the median of N runs, and every received file is verified.

    scripts/bench.py BUILD_DIR [--runs 3] [--quick] [--only loopback,wan,compress,memory,clients,small]

Results: results/bench.md (Markdown tables), results/bench.csv, results/window.png (gnuplot).
Only loopback addresses are used; WAN links are emulated with ../shared/tools/linkem.
"""
import argparse
import collections
import csv
import hashlib
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINKEM_DIR = os.path.normpath(os.path.join(ROOT, "..", "shared", "tools", "linkem"))
KiB, MiB, GiB = 1024, 1024 * 1024, 1024 * 1024 * 1024
TARGET = (1 * MiB, 4)  # loopback chunk × window, the configuration with a target
TARGET_LABEL = "%d MiB × %d" % (TARGET[0] // MiB, TARGET[1])
TARGET_PAIRS = 15  # paired runs of it
SHM = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()


class Paired(collections.namedtuple("Paired", "ours reference")):
    """MB/s of paired runs: ours[i] ran just after reference[i]."""

    @property
    def ratios(self):
        return [o / r for o, r in zip(self.ours, self.reference)]

    @classmethod
    def measure(cls, reference, ours, runs):
        """`runs` pairs, each of ours right after a reference run (both callables return MB/s)."""
        pairs = [(reference(), ours()) for _ in range(runs)]
        return cls(ours=[o for _, o in pairs], reference=[r for r, _ in pairs])

    def medians(self):
        """Ours, the reference's and the per-pair ratio: the median of each."""
        return statistics.median(self.ours), statistics.median(self.reference), statistics.median(self.ratios)


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(4 * MiB)
            if not b:
                return h.hexdigest()
            h.update(b)


def make_random(path, size):
    if os.path.exists(path) and os.path.getsize(path) == size:
        return
    with open(path, "wb") as out, open("/dev/urandom", "rb") as rnd:
        left = size
        while left:
            n = min(left, 8 * MiB)
            out.write(rnd.read(n))
            left -= n


def make_text(path, size):
    """Compressible data: generated log lines."""
    if os.path.exists(path) and os.path.getsize(path) == size:
        return
    import random
    rng = random.Random(42)
    levels = ["INFO", "DEBUG", "WARN", "ERROR"]
    words = "request served upload chunk commit connection accepted closed retry window client server".split()
    with open(path, "wb") as out:
        written = 0
        while written < size:
            lines = []
            for _ in range(2000):
                lines.append("2026-11-23T%02d:%02d:%02d.%03dZ %s [worker-%d] %s %s id=%08x bytes=%d\n" % (
                    rng.randrange(24), rng.randrange(60), rng.randrange(60), rng.randrange(1000),
                    rng.choice(levels), rng.randrange(8), rng.choice(words), rng.choice(words),
                    rng.randrange(1 << 32), rng.randrange(1 << 20)))
            b = "".join(lines).encode()[: size - written]
            out.write(b)
            written += len(b)


def remove(path):
    if os.path.exists(path):
        os.unlink(path)


def back_free_pages(size):
    """Writes and deletes size × 1.1 bytes in SHM just before a timed copy, so that the copy's
    receiver writes into memory the hypervisor backs. This VM (Firecracker, free page reporting)
    hands pages freed in the guest back to the host within seconds, and the first write to such
    a page costs a host fault: a receiver writing into them spent 2 to 3 times its usual CPU
    (socat's 0.5 to 2.5 s per GiB), depending on how much the host had taken back since the last
    copy was deleted. Memory written and freed right before the copy is what it gets, still
    backed, as on a machine without a hypervisor."""
    path = os.path.join(SHM, "floe-bench-backing")
    block = bytes(MiB)
    with open(path, "wb") as f:
        for _ in range(size * 11 // 10 // MiB + 1):
            f.write(block)
    os.unlink(path)


def children_cpu():
    """User + system seconds of all child processes waited for so far."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def process_cpu(pid):
    """User + system seconds a running process has used so far (/proc/PID/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Proc:
    """A background process whose peak RSS is read from /usr/bin/time -v when it ends."""

    def __init__(self, argv, rss=False, stdin=None):
        self.rss_file = tempfile.mktemp(prefix="rss") if rss else None
        if rss:
            argv = ["/usr/bin/time", "-v", "-o", self.rss_file] + argv
        self.p = subprocess.Popen(argv, stdin=stdin or subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def wait_line(self, pattern, stream="stderr", timeout=30):
        deadline = time.time() + timeout
        f = self.p.stderr if stream == "stderr" else self.p.stdout
        while time.time() < deadline:
            line = f.readline().decode(errors="replace")
            if not line:
                break
            m = re.search(pattern, line)
            if m:
                return m
        raise RuntimeError("no line matching %r from %s" % (pattern, self.p.args))

    def stop(self):
        if self.p.poll() is None:
            # Under /usr/bin/time the server is time's child: signal it, so time reports its RSS.
            target = [self.p.pid]
            if self.rss_file:
                kids = []
                for task in os.listdir("/proc/%d/task" % self.p.pid):
                    with open("/proc/%d/task/%s/children" % (self.p.pid, task)) as f:
                        kids += [int(k) for k in f.read().split()]
                target = kids or target
            for pid in target:
                os.kill(pid, signal.SIGTERM)
        try:
            self.p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        return self.peak_rss()

    def peak_rss(self):
        if not self.rss_file or not os.path.exists(self.rss_file):
            return None
        text = open(self.rss_file).read()
        os.unlink(self.rss_file)
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
        return int(m.group(1)) * 1024 if m else None


def peak_rss_of(argv):
    """Runs argv under /usr/bin/time -v; returns (completed process, peak RSS bytes)."""
    f = tempfile.mktemp(prefix="rss")
    cp = subprocess.run(["/usr/bin/time", "-v", "-o", f] + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    text = open(f).read() if os.path.exists(f) else ""
    if os.path.exists(f):
        os.unlink(f)
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    return cp, (int(m.group(1)) * 1024 if m else None)


class Bench:
    def __init__(self, build, runs, quick):
        self.build = build
        self.runs = runs
        self.quick = quick
        self.ftserver = os.path.join(build, "ftserver")
        self.ftclient = os.path.join(build, "ftclient")
        self.icebench = os.path.join(build, "icebench")
        self.work = tempfile.mkdtemp(prefix="floe-bench-", dir=SHM)
        self.rows = []  # (section, config, metric, value, reference, ratio, note)
        self.md = []

    # ---------------------------------------------------------------- processes

    def start_server(self, root, extra=(), rss=False):
        os.makedirs(root, exist_ok=True)
        srv = Proc([self.ftserver, "--root", root, "--endpoints", "tcp -h 127.0.0.1 -p 0",
                    "--Ice.MessageSizeMax=65536"] + list(extra), rss=rss)
        m = srv.wait_line(r"-p (\d+)")
        return srv, int(m.group(1))

    def start_linkem(self, target_port, delay_ms, rate_mbit):
        lk = Proc([os.path.join(LINKEM_DIR, "linkem"), "--listen", "127.0.0.1:0",
                   "--target", "127.0.0.1:%d" % target_port, "--delay-ms", str(delay_ms),
                   "--rate-mbit", str(rate_mbit)])
        m = lk.wait_line(r"listening on [\d.]+:(\d+)")
        return lk, int(m.group(1))

    def send(self, port, path, remote, chunk, window, compress="off", rss=False, extra=()):
        argv = [self.ftclient, "send", path, remote, "--proxy", "store:tcp -h 127.0.0.1 -p %d -t 60000" % port,
                "--chunk-size", str(chunk), "--window", str(window), "--compress", compress,
                "--overwrite", "--json", "--no-progress"] + list(extra)
        t0 = time.perf_counter()
        if rss:
            cp, peak = peak_rss_of(argv)
        else:
            cp, peak = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE), None
        seconds = time.perf_counter() - t0
        if cp.returncode != 0:
            raise RuntimeError("ftclient failed (%d): %s" % (cp.returncode, cp.stderr.decode(errors="replace")[-2000:]))
        summary = json.loads(cp.stdout.decode().strip().splitlines()[-1])
        return seconds, summary, peak

    def verify(self, root, remote, expected_sha):
        got = sha256_file(os.path.join(root, remote))
        if got != expected_sha:
            raise RuntimeError("received file %s differs: %s != %s" % (remote, got, expected_sha))

    def socat_copy(self, src, dst):
        """Raw TCP reference: socat -b 1 MiB from a file to a file over loopback (whole command).
        Returns (seconds, sender CPU seconds, receiver CPU seconds)."""
        port = free_port()
        remove(dst)  # freeing the previous copy's pages is not part of the transfer
        recv = subprocess.Popen(["socat", "-b", "1048576", "-u", "TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr" % port,
                                 "CREATE:%s" % dst])
        time.sleep(0.2)  # socat has no readiness signal; retried connect below covers the rest
        back_free_pages(os.path.getsize(src))
        c0 = children_cpu()
        t0 = time.perf_counter()
        subprocess.run(["socat", "-b", "1048576", "-u", "OPEN:%s" % src, "TCP:127.0.0.1:%d,retry=50,interval=0.05" % port], check=True)
        c1 = children_cpu()
        recv.wait(timeout=600)
        return time.perf_counter() - t0, c1 - c0, children_cpu() - c1

    def build_iceref(self):
        """The Ice 3.7 C++ reference peer (scripts/iceref), compiled into the work folder; None
        (and the column left out) when slice2cpp or the Ice C++ headers are missing."""
        src_dir = os.path.join(ROOT, "scripts", "iceref")
        out = os.path.join(self.work, "iceref")
        os.makedirs(out, exist_ok=True)
        try:
            subprocess.run(["slice2cpp", "-I/usr/share/ice/slice", "--output-dir", out, os.path.join(src_dir, "Sink.ice")],
                           check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            exe = os.path.join(out, "icecpp_ref")
            subprocess.run(["g++", "-O2", "-std=c++11", "-DICE_CPP11_MAPPING", "-I", out, os.path.join(src_dir, "icecpp_ref.cpp"),
                            os.path.join(out, "Sink.cpp"), "-o", exe, "-lIce++11", "-lpthread"],
                           check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            return exe
        except (OSError, subprocess.CalledProcessError) as e:
            log("bench: no Ice C++ reference (%s)" % e)
            return None

    def iceref_copy(self, exe, src, dst, chunk, window):
        """The same upload with the real Ice 3.7 C++ runtime (no checksum); whole client command.
        Returns (seconds, client CPU seconds, server CPU seconds)."""
        remove(dst)
        srv = Proc([exe, "server", dst])
        try:
            port = int(srv.wait_line(r"port (\d+)", stream="stdout").group(1))
            back_free_pages(os.path.getsize(src))
            c0, s0 = children_cpu(), process_cpu(srv.p.pid)
            t0 = time.perf_counter()
            subprocess.run([exe, "client", src, str(port), str(chunk), str(window)], check=True)
            return time.perf_counter() - t0, children_cpu() - c0, process_cpu(srv.p.pid) - s0
        finally:
            srv.p.kill()
            srv.p.wait()

    def socat_through_linkem(self, src, delay_ms, rate_mbit):
        port = free_port()
        dst = os.path.join(self.work, "socat-wan.out")
        recv = subprocess.Popen(["socat", "-b", "1048576", "-u", "TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr" % port,
                                 "CREATE:%s" % dst])
        time.sleep(0.2)
        lk, lport = self.start_linkem(port, delay_ms, rate_mbit)
        t0 = time.perf_counter()
        subprocess.run(["socat", "-b", "1048576", "-u", "OPEN:%s" % src, "TCP:127.0.0.1:%d" % lport], check=True)
        recv.wait(timeout=600)
        seconds = time.perf_counter() - t0
        lk.stop()
        os.unlink(dst)
        return seconds

    def median(self, f):
        vals = [f() for _ in range(self.runs)]
        return statistics.median(vals)

    def row(self, section, config, metric, value, reference=None, note=""):
        ratio = (value / reference) if (reference and value is not None) else None
        self.rows.append((section, config, metric, value, reference, ratio, note))
        return ratio

    def paired_row(self, section, config, paired, against):
        """A CSV row of paired MB/s runs; returns their medians (ours, reference, ratio)."""
        medians = paired.medians()
        self.rows.append((section, config, "MB/s") + medians + ("vs %s, median of paired runs" % against,))
        return medians

    # ---------------------------------------------------------------- sections

    def loopback(self):
        """Two passes over the configurations. Raw TCP: each of our runs is paired with a socat
        copy run just before it. Ice 3.7 C++: each of our runs is paired with the same upload by
        the C++ reference. (Mixing the two references in one pass made socat's figures erratic,
        373 to 2367 MB/s, on this VM.) On a shared, noisy machine the references drift between
        minutes, so each ratio is the median of per-pair ratios; MB/s columns are medians. Every
        copy, ours and the references', is verified and deleted before the next run starts."""
        size = 256 * MiB if self.quick else 1 * GiB
        src = os.path.join(self.work, "random.bin")
        make_random(src, size)
        sha = sha256_file(src)
        socat_out = os.path.join(self.work, "socat.out")
        ref_out = os.path.join(self.work, "iceref.out")
        iceref = self.build_iceref()
        root = os.path.join(self.work, "root-loop")
        srv, port = self.start_server(root, ["--workers", "2", "--queue-limit", "64"])
        configs = [(chunk, window) for chunk in (64 * KiB, 256 * KiB, 1 * MiB) for window in (1, 4, 16)]
        # CPU seconds (sender, receiver) of each run of the target configuration, per program.
        cpu = {"ours": [], "socat": [], "cpp": []}

        def note_cpu(who, chunk, window, sender, receiver):
            if (chunk, window) == TARGET:
                cpu[who].append((sender, receiver))

        def ours(chunk, window):
            remove(os.path.join(root, "loop.bin"))  # as for the references: not part of the transfer
            back_free_pages(size)
            c0, s0 = children_cpu(), process_cpu(srv.p.pid)
            secs, _, _ = self.send(port, src, "loop.bin", chunk, window)
            note_cpu("ours", chunk, window, children_cpu() - c0, process_cpu(srv.p.pid) - s0)
            self.verify(root, "loop.bin", sha)
            remove(os.path.join(root, "loop.bin"))
            return size / secs / 1e6

        def socat(chunk, window):
            secs, sender, receiver = self.socat_copy(src, socat_out)
            note_cpu("socat", chunk, window, sender, receiver)
            # Verified like every other run, which also keeps the runs alike: each starts right
            # after the other program's copy was hashed and deleted (and `back_free_pages`).
            self.verify(self.work, os.path.basename(socat_out), sha)
            remove(socat_out)
            return size / secs / 1e6

        def cpp(chunk, window):
            secs, sender, receiver = self.iceref_copy(iceref, src, ref_out, chunk, window)
            note_cpu("cpp", chunk, window, sender, receiver)
            self.verify(self.work, "iceref.out", sha)
            remove(ref_out)
            return size / secs / 1e6

        def paired(reference, chunk, window):
            """The paired runs' MB/s, ours and the reference's; the configuration with a target
            gets at least TARGET_PAIRS pairs (the references drift from minute to minute)."""
            pairs = max(self.runs, TARGET_PAIRS) if (chunk, window) == TARGET else self.runs
            return Paired.measure(lambda: reference(chunk, window), lambda: ours(chunk, window), pairs)

        results = {}
        all_raw = []
        try:
            for chunk, window in configs:
                results[(chunk, window)] = {"raw": paired(socat, chunk, window)}
                all_raw += results[(chunk, window)]["raw"].reference
            if iceref:
                for chunk, window in configs:
                    results[(chunk, window)]["cpp"] = paired(cpp, chunk, window)
        finally:
            srv.stop()
            shutil.rmtree(root, ignore_errors=True)

        table = ["| chunk | window | MB/s | raw TCP MB/s | × raw TCP | MB/s | Ice 3.7 C++ MB/s | × Ice C++ |",
                 "|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for chunk, window in configs:
            config = "chunk=%dKiB window=%d" % (chunk // KiB, window)
            raw = self.paired_row("loopback", config, results[(chunk, window)]["raw"], "raw TCP (socat)")
            line = "| %d KiB | %d | %.0f | %.0f | %.2f |" % ((chunk // KiB, window) + raw)
            if "cpp" in results[(chunk, window)]:
                cpp = self.paired_row("loopback", config, results[(chunk, window)]["cpp"], "Ice 3.7 C++")
                line += " %.0f | %.0f | %.2f |" % cpp
            else:
                line += " – | – | – |"
            table.append(line)
        target_ratios = results[TARGET]["raw"].ratios
        q1, _, q3 = statistics.quantiles(target_ratios, n=4)
        self.md += ["## 1. Loopback, %d MiB random file, /dev/shm to /dev/shm" % (size // MiB), "",
                    "Two passes, each of our runs paired with a reference run just before it. Raw TCP: `socat -b "
                    "1048576` copying the same file (%.0f to %.0f MB/s in this run). Ice 3.7 C++: the same pipelined "
                    "upload written with the real ZeroC Ice C++11 runtime (`scripts/iceref`: AMI with sent callbacks, "
                    "an AMD servant queueing pwrite jobs to 2 workers; no checksum). Ratios are medians of per-pair "
                    "ratios (%d pairs for %s, the configuration with a target, whose per-pair ratios × raw TCP "
                    "have quartiles %.2f and %.2f); ours include the end-to-end XXH3 on both sides. Every copy, ours "
                    "and the references', is verified (SHA-256) and deleted before the next run, so each run starts "
                    "after the same pause, and right after memory for its receiver was written and freed (on this VM "
                    "the hypervisor takes freed pages back within seconds, and writing into them again cost a "
                    "receiver 2 to 3 times its CPU; see `back_free_pages`)." % (min(all_raw), max(all_raw), len(target_ratios), TARGET_LABEL, q1, q3), ""] + table + [""]
        self.md += self.loopback_cpu(cpu, size)

    def loopback_cpu(self, cpu, size):
        """The CPU each side used per GiB in the target configuration, against raw TCP's: with both
        ends busy on a machine of few cores, throughput is about cores ÷ CPU per byte, so the
        throughput ratio follows this one (and it moves less from run to run)."""
        med = statistics.median
        per_gib = GiB / size
        socat = med([s + r for s, r in cpu["socat"]]) * per_gib
        table = ["| %s | sender s/GiB | receiver s/GiB | both s/GiB | raw TCP ÷ this |" % TARGET_LABEL, "|---|---:|---:|---:|---:|"]
        names = (("ours", "Floe (ftclient → ftserver)"), ("socat", "raw TCP (socat → socat)"), ("cpp", "Ice 3.7 C++ (client → server)"))
        for who, label in names:
            if not cpu[who]:
                continue
            sender, receiver = med([s for s, _ in cpu[who]]) * per_gib, med([r for _, r in cpu[who]]) * per_gib
            both = med([s + r for s, r in cpu[who]]) * per_gib
            config = "chunk=%dKiB window=%d %s" % (TARGET[0] // KiB, TARGET[1], who)
            self.rows.append(("loopback-cpu", config, "CPU s/GiB", both, socat, socat / both,
                              "user+system of sender and receiver, median of the paired runs"))
            table.append("| %s | %.2f | %.2f | %.2f | %.2f |" % (label, sender, receiver, both, socat / both))
        return ["CPU per GiB in the configuration with a target (user + system seconds, medians over its paired "
                "runs). Both ends run at once on %d cores, so throughput is about cores ÷ CPU per byte: the last "
                "column is roughly the throughput ratio to expect." % os.cpu_count(),
                ""] + table + [""]

    def wan(self):
        links = [(10, 500), (25, 200)]  # one-way delay ms, Mbit/s: RTT 20 ms @ 500, RTT 50 ms @ 200
        chunk = 256 * KiB
        windows = (1, 2, 4, 8, 16, 32)
        self.plot_data = {}
        for delay, rate in links:
            rtt = 2 * delay / 1000.0
            rate_bs = rate * 1e6 / 8
            # raw TCP through the same emulator, 64 MiB
            size_raw = 32 * MiB if self.quick else int(min(256 * MiB, rate_bs * 8)) // MiB * MiB
            src_raw = os.path.join(self.work, "wan-raw.bin")
            make_random(src_raw, size_raw)
            raw = self.median(lambda: self.socat_through_linkem(src_raw, delay, rate))
            raw_mbs = size_raw / raw / 1e6
            root = os.path.join(self.work, "root-wan")
            srv, port = self.start_server(root, ["--workers", "2", "--queue-limit", "64"])
            lk, lport = self.start_linkem(port, delay, rate)
            table = ["| window | MB/s | theory MB/s | × theory | × link rate | × raw TCP |", "|---:|---:|---:|---:|---:|---:|"]
            points = []
            try:
                configs = [("%d" % w, w, ()) for w in windows] + [("default", None, ())]
                for label, window, extra in configs:
                    theory = min(rate_bs, (window or 8) * chunk / (rtt + chunk / rate_bs))
                    # about 8 s per run at the theoretical rate (16..256 MiB), so the fixed costs of a
                    # whole command (connect, open, commit: a few round trips) weigh little
                    size = int(min(256 * MiB, max(16 * MiB, theory * (2 if self.quick else 8))))
                    size -= size % chunk
                    src = os.path.join(self.work, "wan-%d.bin" % size)
                    make_random(src, size)
                    sha = sha256_file(src)

                    def one():
                        if window is None:
                            s, summary, _ = self.send_default(lport, src, "wan.bin")
                        else:
                            s, summary, _ = self.send(lport, src, "wan.bin", chunk, window)
                        self.verify(root, "wan.bin", sha)
                        return s
                    secs = self.median(one)
                    mbs = size / secs / 1e6
                    if window is None:
                        theory = rate_bs
                    self.row("wan", "rtt=%dms rate=%dMbit window=%s" % (2 * delay, rate, label), "MB/s", mbs, theory / 1e6,
                             note="x link rate %.3f, x raw %.3f" % (mbs / (rate_bs / 1e6), mbs / raw_mbs))
                    table.append("| %s | %.1f | %.1f | %.3f | %.3f | %.3f |" % (
                        label, mbs, theory / 1e6, mbs / (theory / 1e6), mbs / (rate_bs / 1e6), mbs / raw_mbs))
                    if window is not None:
                        points.append((window, mbs, theory / 1e6))
                    os.unlink(src)
            finally:
                lk.stop()
                srv.stop()
                shutil.rmtree(root, ignore_errors=True)
            self.plot_data["RTT %d ms, %d Mbit/s" % (2 * delay, rate)] = points
            self.md += ["## 2. WAN through linkem: RTT %d ms, %d Mbit/s, chunk 256 KiB" % (2 * delay, rate), "",
                        "Link rate %.1f MB/s; raw TCP through the same emulator: **%.1f MB/s** (%.3f × link). "
                        "Theory = min(rate, window × chunk / (RTT + chunk / rate)); times are whole commands, "
                        "files verified at the receiver. `default` = ftclient's default flags." % (
                            rate_bs / 1e6, raw_mbs, raw_mbs / (rate_bs / 1e6)), ""] + table + [""]

    def send_default(self, port, path, remote):
        argv = [self.ftclient, "send", path, remote, "--proxy", "store:tcp -h 127.0.0.1 -p %d -t 60000" % port,
                "--overwrite", "--json", "--no-progress"]
        t0 = time.perf_counter()
        cp = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if cp.returncode != 0:
            raise RuntimeError("ftclient failed: %s" % cp.stderr.decode(errors="replace")[-2000:])
        return time.perf_counter() - t0, json.loads(cp.stdout.decode().strip().splitlines()[-1]), None

    def compression(self):
        delay, rate = 5, 100
        size = 32 * MiB if self.quick else 64 * MiB
        text = os.path.join(self.work, "text.log")
        rnd = os.path.join(self.work, "random-c.bin")
        make_text(text, size)
        make_random(rnd, size)
        root = os.path.join(self.work, "root-comp")
        srv, port = self.start_server(root, ["--workers", "2"])
        lk, lport = self.start_linkem(port, delay, rate)
        table = ["| data | compress | effective MB/s | × off | wire ratio |", "|---|---|---:|---:|---:|"]
        try:
            for name, path in (("log text", text), ("random", rnd)):
                sha = sha256_file(path)
                base = None
                for mode in ("off", "auto", "on"):
                    ratios = []

                    def one():
                        s, summary, _ = self.send(lport, path, "comp.bin", 256 * KiB, 16, compress=mode)
                        self.verify(root, "comp.bin", sha)
                        ratios.append(summary.get("compressionRatio", 1.0))
                        return s
                    secs = self.median(one)
                    mbs = size / secs / 1e6
                    if mode == "off":
                        base = mbs
                    self.row("compression", "%s %s" % (name, mode), "MB/s", mbs, base)
                    table.append("| %s | %s | %.1f | %.2f | %.2f |" % (name, mode, mbs, mbs / base, statistics.median(ratios)))
        finally:
            lk.stop()
            srv.stop()
            shutil.rmtree(root, ignore_errors=True)
        self.md += ["## 3. Compression over linkem, RTT 10 ms, 100 Mbit/s, %d MiB, chunk 256 KiB, window 16" % (size // MiB), "",
                    "Effective MB/s counts the original bytes. Reference: `--compress off` in the same run.", ""] + table + [""]

    def memory(self):
        sizes = [256 * MiB, 1 * GiB] if self.quick else [1 * GiB, 4 * GiB]
        chunk, window, queue = 1 * MiB, 8, 32
        table = ["| file | ftclient peak RSS | bound | ftserver peak RSS | bound |", "|---:|---:|---:|---:|---:|"]
        results = {}
        for size in sizes:
            src = os.path.join(self.work, "mem.bin")
            if os.path.exists(src):
                os.unlink(src)
            make_random(src, size)
            root = os.path.join(self.work, "root-mem")
            client_peaks, server_peaks = [], []
            for _ in range(self.runs):  # a fresh server each time: its peak is per process
                srv, port = self.start_server(root, ["--workers", "2", "--queue-limit", str(queue)], rss=True)
                try:
                    client_peaks.append(self.send(port, src, "mem.bin", chunk, window, rss=True)[2])
                finally:
                    server_peaks.append(srv.stop())
                shutil.rmtree(root, ignore_errors=True)
            client_rss, server_rss = statistics.median(client_peaks), statistics.median(server_peaks)
            os.unlink(src)
            cb = 48 * MiB + 2 * window * chunk
            sb = 48 * MiB + 2 * queue * chunk
            results[size] = (client_rss, server_rss)
            self.row("memory", "client %d MiB" % (size // MiB), "peak RSS MiB", client_rss / MiB, cb / MiB)
            self.row("memory", "server %d MiB" % (size // MiB), "peak RSS MiB", server_rss / MiB, sb / MiB)
            table.append("| %d MiB | %.1f MiB | %.0f MiB | %.1f MiB | %.0f MiB |" % (
                size // MiB, client_rss / MiB, cb / MiB, server_rss / MiB, sb / MiB))
        a, b = sizes
        growth_c = results[b][0] / results[a][0]
        growth_s = results[b][1] / results[a][1]
        self.md += ["## 4. Memory, chunk 1 MiB × window 8, server queue limit %d" % queue, "",
                    "Peak RSS (`/usr/bin/time -v`), median of %d runs per size, each with a fresh server." % self.runs, ""] + table + [
            "", "Peak RSS for the %d MiB file ÷ the %d MiB file: ftclient %.3f, ftserver %.3f." % (
                b // MiB, a // MiB, growth_c, growth_s), ""]

    def clients(self):
        n = 8 if self.quick else 16
        size = 32 * MiB if self.quick else 64 * MiB
        src = os.path.join(self.work, "many.bin")
        make_random(src, size)
        sha = sha256_file(src)
        root = os.path.join(self.work, "root-many")
        srv, port = self.start_server(root, ["--workers", "2", "--queue-limit", "64"], rss=True)
        try:
            single = self.median(lambda: self.send(port, src, "single.bin", 256 * KiB, 8)[0])
            single_mbs = size / single / 1e6

            def many():
                t0 = time.perf_counter()
                procs = [subprocess.Popen([self.ftclient, "send", src, "many-%d.bin" % i, "--proxy",
                                           "store:tcp -h 127.0.0.1 -p %d" % port, "--chunk-size", "256KiB",
                                           "--window", "8", "--overwrite", "--json", "--no-progress"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for i in range(n)]
                for p in procs:
                    if p.wait() != 0:
                        raise RuntimeError("a concurrent ftclient failed: %s" % p.stderr.read().decode()[-1000:])
                return time.perf_counter() - t0
            secs = self.median(many)
            for i in range(n):
                self.verify(root, "many-%d.bin" % i, sha)
        finally:
            rss = srv.stop()
            shutil.rmtree(root, ignore_errors=True)
        agg = n * size / secs / 1e6
        ratio = self.row("clients", "%d clients x %d MiB" % (n, size // MiB), "aggregate MB/s", agg, single_mbs)
        self.md += ["## 5. %d concurrent clients × %d MiB into one server (loopback)" % (n, size // MiB), "",
                    "| single client MB/s | aggregate MB/s | × single | server peak RSS |", "|---:|---:|---:|---:|",
                    "| %.0f | %.0f | %.2f | %.1f MiB |" % (single_mbs, agg, ratio, (rss or 0) / MiB), ""]

    def small(self):
        ref = os.path.join(ROOT, "scripts", "icebench_ref.py")
        out = {}
        for name, server_argv, client_argv in (
            ("floe", [self.icebench, "server"], [self.icebench]),
            ("ice37", ["/usr/bin/python3", ref, "server"], ["/usr/bin/python3", ref]),
        ):
            srv = subprocess.Popen(server_argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            port = int(srv.stdout.readline().decode().split()[1])
            proxy = "bench:tcp -h 127.0.0.1 -p %d" % port
            for what, count in (("ping", 20000), ("oneway", 100000)):
                def one():
                    cp = subprocess.run(client_argv + [what, "--proxy", proxy, "--count", str(count)],
                                        stdout=subprocess.PIPE, check=True)
                    return float(re.search(r"([\d.]+) calls/s", cp.stdout.decode()).group(1))
                out[(name, what)] = self.median(one)
            srv.stdin.close()
            srv.wait(timeout=30)
        # The runtime alone (no disk, no hashing): 1 GiB of twoway send(1 MiB) with 4 outstanding,
        # against raw TCP (socat) copying a 1 GiB file over loopback in the same run.
        srv = subprocess.Popen([self.icebench, "server"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        port = int(srv.stdout.readline().decode().split()[1])

        def runtime_once():
            cp = subprocess.run([self.icebench, "throughput", "--proxy", "bench:tcp -h 127.0.0.1 -p %d" % port,
                                 "--chunk", str(MiB), "--window", "4"], stdout=subprocess.PIPE, check=True)
            return float(re.search(r"([\d.]+) MB/s", cp.stdout.decode()).group(1))
        src = os.path.join(self.work, "random.bin")
        make_random(src, 1 * GiB)
        # Each run right after a socat copy, as in section 1: the reference drifts with the host.
        runtime = Paired.measure(lambda: GiB / self.socat_copy(src, os.path.join(self.work, "socat.out"))[0] / 1e6,
                                 runtime_once, self.runs)
        srv.stdin.close()
        srv.wait(timeout=30)
        runtime_mbs, raw_mbs, runtime_ratio = self.paired_row(
            "small", "runtime throughput send(1 MiB) x4", runtime, "raw TCP (socat)")
        table = ["| benchmark | Floe (Swift client + server) | Ice 3.7 (Python client + server, C++ core) | ratio |", "|---|---:|---:|---:|"]
        for what, label in (("ping", "synchronous ice_ping round trips/s"), ("oneway", "oneway send(1 KiB) calls/s")):
            ratio = self.row("small", label, "calls/s", out[("floe", what)], out[("ice37", what)])
            table.append("| %s | %.0f | %.0f | %.2f |" % (label, out[("floe", what)], out[("ice37", what)], ratio))
        self.md += ["## 6. Small requests, and the runtime alone (loopback)", ""] + table + [
            "", "The runtime alone (icebench: 1 GiB as twoway `send(offset, 1 MiB)` with 4 outstanding, no disk, no "
            "hashing): **%.0f MB/s**, %.2f × raw TCP (socat copying a 1 GiB file, %.0f MB/s; medians of %d runs, "
            "each right after a socat copy, and of the per-pair ratios)." % (runtime_mbs, runtime_ratio, raw_mbs, self.runs), ""]

    # ---------------------------------------------------------------- output

    def plot(self, out_dir):
        if not getattr(self, "plot_data", None) or not shutil.which("gnuplot"):
            return
        dat = os.path.join(out_dir, "window.dat")
        with open(dat, "w") as f:
            for i, (name, pts) in enumerate(self.plot_data.items()):
                f.write('# "%s"\n' % name)
                for w, mbs, theory in pts:
                    f.write("%d %.3f %.3f\n" % (w, mbs, theory))
                f.write("\n\n")
        script = ['set terminal pngcairo size 900,560' if self._has_cairo() else 'set terminal png size 900,560',
                  'set output "%s"' % os.path.join(out_dir, "window.png"),
                  'set title "ftclient throughput vs window (chunk 256 KiB, linkem)"',
                  'set xlabel "window (requests in flight)"', 'set ylabel "MB/s"', 'set logscale x 2',
                  'set key left top', 'set grid']
        plots = []
        for i, name in enumerate(self.plot_data):
            plots.append('"%s" index %d using 1:2 with linespoints title "%s measured"' % (dat, i, name))
            plots.append('"%s" index %d using 1:3 with lines dashtype 2 title "%s theory"' % (dat, i, name))
        script.append("plot " + ", ".join(plots))
        subprocess.run(["gnuplot"], input="\n".join(script).encode(), check=False)

    def _has_cairo(self):
        cp = subprocess.run(["gnuplot", "-e", "set terminal"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        return b"pngcairo" in cp.stdout

    def write(self, out_dir):
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(out_dir, "bench.csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["section", "config", "metric", "value", "reference", "ratio", "note"])
            for r in self.rows:
                w.writerow([r[0], r[1], r[2], "%.3f" % r[3] if r[3] is not None else "",
                            "%.3f" % r[4] if r[4] is not None else "", "%.3f" % r[5] if r[5] is not None else "", r[6]])
        self.plot(out_dir)
        head = ["# Floe benchmark results", "",
                "Run %s on %s (%d cores); median of %d runs per configuration; every received file verified "
                "(SHA-256). Ratios are against references measured in the same run." % (
                    time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), os.uname().nodename, os.cpu_count(), self.runs), ""]
        plot = []
        if getattr(self, "plot_data", None) and os.path.exists(os.path.join(out_dir, "window.png")):
            plot = ["## 7. Throughput against window", "", "![throughput vs window](window.png)", ""]
        with open(os.path.join(out_dir, "bench.md"), "w") as f:
            f.write("\n".join(head + self.md + plot) + "\n")


# `--only` names of the sections, in the order they run, and the `Bench` method of each.
SECTIONS = {"loopback": "loopback", "wan": "wan", "compress": "compression", "memory": "memory",
            "clients": "clients", "small": "small"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="smaller files (a smoke run, not for the README)")
    ap.add_argument("--only", default=",".join(SECTIONS),
                    help="comma-separated sections to run: %s" % ", ".join(SECTIONS))
    ap.add_argument("--out", default=os.path.join(ROOT, "results"))
    a = ap.parse_args()
    only = a.only.split(",")
    unknown = [n for n in only if n not in SECTIONS]
    if unknown:
        ap.error("unknown section %s in --only; choose from %s" % (", ".join(unknown), ",".join(SECTIONS)))
    subprocess.run(["make", "-s", "-C", LINKEM_DIR], check=True)
    b = Bench(os.path.abspath(a.build), a.runs, a.quick)
    try:
        for name in only:
            log("bench: %s" % name)
            getattr(b, SECTIONS[name])()
            b.write(a.out)
    finally:
        shutil.rmtree(b.work, ignore_errors=True)
    log("bench: results in %s" % a.out)


if __name__ == "__main__":
    main()
