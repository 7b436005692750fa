#!/usr/bin/python3
"""stamp_sender_scapy.py - larsd-bench --stamp, the Session-Sender, checked
by a reflector it did not grow up with: one built here with scapy's STAMP
packets (Debian's python3-scapy, scapy.contrib.stamp), not with the wire
module larsd-bench and larsd share, so a layout both got wrong the same way
would show.

Run by tests/interop/stamp_sender_scapy.tap with /usr/bin/python3.  A
reflector thread on a free loopback port dissects every test packet with
scapy and checks it field by field (sequence from 0, SSID, the Z bit, the
error estimate, T1 near the clock, MBZ and padding zero, the length),
answers with a reflector packet built by scapy (T2 and T3 from the clock,
the TTL from IP_RECVTTL), and larsd-bench's --json summary is checked
against what the reflector did.  Prints TAP.
"""
import json
import os
import socket
import subprocess
import sys
import threading
import time
from decimal import Decimal

from scapy.contrib.stamp import (ErrorEstimate, STAMPSessionReflectorTestUnauthenticated,
                                 STAMPSessionSenderTestUnauthenticated)

NTP_UNIX = 2208988800
BENCH = os.path.join(os.environ.get("top_builddir", "."), "src/larsd-bench/larsd-bench")
IP_RECVTTL = getattr(socket, "IP_RECVTTL", 12)
IP_TTL = getattr(socket, "IP_TTL", 2)


def stamp_ts(ns, ptp):
    """A timestamp in scapy's terms: PTPv2 as the raw 64-bit value,
    NTP as Decimal seconds since 1900."""
    if ptp:
        return (ns // 10**9) << 32 | ns % 10**9
    return Decimal(ns) / 10**9 + NTP_UNIX


def ts_ns(ts, ptp):
    if ptp:
        return (ts >> 32) * 10**9 + (ts & 0xffffffff)
    return int((Decimal(ts) - NTP_UNIX) * 10**9)


class Reflector(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.stop = False
        self.problems = []
        self.seqs = []
        self.ssids = set()
        self.lengths = set()
        self.z = set()

    def problem(self, text):
        if len(self.problems) < 5:
            self.problems.append(text)

    def run(self):
        k = 0
        while not self.stop:
            try:
                data, anc, _, peer = self.sock.recvmsg(65535, socket.CMSG_SPACE(4))
            except socket.timeout:
                continue
            t2 = time.time_ns()
            ttl = 0
            for level, kind, value in anc:
                if level == socket.IPPROTO_IP and kind in (IP_TTL, IP_RECVTTL):
                    ttl = int.from_bytes(value[:4], sys.byteorder)
            self.lengths.add(len(data))
            if len(data) < 44:
                self.problem("a %d-byte test packet" % len(data))
                continue
            s = STAMPSessionSenderTestUnauthenticated(data[:44])
            e = s.err_estimate
            ptp = e.Z == 1
            self.seqs.append(s.seq)
            self.ssids.add(s.ssid)
            self.z.add(e.Z)
            if e.multiplier == 0:
                self.problem("error estimate multiplier 0")
            if s.mbz != 0:
                self.problem("MBZ not zero")
            if any(data[44:]):
                self.problem("padding not zero")
            t1 = ts_ns(s.ts, ptp)
            if abs(t1 - t2) > 10**9:
                self.problem("T1 %d ns away from this clock" % (t1 - t2))
            r = STAMPSessionReflectorTestUnauthenticated(
                seq=k, err_estimate=ErrorEstimate(S=0, Z=e.Z, scale=20, multiplier=1),
                ssid=s.ssid, seq_sender=s.seq, err_estimate_sender=e, ttl_sender=ttl)
            # After the error estimates: their Z picks how each field converts.
            r.ts_sender = s.ts
            r.ts_rx = stamp_ts(t2, ptp)
            r.ts = stamp_ts(time.time_ns(), ptp)
            k += 1
            self.sock.sendto(bytes(r)[:44] + data[44:], peer)


def bench(port, *args):
    cmd = [BENCH, "--stamp", "-P", str(port), "--json", "-t", "5"] + list(args)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    try:
        summary = json.loads(p.stdout)
    except ValueError:
        summary = None
    return p.returncode, summary, p.stderr


def main():
    results = []
    cases = [
        ("NTP timestamps, 44-byte packets, SSID 1", ["-n", "200"], False, 44, 1),
        ("PTPv2 timestamps, 120-byte packets, SSID 513", ["-n", "200", "--ptp", "-s", "120",
                                                           "--ssid", "513"], True, 120, 513),
        ("paced, 500 packets/s", ["--rate", "500", "-n", "100"], False, 44, 1),
    ]
    for name, args, ptp, size, ssid in cases:
        refl = Reflector()
        refl.start()
        code, s, err = bench(refl.port, *args)
        refl.stop = True
        refl.join()
        bad = list(refl.problems)
        n = int(args[args.index("-n") + 1])
        if code != 0 or s is None:
            bad.append("exit %d, stderr %r" % (code, err.strip()[:200]))
        else:
            st = s["stamp"]
            if s["replies"] != n or s["errors"] != 0 or s["losses"] != 0:
                bad.append("replies %s errors %s losses %s" % (s["replies"], s["errors"],
                                                               s["losses"]))
            if st["duplicates"] != 0 or st["reordered"] != 0:
                bad.append("duplicates %s reordered %s" % (st["duplicates"], st["reordered"]))
            if st["ttl_min"] != 64 or st["ttl_max"] != 64:
                bad.append("TTL %s..%s, the reflector saw 64" % (st["ttl_min"], st["ttl_max"]))
            if st["reflector_ptp"] != ptp or s["timestamps"] != ("ptp" if ptp else "ntp"):
                bad.append("timestamps %s, reflector_ptp %s" % (s["timestamps"],
                                                                 st["reflector_ptp"]))
            # One host, one clock: T1 <= T2 <= T3 <= T4, 1 ns for rounding.
            if st["forward_us"]["min"] < -0.001 or st["backward_us"]["min"] < -0.001:
                bad.append("negative one-way delay on one clock: %s / %s"
                           % (st["forward_us"]["min"], st["backward_us"]["min"]))
            if st["residence_us"]["min"] <= 0:
                bad.append("residence %s" % st["residence_us"]["min"])
            if s["latency_us"]["max"] < st["residence_us"]["min"]:
                bad.append("round trip shorter than the residence")
            if st["reflector_synced"] or st["one_way_meaningful"]:
                bad.append("the reflector said S=0, yet synchronised")
        if refl.seqs != list(range(len(refl.seqs))) or len(refl.seqs) < n:
            bad.append("sequence numbers %s..." % refl.seqs[:8])
        if refl.ssids != {ssid} or refl.lengths != {size} or refl.z != {int(ptp)}:
            bad.append("SSIDs %s lengths %s Z %s" % (refl.ssids, refl.lengths, refl.z))
        results.append((not bad, name, "; ".join(bad)))

    print("1..%d" % len(results))
    for i, (ok, name, why) in enumerate(results, 1):
        print("%s %d - %s%s" % ("ok" if ok else "not ok", i, name, "" if ok else ": " + why))
    return 0 if all(ok for ok, _, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
