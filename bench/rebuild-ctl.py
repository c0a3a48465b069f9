#!/usr/bin/env python3
"""Helper of bench/rebuild.sh: talks to raidd's control socket (docs/control-protocol.md), takes CPU
snapshots from /proc, and turns the measurements into the tables. Plain python3, no packages.

The control requests are sent here rather than with raidctl because each raidctl start is a JVM
start, about a CPU-second on this 2-vCPU machine, which would compete with the rebuild it measures;
the requests are the same ones raidctl sends ("wait" is raidctl wait's request).

  rebuild-ctl.py call SOCK JSON                       one request; prints the result line
  rebuild-ctl.py status SOCK VOL                      {"t": monotonic s, "volume": VolumeStatus}
  rebuild-ctl.py snap PID                             CPU snapshot (process, its threads, machine)
  rebuild-ctl.py fail SOCK VOL SLOT...                 fails the slots' members, removes them, deletes their files
  rebuild-ctl.py add SOCK VOL NEW...                  adds the new members (rebuilds start at once)
  rebuild-ctl.py rebuild SOCK VOL PID OUT NEW...      adds NEW..., waits for the rebuild; JSON to OUT
  rebuild-ctl.py floor FIO_JSON SNAP0 SNAP1 OUT       summary of the I/O floor run
  rebuild-ctl.py load FIO_JSON OUT [S0 S1 TARGETS]    summary of a foreground run (with rebuild states)
  rebuild-ctl.py table RESULT...                      the markdown tables
"""
import json
import os
import re
import socket
import statistics
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def request(sock, req, on_line=None):
    """Sends one request; returns the final ("ok") line. on_line sees the streamed lines."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock)
    req = dict(req)
    req.setdefault("version", 1)
    s.sendall((json.dumps(req) + "\n").encode())
    buf = b""
    try:
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                raise SystemExit("rebuild-ctl: raidd closed the control connection without a result")
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                msg = json.loads(line)
                if "ok" in msg:
                    if not msg["ok"]:
                        raise SystemExit("rebuild-ctl: raidd refused %s: %s" % (req.get("command"), msg.get("error")))
                    return msg
                if on_line:
                    on_line(msg)
    finally:
        s.close()


def volume_status(sock, vol):
    return request(sock, {"command": "status", "volume": vol})["volumes"][0]


def thread_group(comm):
    if comm.startswith("raidd-member"):
        return "raidd-member (I/O threads)"
    if comm.startswith("raidd-agents"):
        return "raidd-agents (rebuild)"
    if comm.startswith("C2 Compiler"):
        return "C2 compiler"
    if comm.startswith("C1 Compiler"):
        return "C1 compiler"
    if comm.startswith("GC Thread") or comm.startswith("G1 "):
        return "GC"
    return re.sub(r"[-#]?\d*-?$", "", comm)


def stat_ticks(path):
    with open(path) as f:
        text = f.read()
    comm = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state): utime is field 14, stime field 15
    return comm, int(fields[11]) + int(fields[12])


def sched_wait_ns(pid, tid):
    """Nanoseconds the thread spent runnable but waiting for a CPU (schedstat's second field)."""
    try:
        with open("/proc/%s/task/%s/schedstat" % (pid, tid)) as f:
            return int(f.read().split()[1])
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0


def snap(pid):
    out = {"t": time.monotonic(), "threads": {}, "runqueue_ns": 0}
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    idle = cpu[3] + cpu[4]
    out["machine"] = [sum(cpu[:8]) - idle, sum(cpu[:8])]
    out["proc"] = stat_ticks("/proc/%s/stat" % pid)[1] if pid else 0
    if pid:
        for tid in os.listdir("/proc/%s/task" % pid):
            try:
                comm, ticks = stat_ticks("/proc/%s/task/%s/stat" % (pid, tid))
            except (FileNotFoundError, ProcessLookupError):
                continue
            g = thread_group(comm)
            out["threads"][g] = out["threads"].get(g, 0) + ticks
            out["runqueue_ns"] += sched_wait_ns(pid, tid)
    return out


def cpu_delta(s0, s1):
    """Seconds of CPU: the process, its thread groups, the whole machine (busy and capacity)."""
    wall = s1["t"] - s0["t"]
    threads = {g: (s1["threads"].get(g, 0) - s0["threads"].get(g, 0)) / CLK_TCK for g in s1["threads"]}
    return {
        "wall": wall,
        "proc": (s1["proc"] - s0["proc"]) / CLK_TCK,
        "threads": {g: v for g, v in sorted(threads.items(), key=lambda kv: -kv[1]) if v > 0},
        "runqueue": (s1.get("runqueue_ns", 0) - s0.get("runqueue_ns", 0)) / 1e9,
        "machine_busy": (s1["machine"][0] - s0["machine"][0]) / CLK_TCK,
        "machine_capacity": (s1["machine"][1] - s0["machine"][1]) / CLK_TCK,
    }


def cmd_fail(sock, vol, slots):
    members = volume_status(sock, vol)["members"]
    for slot in slots:
        path = [m["path"] for m in members if m["slot"] == int(slot)][0]
        request(sock, {"command": "fail", "volume": vol, "member": slot})
        request(sock, {"command": "remove", "volume": vol, "member": slot})
        os.unlink(path)  # tmpfs space: raidd has let go of it


def cmd_add(sock, vol, paths):
    for p in paths:
        request(sock, {"command": "add", "volume": vol, "path": p})


def cmd_rebuild(sock, vol, pid, out, paths):
    """Idle rebuild: add the new members, then the protocol's wait (raidctl wait) until it returns."""
    samples = []

    def progress(msg):
        v = msg.get("progress")
        if v:
            samples.append({"t": time.monotonic(), "sync": v["sync"],
                            "recovered": [m["recoveredBytes"] for m in v["members"] if m["state"] == "rebuilding"]})

    s0 = snap(pid)
    for p in paths:
        request(sock, {"command": "add", "volume": vol, "path": p})
    t_added = time.monotonic()
    final = request(sock, {"command": "wait", "volume": vol, "intervalMillis": 500}, progress)
    s1 = snap(pid)
    result = {
        "seconds": s1["t"] - s0["t"],
        "add_seconds": t_added - s0["t"],
        "healthy": final.get("healthy"),
        "state": final["volume"]["state"],
        "samples": samples,
        "cpu": cpu_delta(s0, s1),
    }
    with open(out, "w") as f:
        json.dump(result, f)
    print("%.2f" % result["seconds"])
    if not final.get("healthy"):
        raise SystemExit("rebuild-ctl: the rebuild ended with the volume %s, not clean" % result["state"])


def job_cpu_seconds(job):
    return (job["usr_cpu"] + job["sys_cpu"]) / 100.0 * job["job_runtime"] / 1000.0


def cmd_floor(fio_json, snap0, snap1, out):
    with open(fio_json) as f:
        d = json.load(f)
    jobs = d["jobs"]
    wall = max(j["job_runtime"] for j in jobs) / 1000.0
    writers = [j for j in jobs if j["write"]["io_bytes"] > 0]
    written = writers[0]["write"]["io_bytes"]
    with open(snap0) as f:
        s0 = json.load(f)
    with open(snap1) as f:
        s1 = json.load(f)
    result = {
        "seconds": wall,
        "bytes_per_member": written,
        "bytes_per_second": written / wall,
        "fio_cpu": sum(job_cpu_seconds(j) for j in jobs),
        "fio_sys": sum(j["sys_cpu"] / 100.0 * j["job_runtime"] / 1000.0 for j in jobs),
        "cpu": cpu_delta(s0, s1),
        "jobs": [{"name": j["jobname"], "seconds": j["job_runtime"] / 1000.0,
                  "MBps": (j["read"]["io_bytes"] + j["write"]["io_bytes"]) / (j["job_runtime"] / 1000.0) / 1e6}
                 for j in jobs],
    }
    with open(out, "w") as f:
        json.dump(result, f)
    print("%.1f MB/s (%.2f s, fio CPU %.2f s)" % (result["bytes_per_second"] / 1e6, wall, result["fio_cpu"]))


def cmd_load(fio_json, out, s0_path=None, s1_path=None, targets=None, added_after=None, ramp=None):
    with open(fio_json) as f:
        job = json.load(f)["jobs"][0]

    def p99(kind):
        return job[kind]["lat_ns"]["percentile"]["99.000000"] / 1000.0

    result = {
        "iops": job["mixed"]["iops"],
        "p99_us": p99("mixed"),
        "p99_read_us": p99("read"),
        "p99_write_us": p99("write"),
        "p50_us": job["mixed"]["lat_ns"]["percentile"]["50.000000"] / 1000.0,
        "fio_cpu": job_cpu_seconds(job),
    }
    if s0_path:
        with open(s0_path) as f:
            s0 = json.load(f)
        with open(s1_path) as f:
            s1 = json.load(f)
        v0, v1 = s0["volume"], s1["volume"]
        dt = s1["t"] - s0["t"]
        result.update({
            "added_after_seconds": float(added_after),
            "ramp_seconds": float(ramp),
            "rebuild_seconds": dt,
            "rebuild_bytes_per_second": (v1["sync"]["doneBytes"] - v0["sync"]["doneBytes"]) / dt,
            "targets": int(targets),
            # the rebuild ran for the whole measured window: it started within fio's ramp and was
            # still running when fio ended
            "still_rebuilding": v1["sync"]["action"] == "rebuild" and v1["state"] == "rebuilding"
            and float(added_after) < float(ramp),
            "action_at_end": v1["sync"]["action"],
            "done_at_end": v1["sync"]["doneBytes"],
            "total": v1["sync"]["totalBytes"],
            "min_bytes_per_second": v1["rebuildMinBytesPerSecond"],
            "cpu": cpu_delta(s0["snap"], s1["snap"]),
        })
    with open(out, "w") as f:
        json.dump(result, f)
    line = "%.0f IOPS, p99 %.0f us (read %.0f, write %.0f)" % (
        result["iops"], result["p99_us"], result["p99_read_us"], result["p99_write_us"])
    if s0_path:
        line += "; rebuild %.1f MB/s per new member, added %.1f s into fio's %.0f s ramp, %s at the end" % (
            result["rebuild_bytes_per_second"] / 1e6, result["added_after_seconds"], result["ramp_seconds"],
            "still rebuilding" if v1["sync"]["action"] == "rebuild" else "NOT rebuilding")
    print(line)


def fmt_us(us):
    return "%.2f ms" % (us / 1000.0) if us >= 1000 else "%.0f µs" % us


def cmd_table(paths):
    rows = []
    for p in paths:
        with open(p) as f:
            rows.append(json.load(f))
    print("| level | run | floor MB/s | idle rebuild MB/s | ratio | target | load rebuild MB/s | min rate "
          "| p99 idle | p99 under rebuild | ratio | target |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        floor = max(r["floor"], key=lambda x: x["bytes_per_second"])["bytes_per_second"]
        idle = r["member_bytes"] / r["rebuild"]["seconds"]
        ratio = idle / floor
        ld = r["load_rebuild"]
        # The status's doneBytes is already per new member (the mean when several rebuild together).
        per_member = ld["rebuild_bytes_per_second"]
        load_rate = "%.1f" % (per_member / 1e6)
        if not ld["still_rebuilding"]:
            load_rate += " INVALID: rebuild ended during the run"
        min_rate = ld["min_bytes_per_second"]
        # The runner paces 4 MiB steps (RebuildAgent.STEP_BYTES): one step is the window's resolution.
        # Judged per new member, as md's sync_speed_min is (md counts the recovery position, which
        # both members of a RAID-6 double rebuild pass together); so does raidd.
        min_ok = per_member >= min_rate - (4 << 20) / ld["rebuild_seconds"]
        lat_ratio = ld["p99_us"] / r["load_idle"]["p99_us"]
        print("| RAID-%d %s | %s | %.0f | %.0f | %.2f× | ≥ 0.7× %s | %s | %.1f %s | %s | %s | %.2f× | ≤ 2× %s |" % (
            r["level"], r["shape"], r["run"], floor / 1e6, idle / 1e6, ratio, "met" if ratio >= 0.7 else "missed",
            load_rate, min_rate / 1e6, "met" if min_ok else "missed", fmt_us(r["load_idle"]["p99_us"]),
            fmt_us(ld["p99_us"]), lat_ratio, "met" if lat_ratio <= 2 else "missed"))
    print()
    print("Where the time and CPU went (CPU in core-seconds; the machine has %d):" % os.cpu_count())
    print()
    print("| level | run | floor runs s | floor CPU µs/MiB | rebuild s | raidd CPU s | raidd cores | "
          "rebuild CPU µs/MiB | raidd waiting for a CPU | status MB/s per member, median (range) | machine busy | others' CPU "
          "| holes recorded | top raidd threads (CPU s) | p99 degraded, no rebuild | raidd CPU under load: rebuild thread |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        mib = r["member_bytes"] / 1048576.0 * r["targets"]
        fl = r["floor"]
        floor_cpu = statistics.mean(x["fio_cpu"] for x in fl) / mib * 1e6
        rb = r["rebuild"]
        cpu = rb["cpu"]
        rates = [s["sync"]["bytesPerSecond"] for s in rb["samples"] if s["sync"]["bytesPerSecond"] > 0]
        status_rate = "%.0f (%.0f–%.0f)" % tuple(x / 1e6 for x in (
            statistics.median(rates), min(rates), max(rates))) if rates else "?"
        others = cpu["machine_busy"] - cpu["proc"]
        top = ", ".join("%s %.1f" % (g, v) for g, v in list(cpu["threads"].items())[:4])
        lc = r["load_rebuild"]["cpu"]
        agents = lc["threads"].get("raidd-agents (rebuild)", 0)
        print("| RAID-%d | %s | %s | %.0f | %.1f | %.1f | %.2f | %.0f | %.1f s | %s | %.0f %% | %.1f s | %s | %s "
              "| %s | %.2f cores (%.0f µs/MiB) |" % (
            r["level"], r["run"], " / ".join("%.2f" % x["seconds"] for x in fl), floor_cpu, rb["seconds"],
            cpu["proc"], cpu["proc"] / cpu["wall"], cpu["proc"] / mib * 1e6, cpu.get("runqueue", 0), status_rate,
            100.0 * cpu["machine_busy"] / cpu["machine_capacity"], others, r.get("holes", "?"), top,
            fmt_us(r["load_degraded"]["p99_us"]) if "load_degraded" in r else "?", agents / lc["wall"],
            agents / max(1, r["load_rebuild"]["rebuild_bytes_per_second"] * lc["wall"] / 1048576.0) * 1e6))


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    cmd, args = argv[1], argv[2:]
    if cmd == "call":
        print(json.dumps(request(args[0], json.loads(args[1]))))
    elif cmd == "status":
        print(json.dumps({"t": time.monotonic(), "volume": volume_status(args[0], args[1]), "snap": snap(args[2])
                          if len(args) > 2 else None}))
    elif cmd == "snap":
        print(json.dumps(snap(args[0] if args else None)))
    elif cmd == "fail":
        cmd_fail(args[0], args[1], args[2:])
    elif cmd == "add":
        cmd_add(args[0], args[1], args[2:])
    elif cmd == "rebuild":
        cmd_rebuild(args[0], args[1], args[2], args[3], args[4:])
    elif cmd == "floor":
        cmd_floor(*args)
    elif cmd == "load":
        cmd_load(*args)
    elif cmd == "table":
        cmd_table(args)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
