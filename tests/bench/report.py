#!/usr/bin/env python3
"""Parse wrk outputs and print the benchmark tables of tests/bench/run.sh (stdlib only).

    report.py line WRK_OUTPUT_FILE     one-line summary of one wrk run
    report.py table RESULTS_DIR        tables over runs.tsv and idle.tsv (medians of rounds)

runs.tsv columns: case target round wrk_file proxy_cpu_pct backend_cpu_pct wrk_cpu_pct
                  load_core_busy_pct other_cpu_pct (CPU use in % of one core)
idle.tsv columns: target round conns rss_before_kb rss_after_kb kb_per_conn
"""
import csv
import os
import re
import statistics
import sys

CASES = {
    "a": "64 keep-alive connections, small response",
    "b": "new connection per request (Connection: close), 64 at a time",
    "c": "1 MB responses, 16 keep-alive connections",
    "d": "1,000 keep-alive connections, small response",
    "e": "RSS per idle keep-alive connection",
}
TARGETS = ["direct", "tg-proxy", "tg-base", "nginx", "haproxy"]
CPU_COLUMNS = ("proxy_cpu_pct", "backend_cpu_pct", "wrk_cpu_pct", "load_core_busy_pct",
               "other_cpu_pct")
UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}
UNITS_BYTES = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3}


def parse_wrk(path):
    """Fields of one wrk --latency output; missing ones are None."""
    text = open(path, errors="replace").read()
    out = {"rps": None, "p50": None, "p99": None, "errors": 0, "non2xx": 0, "mbps": None}
    m = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    if m:
        out["rps"] = float(m.group(1))
    for pct, key in (("50", "p50"), ("99", "p99")):
        m = re.search(r"^\s+%s(?:\.000)?%%\s+([\d.]+)(us|ms|s|m)\s*$" % pct, text, re.M)
        if m:
            out[key] = float(m.group(1)) * UNITS_MS[m.group(2)]
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        out["errors"] = sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        out["non2xx"] = int(m.group(1))
    m = re.search(r"^Transfer/sec:\s+([\d.]+)(B|KB|MB|GB)", text, re.M)
    if m:
        out["mbps"] = float(m.group(1)) * UNITS_BYTES[m.group(2)] / 1024 ** 2
    return out


def fmt(v, spec):
    """format(v, spec), or a dash as wide as spec asks for when v is missing."""
    if v is None:
        width = re.match(r"\d*", spec).group()
        return "-".rjust(int(width) if width else 1)
    return format(v, spec)


def ratio(a, b):
    return None if a is None or b in (None, 0) else a / b


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def cmd_line(path):
    r = parse_wrk(path)
    bad = r["errors"] + r["non2xx"]
    print(f"{fmt(r['rps'], '10.0f')} req/s  p50 {fmt(r['p50'], '7.3f')} ms  "
          f"p99 {fmt(r['p99'], '7.3f')} ms" + (f"  ERRORS {bad}" if bad else ""))


def load_tsv(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def num(s):
    return None if s in (None, "", "-") else float(s)


def table_runs(rows):
    by_case = {}
    for row in rows:
        by_case.setdefault(row["case"], {}).setdefault(row["target"], []).append(row)
    for case in sorted(by_case):
        targets = by_case[case]
        rounds = max(len(v) for v in targets.values())
        print(f"\ncase {case}: {CASES.get(case, '?')}  (median of {rounds} round(s))")
        print(f"  {'target':<9} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'MB/s':>7} "
              f"{'errors':>6} | cpu%: {'proxy':>5} {'backend':>7} {'wrk':>4} "
              f"{'load core':>9} {'other':>5}")
        med = {}
        for target in [t for t in TARGETS if t in targets] + sorted(set(targets) - set(TARGETS)):
            runs = [parse_wrk(r["wrk_file"]) | {k: num(r.get(k)) for k in CPU_COLUMNS}
                    for r in targets[target]]
            m = {k: median([r[k] for r in runs]) for k in ("rps", "p50", "p99", "mbps") + CPU_COLUMNS}
            m["errors"] = sum(r["errors"] + r["non2xx"] for r in runs)
            med[target] = m
            print(f"  {target:<9} {fmt(m['rps'], '9.0f')} {fmt(m['p50'], '8.3f')} "
                  f"{fmt(m['p99'], '8.3f')} {fmt(m['mbps'], '7.1f')} {m['errors']:>6} |       "
                  f"{fmt(m['proxy_cpu_pct'], '5.0f')} {fmt(m['backend_cpu_pct'], '7.0f')} "
                  f"{fmt(m['wrk_cpu_pct'], '4.0f')} {fmt(m['load_core_busy_pct'], '9.0f')} "
                  f"{fmt(m['other_cpu_pct'], '5.0f')}")
        if rounds > 1:
            print(f"  spread over the rounds (min-max):")
            for target in [t for t in TARGETS if t in targets] + sorted(set(targets) - set(TARGETS)):
                runs = [parse_wrk(r["wrk_file"]) for r in targets[target]]
                rps = [r["rps"] for r in runs if r["rps"] is not None]
                p99 = [r["p99"] for r in runs if r["p99"] is not None]
                if rps and p99:
                    print(f"  {target:<9} req/s {min(rps):,.0f}-{max(rps):,.0f}  "
                          f"p99 {min(p99):.3f}-{max(p99):.3f} ms")
        tg = med.get("tg-proxy")
        for peer in ("tg-base", "nginx", "haproxy"):
            if tg and peer in med:
                p = med[peer]
                print(f"  tg/{peer:<8} req/s x{fmt(ratio(tg['rps'], p['rps']), '.2f')}  "
                      f"p50 x{fmt(ratio(tg['p50'], p['p50']), '.2f')}  "
                      f"p99 x{fmt(ratio(tg['p99'], p['p99']), '.2f')}")
        for target, m in med.items():
            cpu, other = m["proxy_cpu_pct"], m["other_cpu_pct"]
            if other is not None and other > 10:
                print(f"  note: other processes used {other:.0f}% of a core during the {target} "
                      "runs: its figures are unreliable")
            elif target != "direct" and cpu is not None and cpu < 90:
                print(f"  note: {target} used {cpu:.0f}% of its core: the load side (wrk + "
                      "backend), not the proxy, limits this figure")
            if m["errors"]:
                print(f"  note: {target} had {m['errors']} socket errors or non-2xx responses")


def table_idle(rows):
    if not rows:
        return
    by_target = {}
    for r in rows:
        by_target.setdefault(r["target"], []).append(r)
    rounds = max(len(v) for v in by_target.values())
    print(f"\ncase e: {CASES['e']} ({rows[0]['conns']} connections, median of {rounds} "
          "round(s); RSS = VmRSS from /proc/PID/status; NGINX = its worker, master excluded)")
    print(f"  {'target':<9} {'RSS before KB':>13} {'RSS after KB':>12} {'KB/conn':>8}   all rounds")
    per = {}
    for target in [t for t in TARGETS if t in by_target]:
        runs = by_target[target]
        per[target] = median([num(r["kb_per_conn"]) for r in runs])
        before = median([num(r["rss_before_kb"]) for r in runs])
        after = median([num(r["rss_after_kb"]) for r in runs])
        every = " ".join(format(num(r["kb_per_conn"]), ".3f") for r in runs)
        print(f"  {target:<9} {fmt(before, '13.0f')} {fmt(after, '12.0f')} "
              f"{fmt(per[target], '8.3f')}   {every}")
    for peer in ("tg-base", "nginx", "haproxy"):
        if "tg-proxy" in per and peer in per:
            print(f"  tg/{peer:<8} KB/conn x{fmt(ratio(per['tg-proxy'], per[peer]), '.2f')}")


PROBE_FIELDS = ["vcsw", "ivcsw", "migrations", "syscalls", "recv", "recv_eagain", "send", "epoll_wait",
                "epoll_wait_empty", "epoll_ctl", "futex"]


def table_probe(rows):
    """Medians of run.sh's BENCH_PROBE figures (per request)."""
    if not rows:
        return
    by = {}
    for r in rows:
        by.setdefault((r["case"], r["target"]), []).append(r)
    print("\nper request (BENCH_PROBE; medians over rounds): context switches (vol./invol.), CPU "
          "migrations, system calls")
    heads = {"vcsw": "vol.sw", "ivcsw": "inv.sw", "migrations": "migr", "syscalls": "sysc",
             "recv": "recv", "recv_eagain": "EAGAIN", "send": "send", "epoll_wait": "ep.wait",
             "epoll_wait_empty": "ep.empty", "epoll_ctl": "ep.ctl", "futex": "futex"}
    print(f"  {'case':<4} {'target':<9} " + " ".join(f"{heads[f]:>8}" for f in PROBE_FIELDS))
    for (case, target), runs in sorted(by.items(), key=lambda kv: (kv[0][0], TARGETS.index(kv[0][1])
                                                                   if kv[0][1] in TARGETS else 99)):
        print(f"  {case:<4} {target:<9} " + " ".join(fmt(median([num(r.get(f)) for r in runs]), "8.3f")
                                                     for f in PROBE_FIELDS))


def main(argv):
    if len(argv) == 3 and argv[1] == "line":
        cmd_line(argv[2])
    elif len(argv) == 3 and argv[1] == "table":
        table_runs(load_tsv(os.path.join(argv[2], "runs.tsv")))
        table_idle(load_tsv(os.path.join(argv[2], "idle.tsv")))
        table_probe(load_tsv(os.path.join(argv[2], "probe.tsv")))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
