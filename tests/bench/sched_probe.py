#!/usr/bin/env python3
"""What a proxy's threads do while serving or idle: context switches, CPU
migrations and system calls (not run by CI; used by run.sh with BENCH_PROBE=1).

    sched_probe.py measure --pids P[,P...] --seconds N --out FILE.json [--ready FILE]
        per-thread counters from /proc/PID/task/TID/{comm,sched} before and
        after, and, when `perf` can attach, system calls counted by tracepoints
        over the same time (perf stat: a counter per call, no per-call cost like
        strace's), including the receives that found nothing (EAGAIN) and
        epoll_wait calls that returned nothing. With --ready, FILE is written once
        perf is attached and the measurement lasts until SIGTERM (N seconds at
        most): run.sh starts the load after the file appears and stops the probe
        when the load ends, so the window is the load's.
    sched_probe.py row FILE.json REQUESTS   one tab-separated line: per-request figures
    sched_probe.py threads FILE.json [REQUESTS]  one line per thread (per request, or per second)

Per thread: nr_voluntary_switches (the thread blocked: epoll_wait, a futex, a
sleep), nr_involuntary_switches (the scheduler took the CPU away: another
runnable task wanted it), se.nr_migrations (moved to another CPU).
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

SYSCALLS = ["read", "recvfrom", "recvmsg", "readv", "write", "writev", "sendto", "sendmsg", "epoll_wait",
            "epoll_pwait", "epoll_ctl", "futex", "accept4", "close", "timerfd_settime", "io_uring_enter"]
FIELDS = ["vcsw", "ivcsw", "migrations", "syscalls", "recv", "recv_eagain", "send", "epoll_wait",
          "epoll_wait_empty", "epoll_ctl", "futex", "timerfd_settime"]


def thread_counters(pid):
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        base = f"/proc/{pid}/task/{tid}"
        try:
            comm = open(f"{base}/comm").read().strip()
            values = {}
            for line in open(f"{base}/sched"):
                name, _, value = line.partition(":")
                name = name.strip()
                if name in ("nr_voluntary_switches", "nr_involuntary_switches", "se.nr_migrations"):
                    values[name] = int(float(value.strip()))
            with open(f"{base}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks = int(fields[11]) + int(fields[12])
        except OSError:
            continue  # the thread ended meanwhile
        out[f"{pid}/{tid}"] = {"comm": comm, "vcsw": values.get("nr_voluntary_switches", 0),
                               "ivcsw": values.get("nr_involuntary_switches", 0),
                               "migrations": values.get("se.nr_migrations", 0), "ticks": ticks}
    return out


def perf_events():
    events = ["context-switches", "cpu-migrations", "raw_syscalls:sys_enter"]
    events += [f"syscalls:sys_enter_{s}" for s in SYSCALLS]
    return events


def measure(pids, seconds, out, ready=None):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    perf = None
    perf_out = tempfile.mktemp(prefix="sched-probe.", suffix=".csv")
    if subprocess.run(["sh", "-c", "command -v perf"], capture_output=True).returncode == 0:
        # Receives that found nothing and epoll waits that returned nothing: exit
        # tracepoints filtered on the return value.
        command = ["perf", "stat", "-x", ",", "-o", perf_out, "-p", ",".join(map(str, pids))]
        for event in perf_events():
            command += ["-e", event]
        for s in ("recvfrom", "recvmsg", "read"):
            command += ["-e", f"syscalls:sys_exit_{s}", "--filter", "ret == -11"]
        for s in ("epoll_wait", "epoll_pwait"):
            command += ["-e", f"syscalls:sys_exit_{s}", "--filter", "ret == 0"]
        perf = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # perf stat prints nothing when attached: give it a moment (it counts from then on;
        # what it counts before the load starts is the idle rate, a few wake-ups).
        time.sleep(0.5)
    before = {}
    for pid in pids:
        before.update(thread_counters(pid))
    started = time.monotonic()
    if ready:
        open(ready, "w").close()
    deadline = started + seconds
    while not stop and time.monotonic() < deadline and (not perf or perf.poll() is None):
        time.sleep(0.01)
    after = {}
    for pid in pids:
        after.update(thread_counters(pid))
    elapsed = time.monotonic() - started
    if perf:
        perf.send_signal(signal.SIGINT)
        _, err = perf.communicate(timeout=30)
        if perf.returncode not in (0, -signal.SIGINT):
            sys.stderr.write("sched_probe: perf stat failed: " + err.decode(errors="replace")[-300:] + "\n")
    threads = {}
    for key, a in after.items():
        b = before.get(key, {"vcsw": 0, "ivcsw": 0, "migrations": 0, "ticks": 0})
        threads[key] = {"comm": a["comm"]} | {k: a[k] - b[k] for k in ("vcsw", "ivcsw", "migrations", "ticks")}
    counts = {}
    if perf and os.path.exists(perf_out):
        seen_exit = {}
        for line in open(perf_out):
            parts = line.strip().split(",")
            if len(parts) < 3 or not parts[0].replace(".", "").isdigit():
                continue
            value, event = int(float(parts[0])), parts[2]
            if event.startswith("syscalls:sys_exit_"):
                name = event[len("syscalls:sys_exit_"):]
                seen_exit[name] = seen_exit.get(name, 0) + value
            else:
                counts[event] = counts.get(event, 0) + value
        for name, value in seen_exit.items():
            counts["exit_filtered:" + name] = value
        os.unlink(perf_out)
    json.dump({"pids": pids, "seconds": elapsed, "threads": threads, "perf": counts}, open(out, "w"), indent=1)


def summary(data):
    t = data["threads"]
    p = data["perf"]
    s = lambda *names: sum(p.get(f"syscalls:sys_enter_{n}", 0) for n in names)  # noqa: E731
    return {
        "vcsw": sum(x["vcsw"] for x in t.values()),
        "ivcsw": sum(x["ivcsw"] for x in t.values()),
        "migrations": sum(x["migrations"] for x in t.values()),
        "syscalls": p.get("raw_syscalls:sys_enter"),
        "recv": s("read", "recvfrom", "recvmsg", "readv") if p else None,
        "recv_eagain": sum(p.get(f"exit_filtered:{n}", 0) for n in ("recvfrom", "recvmsg", "read")) if p else None,
        "send": s("write", "writev", "sendto", "sendmsg") if p else None,
        "epoll_wait": s("epoll_wait", "epoll_pwait") if p else None,
        "epoll_wait_empty": sum(p.get(f"exit_filtered:{n}", 0) for n in ("epoll_wait", "epoll_pwait")) if p else None,
        "epoll_ctl": s("epoll_ctl") if p else None,
        "futex": s("futex") if p else None,
        "timerfd_settime": s("timerfd_settime") if p else None,
    }


def main(argv):
    if len(argv) >= 2 and argv[1] == "measure":
        args = dict(zip(argv[2::2], argv[3::2]))
        measure([int(p) for p in args["--pids"].split(",") if p], float(args["--seconds"]), args["--out"],
                args.get("--ready"))
    elif len(argv) == 4 and argv[1] == "row":
        data = json.load(open(argv[2]))
        requests = float(argv[3])
        s = summary(data)
        print("\t".join("-" if s[f] is None or requests <= 0 else f"{s[f] / requests:.3f}" for f in FIELDS))
    elif len(argv) in (3, 4) and argv[1] == "threads":
        data = json.load(open(argv[2]))
        requests = float(argv[3]) if len(argv) == 4 else 0
        unit = "per request" if requests else "per second"
        scale = requests if requests else data["seconds"]
        print(f"  {'thread':<22} {'cpu%':>5} {'vol.sw':>9} {'invol.sw':>9} {'migr.':>8}  ({unit})")
        clk = os.sysconf("SC_CLK_TCK")
        for key, x in sorted(data["threads"].items(), key=lambda kv: -kv[1]["ticks"]):
            cpu = 100.0 * x["ticks"] / clk / data["seconds"]
            print(f"  {x['comm'] + ' ' + key.split('/')[1]:<22} {cpu:>5.0f} {x['vcsw'] / scale:>9.4f} "
                  f"{x['ivcsw'] / scale:>9.4f} {x['migrations'] / scale:>8.4f}")
        counted = [(k.split(":")[-1].replace("sys_enter_", ""), v) for k, v in data["perf"].items()
                   if v and not k.startswith("exit_filtered")]
        if counted:
            print(f"  perf, {unit}: " + ", ".join(f"{k} {v / scale:.3f}" for k, v in counted))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
