#!/usr/bin/python3
"""stamp_scapy.py - larsd's STAMP reflector checked by a sender it did not
grow up with: scapy's (Debian's python3-scapy, scapy.contrib.stamp).

Run by tests/interop/stamp_scapy.tap with /usr/bin/python3 (Debian's
packages are not on other interpreters' paths).  Starts the built larsd with
a temporary config of STAMP listeners on free loopback ports (IPv4, and
IPv6 where ::1 works), builds Session-Sender packets with scapy, sends them
over real UDP sockets, dissects the replies with scapy and checks them
field by field; prints TAP.

Beyond scapy's unauthenticated packets: TWAMP-Light packets (its first 14
and 41 bytes), RFC 8972 TLVs with scapy's generic STAMPTestTLV (an unknown
type must come back flagged U, one whose length runs past the packet M,
Class of Service and Timestamp Information filled in), and the
authenticated mode (RFC 8762 §4.2.2, §4.3.2; scapy has no layer for it)
packed here from the RFC's figures with struct, its HMAC-SHA-256 from
Python's own hmac module; a stateful listener's own sequence numbers.

scapy 2.5.0 notes: its STAMP packets size their TLV list from the UDP
header above them (pkt.parent.len), which plain dissection does not set,
so replies are dissected with a UDP layer given as _parent; its PTPv2
timestamp (Z=1) is a bare 64-bit integer, split here into seconds and
nanoseconds as RFC 8762 §4.2.1 lays them out; a TLV's length is not
computed when it is built, so it is given.
"""
import hashlib
import hmac
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


def ask(family, addr, port, raw, timeout=2.0, tos=None):
    """Send raw; the reply's bytes and TOS, or (None, None)."""
    s = sender(family, addr)
    s.settimeout(timeout)
    v6 = family == socket.AF_INET6
    level = socket.IPPROTO_IPV6 if v6 else socket.IPPROTO_IP
    if tos is not None:
        s.setsockopt(level, socket.IPV6_TCLASS if v6 else socket.IP_TOS, tos)
    s.setsockopt(level, socket.IPV6_RECVTCLASS if v6 else socket.IP_RECVTOS, 1)
    s.sendto(raw, (addr, port))
    try:
        data, anc, _, _ = s.recvmsg(4096, 256)
    except socket.timeout:
        return None, None
    finally:
        s.close()
    got = None
    for lvl, typ, val in anc:
        if (lvl, typ) in ((socket.IPPROTO_IP, socket.IP_TOS),
                          (socket.IPPROTO_IPV6, socket.IPV6_TCLASS)):
            got = val[0] if len(val) == 1 else struct.unpack("i", val[:4])[0]
    return data, got


def short_dropped(family, addr, port):
    raw = bytes(STAMPSessionSenderTestUnauthenticated(seq=1))[:13]
    return ask(family, addr, port, raw, timeout=0.3)[0] is None


def twamp_light(family, addr, port, n):
    """The first n (14..43) bytes of a sender packet: the base reply."""
    t1_ns = time.time_ns()
    req = STAMPSessionSenderTestUnauthenticated(
        seq=7000 + n, err_estimate=ErrorEstimate(S=0, Z=0, scale=2, multiplier=9), ssid=0)
    req.ts = Decimal(t1_ns) / 10**9 + NTP_UNIX
    raw = bytes(req)[:n]
    data, _ = ask(family, addr, port, raw)
    if data is None:
        return ["no reply"]
    rep = dissect_reply(data, port, 0)
    bad = []
    if len(data) != 44:
        bad.append("reply of %d bytes, not the 44-byte base" % len(data))
    if rep.seq_sender != 7000 + n or rep.seq != 7000 + n:
        bad.append("sequence numbers %d/%d" % (rep.seq, rep.seq_sender))
    if raw[4:12] != data[28:36]:
        bad.append("sender timestamp not copied")
    if raw[12:14] != data[36:38]:
        bad.append("sender error estimate not copied")
    if rep.ssid != 0 or rep.mbz1 != 0 or rep.mbz2 != 0:
        bad.append("SSID or MBZ not zero")
    return bad


def tlv_bytes(flags, typ, value, length=None):
    return struct.pack("!BBH", flags, typ, len(value) if length is None else length) + value


def tlvs_of(data, at):
    """(flags, type, value) of each TLV from offset at."""
    out = []
    while len(data) - at >= 4:
        flags, typ, n = struct.unpack("!BBH", data[at:at + 4])
        out.append((flags, typ, data[at + 4:at + 4 + n]))
        at += 4 + n
    return out


def tlvs(family, addr, port):
    """Unknown, Class of Service and Timestamp Information TLVs built by
    scapy after its base packet, then one whose length runs past the packet."""
    known = [STAMPTestTLV(type=200, len=4, value=b"\x01\x02\x03\x04"),
             STAMPTestTLV(type=4, len=4, value=bytes([46 << 2, 0, 0, 0])),  # DSCP1 EF
             STAMPTestTLV(type=3, len=4, value=bytes(4))]
    base = bytes(STAMPSessionSenderTestUnauthenticated(seq=8001, ssid=0x77, tlv_objects=known))
    runs_past = tlv_bytes(0, 1, b"\xaa" * 4, length=64)    # says 64, carries 4
    raw = base + runs_past
    data, tos = ask(family, addr, port, raw, tos=10 << 2)  # sent in DSCP AF11
    if data is None:
        return ["no reply"]
    bad = []
    if len(data) != len(raw):
        bad.append("reply %d bytes, request %d" % (len(data), len(raw)))
    rep = dissect_reply(data[:len(base)], port, port)
    got = [(int(t.flags), t.type, bytes(t.value)) for t in rep.tlv_objects] \
        + tlvs_of(data, len(base))
    if len(got) != 4:
        return bad + ["%d TLVs came back: %r" % (len(got), got)]
    (f0, t0, v0), (f1, t1, v1), (f2, t2, v2), (f3, t3, v3) = got
    if (f0 & 0x80) == 0 or t0 != 200 or v0 != b"\x01\x02\x03\x04":
        bad.append("unknown type not flagged U, or changed: %r" % (got[0],))
    if f1 != 0 or t1 != 4:
        bad.append("Class of Service flagged %#x" % f1)
    else:
        dscp1, dscp2 = v1[0] >> 2, (v1[0] & 3) << 4 | v1[1] >> 4
        ecn, rp = (v1[1] >> 2) & 3, v1[1] & 3
        if (dscp1, dscp2, ecn, rp) != (46, 10, 0, 0):
            bad.append("CoS DSCP1 %d DSCP2 %d ECN %d RP %d, want 46 10 0 0"
                       % (dscp1, dscp2, ecn, rp))
    if tos is None or tos >> 2 != 46:
        bad.append("the reply came in TOS %r, not DSCP 46" % tos)
    if f2 != 0 or t2 != 3 or v2[0] not in (1, 5) or v2[2] not in (1, 5) or v2[1] != 2 \
            or v2[3] != 2:
        bad.append("Timestamp Information %r" % (got[2],))
    if (f3 & 0x40) == 0:
        bad.append("a TLV longer than the packet not flagged M: %#x" % f3)
    return bad


def auth_request(key, seq, ssid):
    """RFC 8762 §4.2.2: seq, MBZ 12, timestamp, error estimate, SSID
    (RFC 8972), MBZ 68, HMAC over the 96 bytes before it."""
    ts = (int(time.time()) + NTP_UNIX) << 32
    body = struct.pack("!I12xQHH68x", seq, ts, 0x0001, ssid)
    return body + hmac.new(key, body, hashlib.sha256).digest()[:16], ts


def authenticated(family, addr, port, key):
    bad = []
    raw, ts = auth_request(key, 9001, 0x1234)
    data, _ = ask(family, addr, port, raw)
    if data is None:
        return ["no reply to a good authenticated packet"]
    if len(data) != 112:
        return ["reply of %d bytes" % len(data)]
    if hmac.new(key, data[:96], hashlib.sha256).digest()[:16] != data[96:]:
        bad.append("the reply's HMAC does not check")
    seq, = struct.unpack("!I", data[0:4])
    ssid, = struct.unpack("!H", data[26:28])
    sseq, = struct.unpack("!I", data[48:52])
    sts, = struct.unpack("!Q", data[64:72])
    serr, = struct.unpack("!H", data[72:74])
    if (seq, ssid, sseq, sts, serr) != (9001, 0x1234, 9001, ts, 1):
        bad.append("fields: seq %d ssid %#x sender seq %d ts %#x err %#x"
                   % (seq, ssid, sseq, sts, serr))
    if data[4:16] != bytes(12) or data[28:32] != bytes(4) or data[40:48] != bytes(8) \
            or data[52:64] != bytes(12) or data[74:80] != bytes(6) or data[81:96] != bytes(15):
        bad.append("MBZ fields not zero")
    # RFC 8972 §4.8: Extra Padding, then the HMAC TLV over the sequence
    # number and the TLVs before it; the reply is signed the same way.
    pad = tlv_bytes(0, 1, b"\x5a" * 12)
    hmac_tlv = tlv_bytes(0, 8, hmac.new(key, raw[0:4] + pad, hashlib.sha256).digest()[:16])
    data, _ = ask(family, addr, port, raw + pad + hmac_tlv)
    if data is None or len(data) != 112 + len(pad) + len(hmac_tlv):
        bad.append("no reply of the right size to an HMAC TLV")
    else:
        got = tlvs_of(data, 112)
        want = hmac.new(key, data[0:4] + data[112:112 + len(pad)],
                        hashlib.sha256).digest()[:16]
        if len(got) != 2 or got[0] != (0, 1, b"\x5a" * 12) or got[1] != (0, 8, want):
            bad.append("the reply's TLVs %r, want padding then HMAC %s" % (got, want.hex()))
    bad_tlv = hmac_tlv[:4] + bytes(16)
    data, _ = ask(family, addr, port, raw + pad + bad_tlv)
    if data is None or len(data) < 112 + 36 or not (data[112 + 16] & 0x20):
        bad.append("a wrong HMAC TLV was not flagged I: %r" % (data and data[112:].hex()))
    forged = raw[:96] + bytes(16)
    if ask(family, addr, port, forged, timeout=0.3)[0] is not None:
        bad.append("a packet with a wrong HMAC was answered")
    plain = bytes(STAMPSessionSenderTestUnauthenticated(seq=1))
    if ask(family, addr, port, plain, timeout=0.3)[0] is not None:
        bad.append("an unauthenticated packet was answered")
    return bad


def stateful(family, addr, port):
    """The reflector's own numbers: 0, 1, 2 for sender numbers 50, 53, 60."""
    s = sender(family, addr)
    got = []
    for seq in (50, 53, 60):
        s.sendto(bytes(STAMPSessionSenderTestUnauthenticated(seq=seq, ssid=9)), (addr, port))
        try:
            data = s.recv(4096)
        except socket.timeout:
            s.close()
            return ["no reply to %d" % seq]
        got.append(struct.unpack("!I", data[0:4])[0])
    s.close()
    return [] if got == [0, 1, 2] else ["reflector numbers %r, want [0, 1, 2]" % got]


KINDS = ("", ' authentication = "hmac-sha256"; key_file = "stamp.key";',
         " stateful = true;")


def start_larsd(tmp, listeners):
    conf = os.path.join(tmp, "larsd.conf")
    with open(conf, "w") as f:
        f.write('larsd: {\n  threads = 2;\n  control = "";\n  listen = (\n')
        f.write(",\n".join('    { proto = "udp"; address = "%s"; port = %d; mode = "stamp";%s }'
                           % (a, p, KINDS[k]) for _, a, p, k in listeners))
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
        key = os.urandom(32)
        fd = os.open(os.path.join(tmp, "stamp.key"), os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, key.hex().encode() + b"\n")
        os.close(fd)
        proc, why = None, ""
        for _ in range(3):  # a free port may be taken before larsd binds it
            listeners = [(fam, a, free_port(fam, a), k) for fam, a in families
                         for k in range(len(KINDS))]
            proc, why = start_larsd(tmp, listeners)
            if proc:
                break
        if not proc:
            print("1..1\nnot ok 1 - larsd started\n# " + why.replace("\n", "\n# "))
            return 1
        try:
            seq = 100
            for fam, addr, port, kind in listeners:
                if kind == 1:
                    bad = authenticated(fam, addr, port, key)
                    tap(not bad, "%s: authenticated mode, every field and the HMACs" % addr,
                        "; ".join(bad))
                    continue
                if kind == 2:
                    bad = stateful(fam, addr, port)
                    tap(not bad, "%s: a stateful reflector numbers its replies" % addr,
                        "; ".join(bad))
                    continue
                for z in (0, 1):
                    seq += 1
                    pad = os.urandom(16 + seq % 7)
                    bad = exchange(fam, addr, port, seq, z, 0x5000 + seq, pad)
                    tap(not bad, "scapy sender, %s, %s timestamps: every field" %
                        (addr, "PTPv2" if z else "NTP"), "; ".join(bad))
                for n in (14, 41, 43):
                    bad = twamp_light(fam, addr, port, n)
                    tap(not bad, "%s: a %d-byte TWAMP-Light packet gets the base reply"
                        % (addr, n), "; ".join(bad))
                tap(short_dropped(fam, addr, port), "%s: a 13-byte packet is not answered" % addr)
                bad = tlvs(fam, addr, port)
                tap(not bad, "%s: TLVs: U, M, Class of Service, Timestamp Information" % addr,
                    "; ".join(bad))
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
