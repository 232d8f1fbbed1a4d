#!/usr/bin/env python3
"""Writes the large registry the control-plane benchmarks load.

    tests/bench/gen_registry.py PATH TENANTS INSTANCES_PER_SERVICE [TENANTS_PER_FILE]

TENANTS tenants t00000..., one service each (s00000...) with
INSTANCES_PER_SERVICE instances (ids s00000-0..., addresses 10.x.y.z:8080, all
distinct) and one host route per tenant (t00000.example.com). Used by
tests/bench/control_admin.sh and tests/bench/table_stream.sh.

Without TENANTS_PER_FILE, PATH is one YAML file. With it, PATH is a directory
(created) of files part-0000.yaml, ... of at most TENANTS_PER_FILE tenants
each, every file holding its tenants' services and routes: tg-control --config
takes the directory (its *.yaml files, sorted) and refuses a single YAML
document of more than 1,000,000 nodes, which 100,000 tenants in one file
exceed (about 33 nodes per tenant with 2 instances each, 48 with 5).
"""
import os
import sys


def write_part(path, first, last, per):
    with open(path, "w") as f:
        f.write("tenants:\n")
        for t in range(first, last):
            f.write(f"  - id: t{t:05d}\n")
        f.write("services:\n")
        n = first * per
        for t in range(first, last):
            f.write(f"  - name: s{t:05d}\n    tenant: t{t:05d}\n    instances:\n")
            for i in range(per):
                f.write(f"      - {{ id: s{t:05d}-{i}, address: 10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}:8080 }}\n")
                n += 1
        f.write("routes:\n")
        for t in range(first, last):
            f.write(f"  - name: r{t:05d}\n    match: {{ host: t{t:05d}.example.com, path_prefix: / }}\n"
                    f"    service: s{t:05d}\n")


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    path, tenants, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if (tenants * per) >> 24:
        sys.exit("gen_registry: more than 16,777,215 instances do not fit the 10.x.y.z addresses")
    if len(sys.argv) == 4:
        write_part(path, 0, tenants, per)
        return
    per_file = int(sys.argv[4])
    os.makedirs(path, exist_ok=True)
    for part, first in enumerate(range(0, tenants, per_file)):
        write_part(os.path.join(path, f"part-{part:04d}.yaml"), first, min(first + per_file, tenants), per)


if __name__ == "__main__":
    main()
