#!/usr/bin/env python3
"""Peer side of bench/compare-index.sh: data generation and FAISS / hnswlib timings.

  index_peer.py gen  --out DIR [--n 1000000] [--dims 1280] [--queries 1000]
                     [--codes 10000000] [--code-queries 100] [--seed 7]
  index_peer.py export --db CATALOG.satseek --out DIR   (real embeddings from a catalog)
  index_peer.py run  --dir DIR [--threads 2] [--flat-count 0] [--hnsw-count 100000]
                     [--m 16] [--ef-construction 200] [--ef 16 --ef 32 ...] [--k 20] [--batch 64]

Matrix files (*.ssvm): magic "SSVM", uint32 element type (0 float32, 1 uint64),
uint64 rows, uint64 columns, 8 reserved bytes, then row-major little-endian data.
`run` prints one JSON object per engine (faiss, hnswlib) on stdout, same shape as
`satseek bench index --json`.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

HEADER = 32


def write_header(f, dtype_code, rows, cols):
    f.write(b"SSVM")
    f.write(np.array([dtype_code], dtype="<u4").tobytes())
    f.write(np.array([rows, cols], dtype="<u8").tobytes())
    f.write(b"\0" * 8)


def read_matrix(path, max_rows=None):
    with open(path, "rb") as f:
        head = f.read(HEADER)
    assert head[:4] == b"SSVM", f"{path}: not an SSVM file"
    code = int(np.frombuffer(head[4:8], "<u4")[0])
    rows, cols = (int(v) for v in np.frombuffer(head[8:24], "<u8"))
    dtype = np.float32 if code == 0 else np.uint64
    if max_rows:
        rows = min(rows, max_rows)
    return np.memmap(path, dtype=dtype, mode="r", offset=HEADER, shape=(rows, cols))


def gen(args):
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    d, clusters = args.dims, args.clusters
    centres = rng.standard_normal((clusters, d), dtype=np.float32)

    def clustered(count, path):
        with open(path, "wb") as f:
            write_header(f, 0, count, d)
            done = 0
            while done < count:
                n = min(50_000, count - done)
                labels = rng.integers(0, clusters, n)
                x = centres[labels] + args.spread * rng.standard_normal((n, d), dtype=np.float32)
                x /= np.linalg.norm(x, axis=1, keepdims=True)  # unit rows: IP == cosine
                f.write(np.ascontiguousarray(x, dtype="<f4").tobytes())
                done += n
        print(f"wrote {path} ({count}×{d} float32)", file=sys.stderr)

    clustered(args.n, os.path.join(args.out, "vectors.ssvm"))
    clustered(args.queries, os.path.join(args.out, "queries.ssvm"))

    code_centres = rng.integers(0, 2**64, size=args.code_clusters, dtype=np.uint64)

    def codes(count, path):
        with open(path, "wb") as f:
            write_header(f, 1, count, 1)
            done = 0
            while done < count:
                n = min(1_000_000, count - done)
                base = code_centres[rng.integers(0, args.code_clusters, n)]
                flips = rng.integers(0, 2**64, n, dtype=np.uint64)
                for _ in range(2):  # each bit flips with probability 1/8
                    flips &= rng.integers(0, 2**64, n, dtype=np.uint64)
                f.write((base ^ flips).astype("<u8").tobytes())
                done += n
        print(f"wrote {path} ({count}×64-bit codes)", file=sys.stderr)

    codes(args.codes, os.path.join(args.out, "codes.ssvm"))
    codes(args.code_queries, os.path.join(args.out, "code_queries.ssvm"))


def export(args):
    """Real embeddings from a SatSeek catalog (float32 blobs in the embeddings table)."""
    import sqlite3
    con = sqlite3.connect(args.db)
    tables = [r[0] for r in con.execute("select name from sqlite_master where type='table'")]
    table = "embedding" if "embedding" in tables else next(t for t in tables if "embedding" in t.lower())
    cols = [r[1] for r in con.execute(f"pragma table_info({table})")]
    blob = next(c for c in cols if c.lower() in ("vector", "embedding", "data", "values"))
    where = ""
    if "meta" in tables and "modelID" in cols:  # primary embeddings only, not auxiliary kinds
        where = " where modelID = (select value from meta where key = 'modelID')"
    rows = [np.frombuffer(r[0], dtype="<f4") for r in con.execute(f"select {blob} from {table}{where}")]
    x = np.stack(rows).astype(np.float32)
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    os.makedirs(args.out, exist_ok=True)
    q = x[: min(1000, len(x))]
    for name, m in (("vectors.ssvm", x), ("queries.ssvm", q)):
        with open(os.path.join(args.out, name), "wb") as f:
            write_header(f, 0, m.shape[0], m.shape[1])
            f.write(np.ascontiguousarray(m, dtype="<f4").tobytes())
    print(f"exported {x.shape} from {args.db}:{table}.{blob}", file=sys.stderr)


def timed(fn, repeats=1):
    best = float("inf")
    out = None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def run(args):
    import faiss
    import hnswlib

    faiss.omp_set_num_threads(args.threads)
    path = lambda name: os.path.join(args.dir, name)
    results = {"faiss": [], "hnswlib": []}
    meta = {}
    if os.path.exists(path("vectors.ssvm")):
        queries = np.ascontiguousarray(read_matrix(path("queries.ssvm")))
        x = read_matrix(path("vectors.ssvm"), args.flat_count or None)
        n, d = x.shape
        meta.update(flat_count=n, dimensions=d)
        index = faiss.IndexFlatIP(d)
        for start in range(0, n, 100_000):  # add in slices so only one copy is held
            index.add(np.ascontiguousarray(x[start:start + 100_000]))
        k, singles = args.k, min(args.single_queries, len(queries))
        index.search(queries[:1], k)
        t, _ = timed(lambda: [index.search(queries[i:i + 1], k) for i in range(singles)])
        results["faiss"].append(dict(test=f"flat-float32 single k={k}", ms=1000 * t / singles, qps=singles / t, recall=None))
        batch = queries[: args.batch]
        t, _ = timed(lambda: index.search(batch, k), args.repeats)
        results["faiss"].append(dict(test=f"flat-float32 batch{len(batch)} k={k}", ms=1000 * t, qps=len(batch) / t, recall=None))
        del index

        hn = min(args.hnsw_count, n)
        meta["hnsw_count"] = hn
        if hn > 0:
            xs = np.ascontiguousarray(x[:hn])
            hq = queries[: args.hnsw_queries]
            exact = faiss.IndexFlatIP(d)
            exact.add(xs)
            _, truth = exact.search(hq, 10)
            del exact

            def recall(found):
                return float(np.mean([len(set(found[i]) & set(truth[i])) / 10 for i in range(len(hq))]))

            h = faiss.IndexHNSWFlat(d, args.m, faiss.METRIC_INNER_PRODUCT)
            h.hnsw.efConstruction = args.ef_construction
            t, _ = timed(lambda: h.add(xs))
            results["faiss"].append(dict(test=f"hnsw build N={hn}", ms=1000 * t, qps=hn / t, recall=None))
            for ef in args.ef:
                h.hnsw.efSearch = ef
                t, (_, found) = timed(lambda: h.search(hq, 10), args.repeats)
                results["faiss"].append(dict(test=f"hnsw ef={ef} k=10", ms=1000 * t / len(hq), qps=len(hq) / t, recall=recall(found)))
            del h

            g = hnswlib.Index(space="ip", dim=d)
            g.init_index(max_elements=hn, ef_construction=args.ef_construction, M=args.m, random_seed=42)
            t, _ = timed(lambda: g.add_items(xs, np.arange(hn), num_threads=args.threads))
            results["hnswlib"].append(dict(test=f"hnsw build N={hn}", ms=1000 * t, qps=hn / t, recall=None))
            for ef in args.ef:
                g.set_ef(ef)
                t, (found, _) = timed(lambda: g.knn_query(hq, k=10, num_threads=args.threads), args.repeats)
                results["hnswlib"].append(dict(test=f"hnsw ef={ef} k=10", ms=1000 * t / len(hq), qps=len(hq) / t, recall=recall(found)))
            del g, xs
        del x

    if os.path.exists(path("codes.ssvm")):
        codes = read_matrix(path("codes.ssvm"))
        cq = np.ascontiguousarray(read_matrix(path("code_queries.ssvm")))
        nb, words = codes.shape
        meta.update(codes=nb, bits=64 * words)
        b = faiss.IndexBinaryFlat(64 * words)
        for start in range(0, nb, 1_000_000):
            b.add(np.ascontiguousarray(codes[start:start + 1_000_000]).view(np.uint8))
        k, singles = args.k, min(args.single_queries, len(cq))
        cqb = cq.view(np.uint8)
        b.search(cqb[:1], k)
        t, _ = timed(lambda: [b.search(cqb[i:i + 1], k) for i in range(singles)])
        results["faiss"].append(dict(test=f"hamming exhaustive single k={k}", ms=1000 * t / singles, qps=singles / t, recall=None))
        batch = cqb[: args.batch]
        t, _ = timed(lambda: b.search(batch, k), args.repeats)
        results["faiss"].append(dict(test=f"hamming exhaustive batch{len(batch)} k={k}", ms=1000 * t, qps=len(batch) / t, recall=None))

    for engine, rows in results.items():
        print(json.dumps(dict(engine=engine, threads=args.threads, **meta, results=rows)))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    g = sub.add_parser("gen")
    g.add_argument("--out", required=True)
    g.add_argument("--n", type=int, default=1_000_000)
    g.add_argument("--dims", type=int, default=1280)
    g.add_argument("--queries", type=int, default=1000)
    g.add_argument("--clusters", type=int, default=1000)
    g.add_argument("--spread", type=float, default=0.5)
    g.add_argument("--codes", type=int, default=10_000_000)
    g.add_argument("--code-queries", type=int, default=100)
    g.add_argument("--code-clusters", type=int, default=10_000)
    g.add_argument("--seed", type=int, default=7)
    e = sub.add_parser("export")
    e.add_argument("--db", required=True)
    e.add_argument("--out", required=True)
    r = sub.add_parser("run")
    r.add_argument("--dir", required=True)
    r.add_argument("--threads", type=int, default=2)
    r.add_argument("--flat-count", type=int, default=0)
    r.add_argument("--hnsw-count", type=int, default=100_000)
    r.add_argument("--hnsw-queries", type=int, default=1000)
    r.add_argument("--m", type=int, default=16)
    r.add_argument("--ef-construction", type=int, default=200)
    r.add_argument("--ef", type=int, action="append")
    r.add_argument("--k", type=int, default=20)
    r.add_argument("--batch", type=int, default=64)
    r.add_argument("--single-queries", type=int, default=20)
    r.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    if args.command == "run" and not args.ef:
        args.ef = [16, 32, 64, 128, 256]
    {"gen": gen, "export": export, "run": run}[args.command](args)


if __name__ == "__main__":
    main()
