#!/usr/bin/python3
"""PyTorch (CPU) reference for sparktrain's two standard Fashion-MNIST workloads.

    /usr/bin/python3 scripts/bench_torch.py --workload mlp|cnn --epochs E [--threads auto|1|2]
        [--data DIR] [--probe-steps 40] [--out FILE]

The workloads follow conf/fashion-mlp.conf and conf/fashion-cnn.conf:

  mlp  per-feature standardization; 784-512-256-10, ReLU; He init, zero biases; softmax cross-entropy;
       Adam lr 1e-3, betas (0.9, 0.999), eps 1e-8, no weight decay, constant rate; batch 128.
  cnn  per-channel standardization; conv3x3(32)-BN-ReLU-maxpool2, conv3x3(64)-BN-ReLU-maxpool2, flatten,
       FC 3136->128, ReLU, dropout 0.5, FC 128->10; He init; SGD with Nesterov momentum 0.9, peak rate 0.05,
       200-step linear warmup from 0 then cosine decay to 0 over the rest of the run, weight decay 5e-4 on
       conv/linear weights only; per-example random crop (zero pad 2) and horizontal flip (p 0.5), done on the
       batch tensor inside the timed loop.

Every epoch trains on all 60,000 training images (469 steps of 128, the last one 96), reshuffled by a
generator seeded with 42. Test accuracy on the 10,000 test images is measured at the end (eval mode, batches
of 1000) and is not timed.

Threads: OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and MKL_NUM_THREADS only take effect when set before torch is
imported, so every measurement runs in a child process of this script. With --threads auto (the default) one
child per candidate setting (1 or 2 threads, torch's default inter-op pool or set_num_interop_threads(1))
times --probe-steps training steps after 5 warm-up steps; the fastest setting then runs the real measurement.
With --threads 1 or 2 that setting is measured directly (--interop-threads picks the inter-op pool, 0 = torch's
default).

Progress goes to stderr; the last (and only) line on stdout is one JSON object, also written to --out FILE.
A missing or malformed data file is reported as one line `error: <file>: <what>` on stderr, exit status 2.
Only the standard library, numpy and torch are used; torch is imported in the child processes only.
"""

import argparse
import gzip
import json
import math
import os
import resource
import struct
import subprocess
import sys
import time
import zlib

DEFAULT_DATA = "/usr/share/datasets/fashion-mnist"
FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
IMAGE_MAGIC = 0x00000803
LABEL_MAGIC = 0x00000801
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

SEED = 42
BATCH = 128
EVAL_BATCH = 1000
WARMUP_PROBE_STEPS = 5
NUM_CLASSES = 10
MIN_STD = 1e-6  # as the Java trainer's FeatureStats: a smaller std counts as 0 and becomes 1

# cnn schedule (conf/fashion-cnn.conf)
CNN_LR = 0.05
CNN_WARMUP = 200
CNN_MOMENTUM = 0.9
CNN_WEIGHT_DECAY = 5e-4
CROP_PAD = 2


class DataError(Exception):
    def __init__(self, path, what):
        super().__init__(f"{path}: {what}")
        self.path = path
        self.what = what


def die(path, what):
    print(f"error: {path}: {what}", file=sys.stderr)
    sys.exit(2)


# ---------------------------------------------------------------------------------------------------------
# IDX files


def read_idx(path, magic, header_only=False):
    """Reads a gzip IDX file; returns (dims, data bytes or None). Raises DataError on anything wrong."""
    kind = "images" if magic == IMAGE_MAGIC else "labels"
    ndim = 3 if magic == IMAGE_MAGIC else 1
    if not os.path.exists(path):
        raise DataError(path, "no such file")
    if not os.path.isfile(path):
        raise DataError(path, "not a regular file")
    try:
        with gzip.open(path, "rb") as f:
            head = f.read(4)
            if len(head) < 4:
                raise DataError(path, "truncated IDX header")
            (got,) = struct.unpack(">I", head)
            if got != magic:
                raise DataError(path, f"bad magic 0x{got:08x}, expected 0x{magic:08x} (IDX {kind})")
            raw = f.read(4 * ndim)
            if len(raw) < 4 * ndim:
                raise DataError(path, "truncated IDX header")
            dims = struct.unpack(">" + "I" * ndim, raw)
            if header_only:
                return dims, None
            count = 1
            for d in dims:
                count *= d
            data = f.read(count + 1)
    except DataError:
        raise
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(path, f"cannot read: {e}")
    if len(data) != count:
        raise DataError(path, f"{len(data)} data bytes, header says {count}"
                        if len(data) < count else f"more data than the header's {count} bytes")
    return dims, data


def data_paths(data_dir):
    return {k: os.path.join(data_dir, v) for k, v in FILES.items()}


def check_data(data_dir):
    """Cheap header check in the parent, so a bad --data fails before any child starts."""
    p = data_paths(data_dir)
    try:
        if not os.path.isdir(data_dir):
            raise DataError(data_dir, "no such directory")
        for split in ("train", "test"):
            idims, _ = read_idx(p[split + "_images"], IMAGE_MAGIC, header_only=True)
            ldims, _ = read_idx(p[split + "_labels"], LABEL_MAGIC, header_only=True)
            if tuple(idims[1:]) != (28, 28):
                raise DataError(p[split + "_images"], f"images are {idims[1]}x{idims[2]}, expected 28x28")
            if idims[0] != ldims[0]:
                raise DataError(p[split + "_labels"], f"{ldims[0]} labels for {idims[0]} images")
    except DataError as e:
        die(e.path, e.what)


def load_split(np, p, split):
    ipath, lpath = p[split + "_images"], p[split + "_labels"]
    idims, ibytes = read_idx(ipath, IMAGE_MAGIC)
    ldims, lbytes = read_idx(lpath, LABEL_MAGIC)
    if tuple(idims[1:]) != (28, 28):
        raise DataError(ipath, f"images are {idims[1]}x{idims[2]}, expected 28x28")
    if idims[0] != ldims[0]:
        raise DataError(lpath, f"{ldims[0]} labels for {idims[0]} images")
    images = np.frombuffer(ibytes, dtype=np.uint8).reshape(idims[0], 28 * 28)
    labels = np.frombuffer(lbytes, dtype=np.uint8).astype(np.int64)
    if labels.size and int(labels.max()) >= NUM_CLASSES:
        raise DataError(lpath, f"label {int(labels.max())} outside [0, {NUM_CLASSES})")
    # pixels -> float32 in [0, 1]
    x = images.astype(np.float32)
    x /= np.float32(255.0)
    return x, labels


def load_data(np, data_dir, workload):
    """Returns standardized float32 arrays (train x, train y, test x, test y); the statistics come from the
    training split only (per feature for mlp, one mean/std over all pixels for cnn), population std."""
    p = data_paths(data_dir)
    xtr, ytr = load_split(np, p, "train")
    xte, yte = load_split(np, p, "test")
    n = xtr.shape[0]
    chunk = 10000
    # two passes in float64, chunked to keep the peak memory of the measuring process low
    s = np.zeros(784, dtype=np.float64)
    for i in range(0, n, chunk):
        s += xtr[i:i + chunk].sum(axis=0, dtype=np.float64)
    if workload == "mlp":
        mean = s / n
    else:
        mean = np.full(784, s.sum() / (n * 784))
    m2 = np.zeros(784, dtype=np.float64)
    for i in range(0, n, chunk):
        d = xtr[i:i + chunk].astype(np.float64) - mean
        m2 += (d * d).sum(axis=0)
    if workload == "mlp":
        std = np.sqrt(m2 / n)
    else:
        std = np.full(784, math.sqrt(m2.sum() / (n * 784)))
    std[std < MIN_STD] = 1.0
    mean32, inv32 = mean.astype(np.float32), (1.0 / std).astype(np.float32)
    for x in (xtr, xte):
        x -= mean32
        x *= inv32
    return xtr, ytr, xte, yte, float(mean.mean()), float(std.mean())


# ---------------------------------------------------------------------------------------------------------
# child: model, training, probing


def build_model(torch, workload):
    nn = torch.nn
    if workload == "mlp":
        model = nn.Sequential(
            nn.Linear(784, 512), nn.ReLU(),
            nn.Linear(512, 256), nn.ReLU(),
            nn.Linear(256, 10))
    else:
        model = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(128, 10))
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            # He: N(0, 2 / fan_in), fan_in = inputs (dense) or C*k*k (conv); zero bias
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            nn.init.zeros_(m.bias)
    return model


def build_optimizer(torch, workload, model):
    if workload == "mlp":
        return torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)
    # weight decay on conv/linear weights only: biases and BatchNorm's gamma/beta are 1-d
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    return torch.optim.SGD(
        [{"params": decay, "weight_decay": CNN_WEIGHT_DECAY},
         {"params": no_decay, "weight_decay": 0.0}],
        lr=CNN_LR, momentum=CNN_MOMENTUM, nesterov=True)


def cnn_lr(step, total_steps):
    """Linear warmup 0 -> peak over CNN_WARMUP steps (step W gets the peak), then a half cosine from the peak
    to 0 over the remaining total_steps - W steps, 0 afterwards (the Java trainer's Schedules.warmup+cosine)."""
    if step < CNN_WARMUP:
        return CNN_LR * step / CNN_WARMUP
    t, span = step - CNN_WARMUP, total_steps - CNN_WARMUP
    if span <= 0 or t >= span:
        return 0.0
    return CNN_LR * (1 + math.cos(math.pi * t / span)) / 2


class Trainer:
    def __init__(self, torch, workload, xtr, ytr, total_steps):
        self.torch = torch
        self.F = torch.nn.functional
        self.workload = workload
        self.x, self.y = xtr, ytr
        self.n = xtr.shape[0]
        self.total_steps = total_steps
        torch.manual_seed(SEED)  # weights and dropout masks
        self.gen = torch.Generator().manual_seed(SEED)  # shuffling and augmentation
        self.model = build_model(torch, workload)
        self.opt = build_optimizer(torch, workload, self.model)
        self.step = 0
        side = 28 + 2 * CROP_PAD
        self.side = side
        ar = torch.arange(28)
        self.ar = ar
        self.ar_flipped = 27 - ar

    def augment(self, xb):
        """Per example: zero-pad by 2, crop a random 28x28 window, mirror with p 0.5 -- one gather."""
        torch = self.torch
        b = xb.shape[0]
        side = self.side
        padded = self.F.pad(xb, (CROP_PAD, CROP_PAD, CROP_PAD, CROP_PAD)).reshape(b, side * side)
        shift = torch.randint(0, 2 * CROP_PAD + 1, (2, b), generator=self.gen)
        flip = torch.rand(b, generator=self.gen) < 0.5
        rows = shift[0].unsqueeze(1) + self.ar  # (b, 28)
        cols = shift[1].unsqueeze(1) + torch.where(flip.unsqueeze(1), self.ar_flipped, self.ar)  # (b, 28)
        index = (rows.unsqueeze(2) * side + cols.unsqueeze(1)).reshape(b, 28 * 28)
        return padded.gather(1, index).reshape(b, 1, 28, 28)

    def train_step(self, idx):
        xb = self.x.index_select(0, idx)
        yb = self.y.index_select(0, idx)
        if self.workload == "cnn":
            xb = self.augment(xb)
            lr = cnn_lr(self.step, self.total_steps)
            for g in self.opt.param_groups:
                g["lr"] = lr
        loss = self.F.cross_entropy(self.model(xb), yb)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.step += 1
        return loss.detach()

    def batches(self):
        perm = self.torch.randperm(self.n, generator=self.gen)
        for i in range(0, self.n, BATCH):
            yield perm[i:i + BATCH]

    def epoch(self):
        """One timed pass over the training set; returns (seconds, mean loss per example)."""
        torch = self.torch
        self.model.train()
        t0 = time.perf_counter()
        loss_sum = torch.zeros((), dtype=torch.float64)
        for idx in self.batches():
            loss = self.train_step(idx)
            loss_sum += loss.double() * idx.shape[0]
        seconds = time.perf_counter() - t0
        return seconds, loss_sum.item() / self.n

    def probe(self, steps):
        """Steps per second over `steps` training steps, after WARMUP_PROBE_STEPS untimed ones."""
        self.model.train()

        def forever():
            while True:
                yield from self.batches()

        it = forever()
        for _ in range(WARMUP_PROBE_STEPS):
            self.train_step(next(it))
        t0 = time.perf_counter()
        for _ in range(steps):
            self.train_step(next(it))
        return steps / (time.perf_counter() - t0)

    def evaluate(self, xte, yte):
        torch = self.torch
        self.model.eval()
        correct = 0
        with torch.no_grad():
            for i in range(0, xte.shape[0], EVAL_BATCH):
                pred = self.model(xte[i:i + EVAL_BATCH]).argmax(dim=1)
                correct += int((pred == yte[i:i + EVAL_BATCH]).sum())
        return correct / xte.shape[0]


def blas_libraries():
    """The BLAS/LAPACK/OpenMP shared objects mapped into this process (after torch has used them)."""
    found = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 6:
                    name = os.path.basename(parts[-1])
                    if any(k in name.lower() for k in ("blas", "mkl", "gomp", "iomp", "lapack")):
                        if name not in found:
                            found.append(name)
    except OSError:
        pass
    return found


def child_main(args):
    # the thread variables were set by the parent before this interpreter started, i.e. before this import
    import numpy as np
    import torch

    torch.set_num_threads(args.child_threads)
    if args.child_interop > 0:
        torch.set_num_interop_threads(args.child_interop)

    t0 = time.perf_counter()
    try:
        xtr, ytr, xte, yte, mean, std = load_data(np, args.data, args.workload)
    except DataError as e:
        die(e.path, e.what)
    shape = (-1, 784) if args.workload == "mlp" else (-1, 1, 28, 28)
    xtr_t = torch.from_numpy(xtr).reshape(shape)
    xte_t = torch.from_numpy(xte).reshape(shape)
    ytr_t, yte_t = torch.from_numpy(ytr), torch.from_numpy(yte)
    load_seconds = time.perf_counter() - t0

    n = xtr_t.shape[0]
    steps_per_epoch = (n + BATCH - 1) // BATCH
    trainer = Trainer(torch, args.workload, xtr_t, ytr_t, args.epochs * steps_per_epoch)

    info = {
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "env": {k: os.environ.get(k) for k in THREAD_VARS},
        "torch_version": torch.__version__,
    }

    if args.role == "probe":
        sps = trainer.probe(args.probe_steps)
        info["steps_per_second"] = sps
        print(json.dumps(info), flush=True)
        return 0

    epoch_seconds, epoch_losses = [], []
    for e in range(args.epochs):
        seconds, loss = trainer.epoch()
        epoch_seconds.append(seconds)
        epoch_losses.append(loss)
        print(f"[{args.workload}] epoch {e + 1}/{args.epochs}  loss {loss:.4f}  {seconds:.2f} s"
              f"  ({n / seconds:.0f} examples/s)", file=sys.stderr, flush=True)
    t1 = time.perf_counter()
    accuracy = trainer.evaluate(xte_t, yte_t)
    eval_seconds = time.perf_counter() - t1
    print(f"[{args.workload}] test accuracy {accuracy:.4f}", file=sys.stderr, flush=True)

    parallel = torch.__config__.parallel_info()
    backend = next((l.strip() for l in parallel.splitlines() if "parallel backend" in l), None)
    total = sum(epoch_seconds)
    info.update({
        "workload": args.workload,
        "epochs": args.epochs,
        "seconds_per_epoch": total / args.epochs,
        "epoch_seconds": epoch_seconds,
        "examples_per_second": n * args.epochs / total,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "test_accuracy": accuracy,
        "train_loss": epoch_losses[-1],
        "epoch_losses": epoch_losses,
        "train_examples": n,
        "test_examples": int(xte_t.shape[0]),
        "batch_size": BATCH,
        "steps_per_epoch": steps_per_epoch,
        "standardize": {"mode": "feature" if args.workload == "mlp" else "channel",
                        "mean_of_means": mean, "mean_of_stds": std},
        "load_seconds": load_seconds,
        "eval_seconds": eval_seconds,
        "parallel_backend": backend,
        "blas_libraries": blas_libraries(),
        "python": sys.version.split()[0],
    })
    print(json.dumps(info), flush=True)
    return 0


# ---------------------------------------------------------------------------------------------------------
# parent: probing, choosing, measuring


def setting_name(threads, interop):
    return f"threads={threads}" + (f",interop={interop}" if interop > 0 else "")


def run_child(args, role, threads, interop):
    """Runs this script as a child with the thread variables set; returns its JSON (its stderr passes through)."""
    env = dict(os.environ)
    for k in THREAD_VARS:
        env[k] = str(threads)
    cmd = [sys.executable, os.path.abspath(__file__),
           "--workload", args.workload, "--epochs", str(args.epochs), "--data", args.data,
           "--probe-steps", str(args.probe_steps),
           "--_role", role, "--_threads", str(threads), "--_interop", str(interop)]
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        if proc.returncode != 2:  # 2: the child already printed the one-line data error
            print(f"error: {role} child ({setting_name(threads, interop)}) exited with status "
                  f"{proc.returncode}", file=sys.stderr)
        sys.exit(proc.returncode if proc.returncode > 0 else 1)
    lines = [l for l in proc.stdout.splitlines() if l.strip()]
    try:
        return json.loads(lines[-1])
    except (IndexError, ValueError):
        print(f"error: {role} child ({setting_name(threads, interop)}) printed no JSON", file=sys.stderr)
        sys.exit(1)


def parent_main(args):
    check_data(args.data)
    probes = []
    if args.threads == "auto":
        candidates = [(t, i) for t in (1, 2) for i in (0, 1)]
        for threads, interop in candidates:
            r = run_child(args, "probe", threads, interop)
            name = setting_name(threads, interop)
            probes.append({
                "setting": name,
                "threads": threads,
                "interop_requested": interop,
                "interop_threads": r["interop_threads"],
                "env": r["env"],
                "steps_per_second": r["steps_per_second"],
            })
            print(f"[{args.workload}] probe {name:<18} {r['steps_per_second']:8.2f} steps/s"
                  f" (interop pool {r['interop_threads']}, {args.probe_steps} steps)",
                  file=sys.stderr, flush=True)
        best = max(probes, key=lambda p: p["steps_per_second"])
        chosen = best["threads"], best["interop_requested"]
        print(f"[{args.workload}] chosen: {best['setting']}", file=sys.stderr, flush=True)
    else:
        chosen = int(args.threads), args.interop_threads

    result = run_child(args, "measure", *chosen)
    out = {
        "workload": result.pop("workload"),
        "epochs": result.pop("epochs"),
        "seconds_per_epoch": result.pop("seconds_per_epoch"),
        "epoch_seconds": result.pop("epoch_seconds"),
        "examples_per_second": result.pop("examples_per_second"),
        "peak_rss_mib": result.pop("peak_rss_mib"),
        "test_accuracy": result.pop("test_accuracy"),
        "train_loss": result.pop("train_loss"),
        "threads": result.pop("threads"),
        "interop_threads": result.pop("interop_threads"),
        "setting": setting_name(*chosen),
        "threads_mode": "auto" if args.threads == "auto" else "fixed",
        "env": result.pop("env"),
        "probes": probes,
        "probe_steps": args.probe_steps if probes else 0,
        "torch_version": result.pop("torch_version"),
    }
    out.update(result)
    line = json.dumps(out)
    if args.out:
        try:
            with open(args.out, "w") as f:
                f.write(line + "\n")
        except OSError as e:
            print(f"error: {args.out}: cannot write: {e.strerror}", file=sys.stderr)
            return 1
    print(line, flush=True)
    return 0


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workload", required=True, choices=("mlp", "cnn"))
    ap.add_argument("--epochs", required=True, type=int)
    ap.add_argument("--threads", default="auto", choices=("auto", "1", "2"))
    ap.add_argument("--interop-threads", type=int, default=0,
                    help="with --threads 1|2: torch.set_num_interop_threads(N); 0 = torch's default")
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--probe-steps", type=int, default=40)
    ap.add_argument("--out")
    # internal: the child processes
    ap.add_argument("--_role", dest="role", choices=("probe", "measure"), help=argparse.SUPPRESS)
    ap.add_argument("--_threads", dest="child_threads", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--_interop", dest="child_interop", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.epochs < 1:
        ap.error("--epochs must be at least 1")
    if args.probe_steps < 1:
        ap.error("--probe-steps must be at least 1")
    if args.interop_threads < 0:
        ap.error("--interop-threads must be 0 or more")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.role:
        return child_main(args)
    return parent_main(args)


if __name__ == "__main__":
    sys.exit(main())
