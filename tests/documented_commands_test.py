#!/usr/bin/env python3
"""Every command the project prints or documents is run by a test.

Collects the command lines that users are told to type:
  - the "Examples:" of `udisc --help` and of each `udisc COMMAND --help`,
    and the `backticked` commands in any --help text;
  - the hints `udisc` prints: with no daemon (default and custom socket),
    and `udisc doctor`'s advice;
  - the sh code blocks of README.md and dist/README.md;
  - the commands tools/demo.sh prints.
Each must be listed in tests/documented_commands.txt with where it runs:
  host             run here, by this test, as written (HostRun: DEMO, TMP and
                   IMAGE stand for files it makes; `udisc serve` runs 2 s
                   and is stopped with Ctrl-C as the text says; COMMAND
                   stands for every subcommand of `udisc --help`, each run)
  <path>           that test script runs it verbatim (checked: the exact
                   text must appear in the file)
  tools/demo.sh in <path>
                   a command tools/demo.sh prints and runs, and <path> runs
                   tools/demo.sh and checks the command's echo (checked: the
                   command was found in tools/demo.sh, and <path> holds
                   "tools/demo.sh" and the command with DEMO as the demo
                   names it, build/demo)
  pending <why>    not run by any test yet (printed; a known gap)
A documented command missing from the list fails the test, so a new hint
cannot go untested unnoticed; so does a listed one that no longer appears.

usage: documented_commands_test.py PATH/TO/udisc SOURCE_DIR
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

COMMAND_START = re.compile(r"^(sudo |udisc |mount |iscsiadm |tools/\S+\.sh|cmake |systemctl |install )")


def sh(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def spans(text):
    return [s.strip() for s in re.findall(r"`([^`\n]+)`", text) if COMMAND_START.match(s.strip())]


def example_lines(text):
    out, inside = [], False
    for line in text.splitlines():
        if line.strip() in ("Examples:", "Example:"):
            inside = True
            continue
        if inside:
            if not line.startswith("  ") or not line.strip():
                inside = False
                continue
            out.append(line.strip())
    return out


def sh_blocks(text):
    """Command lines of the fenced blocks (a layout block's lines are no commands)."""
    out, inside = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            inside = not inside
            continue
        line = line.split("  #")[0].strip()
        if inside and COMMAND_START.match(line):
            out.append(line)
    return out


def collect(udisc, src, tmp):
    found = {}

    def add(cmds, where):
        for c in cmds:
            found.setdefault(c, where)

    top = sh([udisc, "--help"]).stdout
    add(example_lines(top) + spans(top), "udisc --help")
    subcommands = re.findall(r"^  ([a-z]+)\s", top.split("Subcommands:")[-1], re.M)
    for sub in subcommands:
        text = sh([udisc, sub, "--help"]).stdout
        add(example_lines(text) + spans(text), f"udisc {sub} --help")
    env = dict(os.environ)
    env.pop("UDISC_SOCKET", None)
    for sock, label in ((None, "default socket"), (os.path.join(tmp, "none.sock"), "custom socket")):
        e = dict(env)
        if sock:
            e["UDISC_SOCKET"] = sock
        text = sh([udisc, "list"], env=e).stderr.replace(tmp, "TMP")
        add(spans(text), f"`udisc list` with no daemon ({label})")
    doctor = sh([udisc, "doctor"], env=env).stdout
    add(spans(doctor) + [l.strip() for l in doctor.splitlines() if l.startswith("    udisc ")], "udisc doctor")
    for doc in ("README.md", "dist/README.md"):
        with open(os.path.join(src, doc)) as f:
            add(sh_blocks(f.read()), doc)
    with open(os.path.join(src, "tools/demo.sh")) as f:
        demo = f.read()
        for m in re.findall(r'echo "\\\$ (udisc [^"]*)"', demo):
            add([m.replace("$demo", "DEMO")], "tools/demo.sh")
        for m in re.findall(r'echo "[^"]*\$udisc (\w+ [^ "]+)', demo):
            add(["udisc " + m], "tools/demo.sh")
    return found, subcommands


def read_manifest(path):
    entries = {}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            how, _, cmd = line.partition("\t")
            entries[cmd.strip()] = how.strip()
    return entries


class HostRun:
    """The host-runnable examples, in the order a user would type them."""

    def __init__(self, udisc, tmp, subcommands):
        self.udisc, self.tmp, self.subcommands = udisc, tmp, subcommands
        self.bin = os.path.dirname(udisc)
        self.daemon = None

    def env(self):
        e = dict(os.environ, PATH=self.bin + os.pathsep + os.environ.get("PATH", ""))
        e.pop("UDISC_SOCKET", None)
        return e

    def prepare(self):
        """The files the examples name: DEMO/sample.iso (as tools/demo.sh makes it), IMAGE."""
        demo = os.path.join(self.tmp, "demo")
        os.makedirs(os.path.join(demo, "tree"))
        with open(os.path.join(demo, "tree", "README.TXT"), "w") as f:
            f.write("Hello from uDiscMounter\n")
        os.makedirs(os.path.join(demo, "bincue"))  # as tools/demo.sh does before its convert
        sh(["xorriso", "-as", "mkisofs", "-quiet", "-R", "-V", "UDISC_DEMO", "-o", os.path.join(demo, "sample.iso"),
            os.path.join(demo, "tree")], check=True)

    def substitute(self, cmd):
        demo = os.path.join(self.tmp, "demo")
        return (cmd.replace("DEMO", demo).replace("TMP", self.tmp)
                .replace("IMAGE", os.path.join(demo, "sample.iso")))

    def run(self, cmd):
        cmd = self.substitute(cmd)
        if "COMMAND" in cmd:
            # One run per subcommand: each prints its usage and exits 0.
            if not self.subcommands:
                return False, "no subcommands found in `udisc --help`"
            for sub in self.subcommands:
                r = sh(cmd.replace("COMMAND", sub), shell=True, env=self.env(), cwd=self.tmp, timeout=30)
                if r.returncode != 0 or not re.search(rf"^Usage: \S+ {sub}\b", r.stdout, re.M):
                    return False, f"`{cmd.replace('COMMAND', sub)}`: exit status {r.returncode}: {r.stdout}{r.stderr}"
            return True, ""
        if cmd.startswith("udisc serve "):
            # Serves in the foreground until Ctrl-C, as the text says.
            p = subprocess.Popen("exec " + cmd, shell=True, env=self.env(), cwd=self.tmp, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True, start_new_session=True)
            time.sleep(2)
            alive = p.poll() is None
            if alive:
                os.killpg(p.pid, signal.SIGINT)
            out = p.communicate(timeout=10)[0]
            return alive and p.returncode == 0 and "iscsi://" in out, f"exit status {p.returncode}: {out}"
        if cmd.startswith("udisc daemon "):
            self.daemon = subprocess.Popen(cmd, shell=True, env=self.env(), cwd=self.tmp,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                           start_new_session=True)
            sock = re.search(r"--socket (\S+)", cmd).group(1)
            for _ in range(100):
                r = sh(f"UDISC_SOCKET={sock} udisc list", shell=True, env=self.env())
                if r.returncode == 0:
                    return True, ""
                if self.daemon.poll() is not None:
                    return False, self.daemon.stderr.read()
                time.sleep(0.05)
            return False, "the daemon did not answer"
        r = sh(cmd, shell=True, env=self.env(), cwd=self.tmp, timeout=30)
        return r.returncode == 0, r.stdout + r.stderr

    def stop(self):
        if self.daemon and self.daemon.poll() is None:
            os.killpg(self.daemon.pid, signal.SIGTERM)
            self.daemon.wait(10)


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    udisc, src = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    tmp = tempfile.mkdtemp(prefix="udisc-doc-")
    failures = []
    try:
        found, subcommands = collect(udisc, src, tmp)
        manifest = read_manifest(os.path.join(src, "tests/documented_commands.txt"))
        for cmd, where in sorted(found.items()):
            if cmd not in manifest:
                failures.append(f"documented in {where} but not in tests/documented_commands.txt: {cmd}")
        for cmd in manifest:
            if cmd not in found:
                failures.append(f"tests/documented_commands.txt lists a command nothing documents now: {cmd}")
        host = HostRun(udisc, tmp, subcommands)
        host.prepare()
        pending = 0
        try:
            for cmd, how in manifest.items():
                if cmd not in found:
                    continue
                if how == "host":
                    ok, out = host.run(cmd)
                    print(f"{'ok  ' if ok else 'FAIL'} host: {cmd}")
                    if not ok:
                        failures.append(f"`{cmd}` failed as written: {out.strip()[:400]}")
                elif how.startswith("pending"):
                    pending += 1
                    print(f"NOT RUN ({how}): {cmd}")
                elif how.startswith("tools/demo.sh in "):
                    test = how[len("tools/demo.sh in "):]
                    with open(os.path.join(src, test)) as f:
                        text = f.read()
                    ok = found[cmd] == "tools/demo.sh" and "tools/demo.sh" in text and \
                        cmd.replace("DEMO", "build/demo") in text
                    print(f"{'ok  ' if ok else 'FAIL'} {how}: {cmd}")
                    if not ok:
                        failures.append(f"{test} does not run tools/demo.sh and check `{cmd}` (found in {found[cmd]})")
                else:
                    with open(os.path.join(src, how)) as f:
                        ok = cmd in f.read()
                    print(f"{'ok  ' if ok else 'FAIL'} {how}: {cmd}")
                    if not ok:
                        failures.append(f"{how} does not run `{cmd}` as written")
        finally:
            host.stop()
        print(f"{len(found)} documented commands; {pending} not run by any test yet")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        for leftover in ("/tmp/udisc.sock", "/tmp/udisc-state.json", "/tmp/udisc-state.json.lock"):
            # The stopping daemon may remove its socket at the same moment.
            try:
                if os.lstat(leftover).st_uid == os.geteuid():
                    os.unlink(leftover)
            except FileNotFoundError:
                pass
    for f in failures:
        print("FAIL " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
