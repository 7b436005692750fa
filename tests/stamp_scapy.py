#!/usr/bin/python3
"""stamp_scapy.py - larsd's STAMP reflector checked by a sender it did not
grow up with: scapy's (Debian's python3-scapy, scapy.contrib.stamp).

Run by tests/stamp_scapy.tap with /usr/bin/python3 (Debian's packages are
not on other interpreters' paths).  Starts the built larsd with a
temporary config of STAMP listeners on free loopback ports (IPv4, and IPv6
where ::1 works), builds Session-Sender packets with scapy, sends them
over real UDP sockets, dissects the replies with scapy and checks them
field by field; prints TAP.

scapy 2.5.0 notes: its STAMP packets size their TLV list from the UDP
header above them (pkt.parent.len), which plain dissection does not set,
so replies are dissected with a UDP layer given as _parent; its PTPv2
timestamp (Z=1) is a bare 64-bit integer, split here into seconds and
nanoseconds as RFC 8762 §4.2.1 lays them out; a TLV's length is not
computed when it is built, so it is given.
"""
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
from decimal import Decimal

from scapy.contrib.stamp import (ErrorEstimate, STAMPSessionReflectorTestUnauthenticated,
                                 STAMPSessionSenderTestUnauthenticated, STAMPTestTLV)
from scapy.layers.inet import UDP

NTP_UNIX = 2208988800
SENDER_TTL = 41
LARSD = os.path.join(os.environ.get("top_builddir", "."), "src/larsd/larsd")

results = []


def tap(ok, name, why=""):
    results.append((ok, name, why))


def free_port(family, addr):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.bind((addr, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def v6_works():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


def sender(family, addr):
    s = socket.socket(family, socket.SOCK_DGRAM)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, SENDER_TTL)
    else:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, SENDER_TTL)
    s.bind((addr, 0))
    s.settimeout(2)
    return s


def ptp_now():
    ns = time.time_ns()
    return (ns // 10**9) << 32 | ns % 10**9, ns


def ptp_ns(raw):
    return (raw >> 32) * 10**9 + (raw & 0xffffffff)


def dissect_reply(data, sport, dport):
    udp = UDP(sport=sport, dport=dport, len=8 + len(data))
    return STAMPSessionReflectorTestUnauthenticated(data, _parent=udp)


def exchange(family, addr, port, seq, z, ssid, pad):
    """One test packet with an Extra Padding TLV; the reply's problems."""
    s = sender(family, addr)
    if z:
        ts, t1_ns = ptp_now()
    else:
        t1_ns = time.time_ns()
        ts = Decimal(t1_ns) / 10**9 + NTP_UNIX
    req = STAMPSessionSenderTestUnauthenticated(
        seq=seq, err_estimate=ErrorEstimate(S=0, Z=z, scale=10, multiplier=3),
        ssid=ssid, tlv_objects=[STAMPTestTLV(type=1, len=len(pad), value=pad)])
    req.ts = ts  # after err_estimate: its Z picks the field that converts ts
    raw = bytes(req)
    s.sendto(raw, (addr, port))
    try:
        data, _ = s.recvfrom(4096)
    except socket.timeout:
        return ["no reply"]
    t4_ns = time.time_ns()
    rep = dissect_reply(data, port, s.getsockname()[1])
    bad = []
    if len(data) != len(raw):
        bad.append("reply %d bytes, request %d" % (len(data), len(raw)))
    if rep.seq != seq or rep.seq_sender != seq:
        bad.append("sequence %d / sender sequence %d, sent %d" % (rep.seq, rep.seq_sender, seq))
    if rep.ssid != ssid:
        bad.append("SSID %#x, sent %#x" % (rep.ssid, ssid))
    if rep.ttl_sender != SENDER_TTL:
        bad.append("sender TTL %d, sent with %d" % (rep.ttl_sender, SENDER_TTL))
    e, se = rep.err_estimate, rep.err_estimate_sender
    if (se.S, se.Z, se.scale, se.multiplier) != (0, z, 10, 3):
        bad.append("sender error estimate not copied: %r" % bytes(se))
    if e.Z != z:
        bad.append("reflector Z %d, sender's %d" % (e.Z, z))
    if e.multiplier == 0:
        bad.append("reflector multiplier 0")
    if rep.mbz1 != 0 or rep.mbz2 != 0:
        bad.append("MBZ fields not zero")
    if data[44:] != raw[44:]:
        bad.append("bytes past the base packet changed")
    tlvs = rep.tlv_objects
    if len(tlvs) != 1 or tlvs[0].type != 1 or tlvs[0].value != pad:
        bad.append("TLV changed: %r" % tlvs)
    if z:
        if rep.ts_sender != ts:
            bad.append("sender timestamp %#x, sent %#x" % (rep.ts_sender, ts))
        t2, t3 = ptp_ns(rep.ts_rx), ptp_ns(rep.ts)
        if (rep.ts_rx & 0xffffffff) >= 10**9 or (rep.ts & 0xffffffff) >= 10**9:
            bad.append("PTPv2 nanoseconds >= 10^9")
    else:
        if abs(Decimal(rep.ts_sender) - ts) > Decimal(2) ** -31:
            bad.append("sender timestamp %s, sent %s" % (rep.ts_sender, ts))
        t2 = int((Decimal(rep.ts_rx) - NTP_UNIX) * 10**9)
        t3 = int((Decimal(rep.ts) - NTP_UNIX) * 10**9)
    # one host, one clock: T1 <= T2 <= T3 <= T4 (1 ns for NTP rounding)
    if not (t1_ns - 1 <= t2 <= t3 <= t4_ns + 1):
        bad.append("timestamps out of order: T1 %d T2 %d T3 %d T4 %d" % (t1_ns, t2, t3, t4_ns))
    s.close()
    return bad


def short_dropped(family, addr, port):
    s = sender(family, addr)
    s.settimeout(0.3)
    s.sendto(bytes(STAMPSessionSenderTestUnauthenticated(seq=1))[:43], (addr, port))
    try:
        s.recvfrom(4096)
        return False
    except socket.timeout:
        return True
    finally:
        s.close()


def start_larsd(tmp, listeners):
    conf = os.path.join(tmp, "larsd.conf")
    with open(conf, "w") as f:
        f.write('larsd: {\n  threads = 2;\n  control = "";\n  listen = (\n')
        f.write(",\n".join('    { proto = "udp"; address = "%s"; port = %d; mode = "stamp"; }'
                           % (a, p) for _, a, p in listeners))
        f.write("\n  );\n};\nbufpool: { mem_limit = \"8M\"; };\n")
    err = open(os.path.join(tmp, "stderr"), "w+")
    proc = subprocess.Popen([LARSD, "-c", conf], stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and proc.poll() is None:
        err.seek(0)
        if "started" in err.read():
            return proc, None
        time.sleep(0.05)
    err.seek(0)
    text = err.read()
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    return None, text


def main():
    if not os.access(LARSD, os.X_OK):
        print("1..0 # SKIP larsd not built at %s" % LARSD)
        return 0
    families = [(socket.AF_INET, "127.0.0.1")]
    if v6_works():
        families.append((socket.AF_INET6, "::1"))
    with tempfile.TemporaryDirectory(prefix="stamp-scapy.") as tmp:
        proc, why = None, ""
        for _ in range(3):  # a free port may be taken before larsd binds it
            listeners = [(fam, a, free_port(fam, a)) for fam, a in families]
            proc, why = start_larsd(tmp, listeners)
            if proc:
                break
        if not proc:
            print("1..1\nnot ok 1 - larsd started\n# " + why.replace("\n", "\n# "))
            return 1
        try:
            seq = 100
            for fam, addr, port in listeners:
                for z in (0, 1):
                    seq += 1
                    pad = os.urandom(16 + seq % 7)
                    bad = exchange(fam, addr, port, seq, z, 0x5000 + seq, pad)
                    tap(not bad, "scapy sender, %s, %s timestamps: every field" %
                        (addr, "PTPv2" if z else "NTP"), "; ".join(bad))
                tap(short_dropped(fam, addr, port), "%s: a 43-byte packet is not answered" % addr)
            tap(proc.poll() is None, "larsd still running")
        finally:
            proc.terminate()
            code = proc.wait(timeout=5)
        tap(code == 0, "larsd exits 0 on SIGTERM", "exit %s" % code)
    print("1..%d" % len(results))
    for i, (ok, name, why) in enumerate(results, 1):
        print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
        if not ok and why:
            print("# " + why)
    return 0 if all(ok for ok, _, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
