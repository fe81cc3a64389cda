#!/usr/bin/env python3
"""Write per-step gradients of a small MLP (Fashion-MNIST) as safetensors.

Linear-layer gradients of a batch-B step have rank <= B (issue #11 item 2,
the low-rank prior). Usage (Debian python3 with torch, CPU):
  python3 scripts/mlp-grads.py --out DIR [--steps 3] [--batch 128]
      [--hidden 256] [--data /usr/share/datasets/fashion-mnist] [--seed 0]
Each file DIR/grad-NNNNNN.safetensors holds the float32 gradients of
fc1.weight (H x 784), fc1.bias, fc2.weight (H x H), fc2.bias, fc3.weight
(10 x H), fc3.bias, in that order, after step NNNNNN of plain SGD (lr 0.05).
"""
import argparse, gzip, json, os, struct
import numpy as np
import torch

def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, n = struct.unpack(">II", data[:8])
    if magic == 2051:
        r, c = struct.unpack(">II", data[8:16])
        return np.frombuffer(data, np.uint8, offset=16).reshape(n, r * c)
    return np.frombuffer(data, np.uint8, offset=8)

def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, t in tensors:
        b = np.ascontiguousarray(t, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--every", type=int, default=1, help="write every N-th step")
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(1)
    x = torch.tensor(idx(os.path.join(a.data, "train-images-idx3-ubyte.gz")), dtype=torch.float32) / 255.0
    y = torch.tensor(idx(os.path.join(a.data, "train-labels-idx1-ubyte.gz")).astype(np.int64))
    h = a.hidden
    net = torch.nn.Sequential(torch.nn.Linear(784, h), torch.nn.ReLU(), torch.nn.Linear(h, h), torch.nn.ReLU(), torch.nn.Linear(h, 10))
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    perm = torch.randperm(x.shape[0])
    os.makedirs(a.out, exist_ok=True)
    names = ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"]
    for step in range(a.steps):
        i = perm[(step * a.batch) % x.shape[0]:][:a.batch]
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(x[i]), y[i])
        loss.backward()
        if step % a.every == 0:
            ps = list(net.parameters())
            write_safetensors(os.path.join(a.out, "grad-%06d.safetensors" % step),
                              [(n, p.grad.detach().numpy()) for n, p in zip(names, ps)])
        opt.step()

if __name__ == "__main__":
    main()
