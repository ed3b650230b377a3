"""hnswlib peer of hartd's bench (run by `go run ./bench`, not by hand).

Builds an HNSW index (inner product on the unit vectors of the cached data
set; cosine order), or loads it from the cache, then sweeps ef and times one
query at a time on one thread. Prints one JSON object on stdout; progress
goes to stderr.
"""

import argparse
import json
import os
import platform
import sys
import time

import hnswlib
import numpy as np


def log(msg):
    print("  hnswlib: " + msg, file=sys.stderr, flush=True)


def read_fvecs(path, dim):
    raw = np.memmap(path, dtype=np.int32, mode="r")
    rows = raw.reshape(-1, dim + 1)
    if not (rows[:, 0] == dim).all():
        raise SystemExit("%s: not %d-d .fvecs" % (os.path.basename(path), dim))
    return np.ascontiguousarray(rows[:, 1:].view(np.float32))


def read_ivecs(path, width):
    raw = np.fromfile(path, dtype=np.int32)
    return raw.reshape(-1, width + 1)[:, 1:]


def version():
    v = getattr(hnswlib, "__version__", None)
    if v:
        return v
    try:
        from importlib.metadata import version as dist_version

        return dist_version("hnswlib")
    except Exception:  # noqa: BLE001 - any failure means unknown
        return "unknown"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--truth", required=True)
    ap.add_argument("--truth-width", type=int, required=True)
    ap.add_argument("--dim", type=int, required=True)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--M", type=int, default=16)
    ap.add_argument("--efc", type=int, default=64)
    ap.add_argument("--ef", default="10,16,24,32,48,64,96,128,192,256")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--seed", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--index", default="")
    a = ap.parse_args()

    t0 = time.perf_counter()
    data = read_fvecs(a.base, a.dim)
    queries = read_fvecs(a.queries, a.dim)
    truth = read_ivecs(a.truth, a.truth_width)[:, : a.k]
    n = data.shape[0]
    log("read %d base and %d query vectors in %.1f s" % (n, queries.shape[0], time.perf_counter() - t0))

    meta_path = a.index + ".json" if a.index else ""
    want = {"n": n, "dim": a.dim, "M": a.M, "ef_construction": a.efc, "space": "ip", "seed": a.seed, "hnswlib": version()}
    index = hnswlib.Index(space="ip", dim=a.dim)
    cached = False
    build_s, build_threads = 0.0, a.threads
    if a.index and os.path.exists(a.index) and os.path.exists(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)
        if all(meta.get(k) == v for k, v in want.items()):
            t = time.perf_counter()
            index.load_index(a.index, max_elements=n)
            cached = True
            build_s, build_threads = meta["build_s"], meta["build_threads"]
            log("loaded the cached index in %.1f s (built in %.1f s on %d threads)" % (time.perf_counter() - t, build_s, build_threads))
    if not cached:
        index.init_index(max_elements=n, M=a.M, ef_construction=a.efc, random_seed=a.seed)
        index.set_num_threads(a.threads)
        t = time.perf_counter()
        step = max(10000, n // 20)
        for lo in range(0, n, step):
            hi = min(lo + step, n)
            index.add_items(data[lo:hi], np.arange(lo, hi))
            el = time.perf_counter() - t
            log("build %d/%d (%.0f%%), %.1f s" % (hi, n, 100.0 * hi / n, el))
        build_s = time.perf_counter() - t
        log("built in %.1f s on %d threads" % (build_s, a.threads))
        if a.index:
            index.save_index(a.index + ".tmp")
            os.replace(a.index + ".tmp", a.index)
            with open(meta_path, "w") as f:
                json.dump(dict(want, build_s=build_s, build_threads=a.threads), f)

    index.set_num_threads(1)
    nq, k = queries.shape[0], a.k
    points = []
    for ef in [int(x) for x in a.ef.split(",") if x]:
        index.set_ef(max(ef, k))
        for i in range(min(a.warmup, nq)):
            index.knn_query(queries[nq - 1 - i : nq - i], k=k)
        lat = np.empty(nq)
        hits = 0
        for i in range(nq):
            q = queries[i : i + 1]
            t = time.perf_counter_ns()
            labels, _ = index.knn_query(q, k=k)
            lat[i] = time.perf_counter_ns() - t
            hits += len(set(labels[0].tolist()) & set(truth[i].tolist()))
        ms = lat / 1e6
        p = {
            "ef": ef,
            "recall": hits / float(nq * k),
            "p50_ms": float(np.percentile(ms, 50)),
            "p99_ms": float(np.percentile(ms, 99)),
            "mean_ms": float(ms.mean()),
        }
        points.append(p)
        log("ef=%d recall@%d %.3f p50 %.3f ms p99 %.3f ms" % (ef, k, p["recall"], p["p50_ms"], p["p99_ms"]))

    json.dump(
        {
            "version": version(),
            "numpy_version": np.__version__,
            "python_version": platform.python_version(),
            "M": a.M,
            "ef_construction": a.efc,
            "build_s": build_s,
            "build_threads": build_threads,
            "index_cached": cached,
            "points": points,
        },
        sys.stdout,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
