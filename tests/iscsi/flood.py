#!/usr/bin/env python3
"""Connection floods against `udisc serve` for the abuse tests (loopback only).

  flood.py idle  --port P --count N [--sources 2-21] [--hold S]
      N TCP connections that never send a byte, spread over the source
      addresses 127.0.0.A..127.0.0.B, held S seconds.
  flood.py login --port P --count N --segment BYTES [--sources ...] [--hold S]
      N connections each sending one 48-byte Login Request header that
      announces a BYTES data segment (and then nothing more), held S seconds.
  flood.py session --port P --count N [--sources ...] [--hold S]
      Up to N connections that log in one after another (Normal session, no
      authentication; stops after 3 unanswered logins) and then sit idle,
      held S seconds: descriptors the caps before login do not cover, to run
      the target out of them.
  flood.py chap  --port P --count N --user U --secret S [--sources ...]
      N CHAP logins (MD5) with the given credentials, one after another.

Prints one line of JSON: how many connections the target kept open
("kept"), closed or refused ("closed"), and for chap how many were
challenged ("challenged") and how many got a login response with an
authentication failure ("auth_failed"). Stops by itself: every socket
has a time-out and the whole run is bounded by --hold and --count.
"""
import argparse
import hashlib
import json
import os
import resource
import socket
import struct
import sys
import time


def sources(spec):
    first, last = (int(x) for x in spec.split("-"))
    return ["127.0.0.%d" % i for i in range(first, last + 1)]


def connect(src, port, timeout=2.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s


def login_header(flags, data_length, itt=1):
    bhs = bytearray(48)
    bhs[0] = 0x43  # Login Request, immediate
    bhs[1] = flags
    bhs[5:8] = data_length.to_bytes(3, "big")
    bhs[8:14] = b"\x80\x00\x00\x00\x12\x34"  # ISID
    struct.pack_into(">I", bhs, 16, itt)
    return bytes(bhs)


def text(pairs):
    return b"".join(("%s=%s" % kv).encode() + b"\0" for kv in pairs)


def login_pdu(flags, data, itt=1):
    pad = (-len(data)) % 4
    return login_header(flags, len(data), itt) + data + b"\0" * pad


def recv_pdu(s):
    def exact(n):
        buf = b""
        while len(buf) < n:
            chunk = s.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        return buf
    bhs = exact(48)
    length = int.from_bytes(bhs[5:8], "big")
    data = exact(length + ((-length) % 4))[:length]
    return bhs, data


def still_open(s):
    """True when the target has not closed the connection."""
    s.setblocking(False)
    try:
        return s.recv(1) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


def hold_many(args, payload):
    srcs = sources(args.sources)
    socks, refused = [], 0
    for i in range(args.count):
        try:
            s = connect(srcs[i % len(srcs)], args.port)
            if payload:
                s.sendall(payload)
            socks.append(s)
        except OSError:
            refused += 1
    time.sleep(args.hold)
    kept = sum(1 for s in socks if still_open(s))
    for s in socks:
        s.close()
    return {"kept": kept, "closed": args.count - kept, "refused_at_connect": refused}


def sessions(args):
    # One login after another (each answered before the next), so that every
    # session holds a descriptor of the target; once three in a row get no
    # answer the target is out of descriptors and the flood stops growing.
    srcs = sources(args.sources)
    socks, failed, in_a_row = [], 0, 0
    for i in range(args.count):
        s = None
        try:
            s = connect(srcs[i % len(srcs)], args.port, timeout=0.5)
            s.sendall(login_pdu(0x80 | 1 << 2 | 3, text([
                ("InitiatorName", "iqn.2025-01.org.example:session-%d" % i), ("SessionType", "Normal"),
                ("TargetName", args.target)])))
            bhs, _ = recv_pdu(s)
            if bhs[36] != 0:
                raise ConnectionError("login refused")
            socks.append(s)
            in_a_row = 0
        except (OSError, ConnectionError):
            failed += 1
            in_a_row += 1
            if s is not None:
                s.close()
            if in_a_row == 3:
                break
    time.sleep(args.hold)
    kept = sum(1 for s in socks if still_open(s))
    for s in socks:
        s.close()
    return {"logged_in": len(socks), "kept": kept, "failed": failed}


def chap_logins(args):
    srcs = sources(args.sources)
    out = {"challenged": 0, "auth_failed": 0, "logged_in": 0, "closed": 0}
    for i in range(args.count):
        try:
            s = connect(srcs[i % len(srcs)], args.port)
            s.sendall(login_pdu(0x00 | 0 << 2, text([
                ("InitiatorName", "iqn.2025-01.org.example:flood"), ("SessionType", "Normal"),
                ("TargetName", args.target), ("AuthMethod", "CHAP")])))
            recv_pdu(s)
            s.sendall(login_pdu(0x00, text([("CHAP_A", "5")]), 2))
            _, data = recv_pdu(s)
            keys = dict(kv.split("=", 1) for kv in data.decode().split("\0") if kv)
            out["challenged"] += 1
            ident = int(keys["CHAP_I"])
            challenge = bytes.fromhex(keys["CHAP_C"][2:])
            response = hashlib.md5(bytes([ident]) + args.secret.encode() + challenge).hexdigest()
            s.sendall(login_pdu(0x80 | 0 << 2 | 1, text([("CHAP_N", args.user), ("CHAP_R", "0x" + response)]), 3))
            bhs, _ = recv_pdu(s)
            if bhs[36] == 0x02 and bhs[37] == 0x01:
                out["auth_failed"] += 1
            elif bhs[36] == 0:
                out["logged_in"] += 1
            s.close()
        except (OSError, ConnectionError, KeyError, ValueError):
            out["closed"] += 1
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["idle", "login", "session", "chap"])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--sources", default="1-1")
    p.add_argument("--hold", type=float, default=2.0)
    p.add_argument("--segment", type=int, default=262144)
    p.add_argument("--target", default="iqn.2025-01.org.udisc:e2e")
    p.add_argument("--user", default="")
    p.add_argument("--secret", default="")
    args = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.mode == "idle":
        result = hold_many(args, b"")
    elif args.mode == "login":
        result = hold_many(args, login_header(0x80 | 1 << 2 | 3, args.segment))
    elif args.mode == "session":
        result = sessions(args)
    else:
        result = chap_logins(args)
    print(json.dumps(result))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
