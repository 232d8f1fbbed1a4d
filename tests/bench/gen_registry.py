#!/usr/bin/env python3
"""Writes the large registry the control-plane benchmarks load.

    tests/bench/gen_registry.py FILE TENANTS INSTANCES_PER_SERVICE

TENANTS tenants t00000..., one service each (s00000...) with
INSTANCES_PER_SERVICE instances (ids s00000-0..., addresses 10.x.y.z:8080, all
distinct) and one host route per tenant (t00000.example.com). Used by
tests/bench/control_admin.sh and tests/bench/table_stream.sh.
"""
import sys


def main():
    path, tenants, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with open(path, "w") as f:
        f.write("tenants:\n")
        for t in range(tenants):
            f.write(f"  - id: t{t:05d}\n")
        f.write("services:\n")
        n = 0
        for t in range(tenants):
            f.write(f"  - name: s{t:05d}\n    tenant: t{t:05d}\n    instances:\n")
            for i in range(per):
                f.write(f"      - {{ id: s{t:05d}-{i}, address: 10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}:8080 }}\n")
                n += 1
        f.write("routes:\n")
        for t in range(tenants):
            f.write(f"  - name: r{t:05d}\n    match: {{ host: t{t:05d}.example.com, path_prefix: / }}\n"
                    f"    service: s{t:05d}\n")


if __name__ == "__main__":
    main()
