#!/usr/bin/python3
"""PyTorch reference for `lmgc collect` (a check of lmgc, not a dependency).

Trains the reference recipe of hui-po-wang/LM-GC (train_and_collect_grad.py,
utils/models/convnet.py): ConvNet width 128, depth 3, GroupNorm(128, 128)
("instancenorm"), ReLU, 2x2 average pooling, first conv padded by 3 on
28x28 input; SGD lr 0.1, momentum 0.9, weight decay 5e-4, batch 128, mean
cross-entropy, PyTorch's default initialisation. It reads the same data
lmgc does (MNIST idx files of the GoMNIST Go module, CIFAR-10 from
../shared/datasets/cifar10-jpg.tar.gz) and saves the raw minibatch gradient
(after backward, before the optimizer step) in lmgc collect's layout:
grad-NNNNNN.safetensors (one F32 tensor per parameter, PyTorch names, in
parameter order) and grad-NNNNNN.npy (the same floats concatenated, <f4),
NNNNNN the 0-based step as lmgc numbers it. A log.json holds every step's
loss and learning rate.

  torchref.py train --dataset mnist|cifar10 --steps N --every K --seed S --out DIR
                    [--init torch|lmgc] [--order torch|lmgc] [--lr 0.1]
                    [--tmax-epochs 200 | --cosine-run] [--threads T]
  torchref.py fixture --out FILE.safetensors    (the Go test's one-step fixture)
  torchref.py stats DIR...                      (zeros, dead channels, gzip/xz/fpzip)

--init lmgc / --order lmgc reproduce lmgc's own SplitMix64 initialisation,
shuffling and augmentation (train/nn/rng.go, train/train.go), so that the
two programs run the same experiment and differ only in their arithmetic;
the defaults (torch) are the reference's: torch.manual_seed, default
init, a torch.randperm shuffle, RandomCrop(32, padding=4) on the image
(black padding) and RandomHorizontalFlip.

Runs with Debian's python3-torch (1.13, CPU), python3-numpy and, for
CIFAR-10's JPEGs, python3-pil (scripts/setup.sh installs them).
"""

import argparse
import copy
import glob
import gzip
import json
import lzma
import math
import os
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from refdata import default_cifar, load_cifar, load_mnist, load_pixels  # noqa: E402 (the data, torch-free)

M64 = (1 << 64) - 1

MEAN_STD = {
    "mnist": ([0.1307], [0.3081]),
    # lmgc's CIFAR-10 statistics; the reference uses std (0.2023, 0.1994,
    # 0.2010) (--ref-std), which only rescales the first conv's input.
    "cifar10": ([0.4914, 0.4822, 0.4465], [0.2470, 0.2435, 0.2616]),
}
REF_CIFAR_STD = [0.2023, 0.1994, 0.2010]


# ---------------------------------------------------------------- lmgc's RNG


class SplitMix64:
    """train/nn/rng.go, bit for bit."""

    def __init__(self, seed):
        self.s = seed & M64

    def uint64(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & M64
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        return z ^ (z >> 31)

    def float32(self):
        return np.float32(self.uint64() >> 40) * np.float32(1.0 / (1 << 24))

    def intn(self, n):
        thresh = ((1 << 32) - n) % n
        while True:
            m = (self.uint64() >> 32) * n
            if (m & 0xFFFFFFFF) >= thresh:
                return m >> 32

    def perm(self, n):
        p = list(range(n))
        for i in range(n - 1, 0, -1):
            j = self.intn(i + 1)
            p[i], p[j] = p[j], p[i]
        return p

    def block(self, n):
        """The next n outputs of uint64(), vectorised (the state advances by
        a constant, so output i is mix(s + (i+1)·γ))."""
        g = np.uint64(0x9E3779B97F4A7C15)
        with np.errstate(over="ignore"):
            z = np.uint64(self.s) + np.arange(1, n + 1, dtype=np.uint64) * g
            self.s = int(z[-1]) if n > 0 else self.s
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))

    def normal(self, n):
        """nn.RNG.Normal n times: Box-Muller in float64 on two draws each, as float32."""
        u = self.block(2 * n)
        u1 = ((u[0::2] >> np.uint64(11)) + np.uint64(1)).astype(np.float64) / float(1 << 53)
        u2 = (u[1::2] >> np.uint64(11)).astype(np.float64) / float(1 << 53)
        return (np.sqrt(-2 * np.log(u1)) * np.cos(2 * np.pi * u2)).astype(np.float32)

    def uniform(self, n, bound):
        """nn.uniform: (float32(u*2) - 1) * bound, all in float32."""
        u = np.array([self.uint64() >> 40 for _ in range(n)], dtype=np.float32)
        u = u * np.float32(1.0 / (1 << 24))
        return (u * np.float32(2) - np.float32(1)) * np.float32(bound)


# ---------------------------------------------------------------- data


def normalize(xb, mean, std):
    """lmgc's data.Normalize: (float32(v)/255 - mean)/std in float32."""
    x = xb.astype(np.float32) / np.float32(255)
    m = np.array(mean, dtype=np.float32)[None, :, None, None]
    s = np.array(std, dtype=np.float32)[None, :, None, None]
    return (x - m) / s


def crop_flip_lmgc(img, r, pad=4):
    """train.cropFlip on one normalised CHW image: out[y][x] =
    img[y+dy][(flip ? w-1-x : x)+dx], zero outside (normalised space)."""
    c, h, w = img.shape
    dy, dx = r.intn(2 * pad + 1) - pad, r.intn(2 * pad + 1) - pad
    flip = r.intn(2) == 1
    sy = np.arange(h) + dy
    sx = (w - 1 - np.arange(w) if flip else np.arange(w)) + dx
    vy, vx = (sy >= 0) & (sy < h), (sx >= 0) & (sx < w)
    out = np.zeros_like(img)
    out[:, np.nonzero(vy)[0][:, None], np.nonzero(vx)[0][None, :]] = img[:, sy[vy][:, None], sx[vx][None, :]]
    return out


def crop_flip_torch(xb, g, pad=4):
    """RandomCrop(32, padding=4) then RandomHorizontalFlip on uint8 NCHW (black padding)."""
    n, c, h, w = xb.shape
    padded = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=np.uint8)
    padded[:, :, pad : pad + h, pad : pad + w] = xb
    out = np.empty_like(xb)
    offs = torch.randint(0, 2 * pad + 1, (n, 2), generator=g).numpy()
    flips = torch.rand(n, generator=g).numpy() < 0.5
    for i in range(n):
        oy, ox = offs[i]
        v = padded[i, :, oy : oy + h, ox : ox + w]
        out[i] = v[:, :, ::-1] if flips[i] else v
    return out


# ---------------------------------------------------------------- model


def convnet(channel, im_size, classes=10, width=128, depth=3):
    """utils/models/convnet.py with the reference's defaults."""
    layers = []
    c = channel
    hw = 32 if im_size == 28 else im_size
    for d in range(depth):
        layers += [
            nn.Conv2d(c, width, kernel_size=3, padding=3 if channel == 1 and d == 0 else 1),
            nn.GroupNorm(width, width, affine=True),
            nn.ReLU(inplace=True),
            nn.AvgPool2d(kernel_size=2, stride=2),
        ]
        c = width
        hw //= 2

    class ConvNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(*layers)
            self.classifier = nn.Linear(c * hw * hw, classes)

        def forward(self, x):
            out = self.features(x)
            return self.classifier(out.view(out.size(0), -1))

    return ConvNet()


VGG16_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]


def vgg16(classes=10):
    """utils/models/vgg.py VGG('VGG16'): conv3x3(+bias, padding 1) ->
    BatchNorm2d -> ReLU, 2x2 max pooling at 'M', a no-op AvgPool2d(1, 1),
    Linear(512, 10); 3-channel input only (in_channels = 3 is fixed)."""
    layers, c = [], 3
    for v in VGG16_CFG:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(c, v, kernel_size=3, padding=1), nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
            c = v
    layers.append(nn.AvgPool2d(kernel_size=1, stride=1))

    class VGG(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(*layers)
            self.classifier = nn.Linear(512, classes)

        def forward(self, x):
            out = self.features(x)
            return self.classifier(out.view(out.size(0), -1))

    return VGG()


# While _RELU_PROBE is a list, relu() appends a float64 copy of each input
# (relu_margin: how far a batch keeps ResNet18 from ReLU's kink).
_RELU_PROBE = None


def relu(x):
    if _RELU_PROBE is not None:
        _RELU_PROBE.append(x.detach().double().clone())
    return F.relu(x)


class BasicBlock(nn.Module):
    """utils/models/resnet.py BasicBlock with norm 'instancenorm'
    (GroupNorm(planes, planes)), bias-free convs, 1x1 conv + norm shortcut."""

    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.GroupNorm(planes, planes, affine=True)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.GroupNorm(planes, planes, affine=True)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, planes, kernel_size=1, stride=stride, bias=False),
                                          nn.GroupNorm(planes, planes, affine=True))

    def forward(self, x):
        out = relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out = out + self.shortcut(x)
        return relu(out)


class ResNet18(nn.Module):
    """utils/models/resnet.py resnet('resnet18'): conv3x3 stem (no pooling),
    GroupNorm(64, 64), stages 64/128/256/512 x 2 BasicBlocks, avg_pool2d(4),
    Linear 'classifier'."""

    def __init__(self, channel=3, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(channel, 64, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.GroupNorm(64, 64, affine=True)
        cin = 64
        for i, planes in enumerate([64, 128, 256, 512]):
            stride = 1 if i == 0 else 2
            setattr(self, "layer%d" % (i + 1), nn.Sequential(BasicBlock(cin, planes, stride), BasicBlock(planes, planes, 1)))
            cin = planes
        self.classifier = nn.Linear(512, classes)

    def forward(self, x):
        out = relu(self.bn1(self.conv1(x)))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        out = F.avg_pool2d(out, 4)
        return self.classifier(out.view(out.size(0), -1))


# The reference's ViT (utils/models/vit.py, after
# juliusruseckas.github.io/ml/cifar10-vit.html): a convolutional "RelViT",
# not a timm ViT. Module names and parameter order are the reference's.


class Residual(nn.Module):
    def __init__(self, *layers):
        super().__init__()
        self.residual = nn.Sequential(*layers)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return x + self.gamma * self.residual(x)


class LayerNormChannels(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.norm = nn.LayerNorm(channels)

    def forward(self, x):
        return self.norm(x.transpose(1, -1)).transpose(-1, 1)


class SelfAttention2d(nn.Module):
    def __init__(self, cin, cout, head_channels, shape):
        super().__init__()
        self.heads = cout // head_channels
        self.head_channels = head_channels
        self.scale = head_channels ** -0.5
        self.to_keys = nn.Conv2d(cin, cout, 1)
        self.to_queries = nn.Conv2d(cin, cout, 1)
        self.to_values = nn.Conv2d(cin, cout, 1)
        self.unifyheads = nn.Conv2d(cout, cout, 1)
        h, w = shape
        self.pos_enc = nn.Parameter(torch.Tensor(self.heads, (2 * h - 1) * (2 * w - 1)))
        y, x = torch.arange(h), torch.arange(w)
        y1, x1, y2, x2 = torch.meshgrid(y, x, y, x, indexing="ij")
        self.register_buffer("relative_indices", ((y1 - y2 + h - 1) * (2 * w - 1) + x1 - x2 + w - 1).flatten())

    def forward(self, x):
        b, _, h, w = x.shape
        keys = self.to_keys(x).view(b, self.heads, self.head_channels, -1)
        values = self.to_values(x).view(b, self.heads, self.head_channels, -1)
        queries = self.to_queries(x).view(b, self.heads, self.head_channels, -1)
        att = keys.transpose(-2, -1) @ queries
        rel = self.pos_enc.gather(-1, self.relative_indices.expand(self.heads, -1)).unflatten(-1, (h * w, h * w))
        att = F.softmax(att * self.scale + rel, dim=-2)  # over the keys, as the reference
        out = (values @ att).view(b, -1, h, w)
        return self.unifyheads(out)


class AddPositionEmbedding(nn.Module):
    def __init__(self, channels, shape):
        super().__init__()
        self.pos_embedding = nn.Parameter(torch.Tensor(channels, *shape))

    def forward(self, x):
        return x + self.pos_embedding


def relvit(classes=10, image_size=32, channels=256, head_channels=32, num_blocks=8, patch=2, head_p_drop=0.3, hidden=32):
    """ViT(num_classes, image_size) of the reference: ToPatches (conv3x3 3->32,
    GELU, conv 2x2/2 32->256), a learned (256, 16, 16) position embedding,
    8 blocks of Residual(LayerNormChannels, SelfAttention2d with 1x1 convs
    and a relative position bias, 8 heads of 32) and Residual(LayerNormChannels,
    conv1x1 256->1024, GELU, conv1x1 1024->256), each residual scaled by a
    learned gamma initialised to 0; head LayerNormChannels, GELU, global
    average pool, Dropout(0.3), Linear(256, 10). Init: kaiming_normal_
    (fan_in, gain √2) on conv/linear weights, zero biases, N(0, 0.02²) on
    both position tables, gamma 0."""
    shape = (image_size // patch, image_size // patch)
    blocks = []
    for _ in range(num_blocks):
        blocks.append(nn.Sequential(
            Residual(LayerNormChannels(channels), SelfAttention2d(channels, channels, head_channels, shape), nn.Dropout(0.0)),
            Residual(LayerNormChannels(channels), nn.Sequential(nn.Conv2d(channels, 4 * channels, 1), nn.GELU(),
                                                                nn.Conv2d(4 * channels, channels, 1)), nn.Dropout(0.0))))
    model = nn.Sequential(
        nn.Sequential(nn.Sequential(nn.Conv2d(3, hidden, 3, padding=1), nn.GELU(), nn.Conv2d(hidden, channels, patch, stride=patch)),
                      AddPositionEmbedding(channels, shape), nn.Dropout(0.0)),
        nn.Sequential(*blocks),
        nn.Sequential(LayerNormChannels(channels), nn.GELU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                      nn.Dropout(head_p_drop), nn.Linear(channels, classes)))
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.constant_(m.weight, 1.0)
            nn.init.zeros_(m.bias)
        elif isinstance(m, AddPositionEmbedding):
            nn.init.normal_(m.pos_embedding, mean=0.0, std=0.02)
        elif isinstance(m, SelfAttention2d):
            nn.init.normal_(m.pos_enc, mean=0.0, std=0.02)
        elif isinstance(m, Residual):
            nn.init.zeros_(m.gamma)
    return model


def vit_param_groups(model):
    """RelViT.separate_parameters: weight decay 0.1 on conv/linear weights,
    none on biases, LayerNorms, gammas and position tables."""
    decay, no_decay = [], []
    for mname, m in model.named_modules():
        for pname, p in m.named_parameters(recurse=False):
            if isinstance(m, nn.LayerNorm) or pname.endswith("bias") or pname in ("gamma", "pos_embedding", "pos_enc"):
                no_decay.append(p)
            elif isinstance(m, (nn.Conv2d, nn.Linear)):
                decay.append(p)
    assert len(decay) + len(no_decay) == len(list(model.parameters()))
    return [{"params": decay, "weight_decay": 1e-1}, {"params": no_decay, "weight_decay": 0.0}]


def build(arch, channel, im_size, width=128):
    if arch == "convnet":
        return convnet(channel, im_size, width=width)
    if channel != 3 or im_size != 32:
        raise SystemExit("%s: the reference defines it for 3x32x32 input only" % arch)
    return {"vgg16": vgg16, "resnet18": ResNet18, "vit": relvit}[arch]()


def lmgc_init(model, seed):
    """nn.NewConvNet / NewVGG16 / NewResNet18's initialisation: U(±1/√fan_in)
    from SplitMix64(seed), weight then bias (if any), module by module in
    construction order (= PyTorch's module order); norms weight 1, bias 0."""
    r = SplitMix64(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                fan_in = m.weight[0].numel()
                bound = np.float32(1 / math.sqrt(fan_in))
                m.weight.copy_(torch.from_numpy(r.uniform(m.weight.numel(), bound).reshape(m.weight.shape)))
                if m.bias is not None:
                    m.bias.copy_(torch.from_numpy(r.uniform(m.bias.numel(), bound)))
            elif isinstance(m, (nn.GroupNorm, nn.BatchNorm2d)):
                m.weight.fill_(1)
                m.bias.zero_()


def lmgc_init_relvit(model, seed):
    """nn.NewRelViT's initialisation (train/nn/relvit.go) from SplitMix64(seed):
    in construction order, kaiming-normal conv/linear weights
    (float32(√(2/fan_in)·normal)), 0.02·normal position tables (float32),
    pos_enc of each attention before its four convs; biases 0, LayerNorms
    1/0, gammas 0 (no draws)."""
    r = SplitMix64(seed)

    def kaiming(w):
        fan_in = w[0].numel()
        v = (math.sqrt(2 / fan_in) * r.normal(w.numel()).astype(np.float64)).astype(np.float32)
        w.copy_(torch.from_numpy(v.reshape(w.shape)))

    def table(p):
        p.copy_(torch.from_numpy((np.float32(0.02) * r.normal(p.numel())).reshape(p.shape)))

    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, SelfAttention2d):
                table(m.pos_enc)
                for c in (m.to_keys, m.to_queries, m.to_values, m.unifyheads):
                    kaiming(c.weight)
                    c.bias.zero_()
            elif isinstance(m, AddPositionEmbedding):
                table(m.pos_embedding)
            elif isinstance(m, (nn.Conv2d, nn.Linear)):
                if any(m is c for a in model.modules() if isinstance(a, SelfAttention2d)
                       for c in (a.to_keys, a.to_queries, a.to_values, a.unifyheads)):
                    continue
                kaiming(m.weight)
                m.bias.zero_()
            elif isinstance(m, nn.LayerNorm):
                m.weight.fill_(1)
                m.bias.zero_()
            elif isinstance(m, Residual):
                m.gamma.zero_()


# ---------------------------------------------------------------- files


def write_safetensors(path, tensors, meta):
    """tensors: list of (name, float32 ndarray), in order."""
    header, off, blobs = {}, 0, []
    for name, a in tensors:
        b = np.ascontiguousarray(a, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    header["__metadata__"] = {k: str(v) for k, v in meta.items()}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def read_safetensors(path):
    with open(path, "rb") as f:
        b = f.read()
    n = struct.unpack("<Q", b[:8])[0]
    header = json.loads(b[8 : 8 + n])
    meta = header.pop("__metadata__", {})
    out = []
    for name, t in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        a, e = t["data_offsets"]
        assert t["dtype"] == "F32", (path, name, t["dtype"])
        out.append((name, np.frombuffer(b[8 + n + a : 8 + n + e], dtype="<f4").reshape(t["shape"])))
    return out, meta


def save_gradient(out, model, step, meta):
    base = os.path.join(out, "grad-%06d" % step)
    ts = [(n, p.grad.detach().numpy().copy()) for n, p in model.named_parameters()]
    write_safetensors(base + ".safetensors", ts, meta)
    flat = np.concatenate([a.reshape(-1) for _, a in ts]).astype("<f4")
    np.save(base + ".npy.tmp.npy", flat)
    os.replace(base + ".npy.tmp.npy", base + ".npy")


# ---------------------------------------------------------------- train


def cmd_train(a):
    if a.arch == "relvit":
        a.arch = "vit"  # the reference's ViT is a RelViT (lmgc collect --arch relvit)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    if a.pixels:
        xb, y = load_pixels(a.pixels, a.dataset)
    elif a.dataset == "mnist":
        xb, y = load_mnist()
    else:
        xb, y = load_cifar(a.cifar, a.cache)
    mean, std = MEAN_STD[a.dataset]
    if a.dataset == "cifar10" and a.ref_std:
        std = REF_CIFAR_STD
    c, size = xb.shape[1], xb.shape[2]
    if a.arch == "vit":
        if c != 3 or size != 32:
            raise SystemExit("vit: the reference defines it for 3x32x32 input only")
        model = relvit(head_p_drop=a.dropout)
    else:
        model = build(a.arch, c, size)
    if a.init == "lmgc":
        if a.arch == "vit":
            lmgc_init_relvit(model, a.seed)  # lmgc collect --arch relvit
        else:
            lmgc_init(model, a.seed)
    model.train()
    per_epoch = len(y) // a.batch  # lmgc drops the last partial batch
    sched = None
    if a.arch == "vit":
        # The reference: AdamW(lr 1e-3) on two groups, OneCycleLR(max_lr 1e-3,
        # steps_per_epoch len(train_loader) = 391, epochs 200), and
        # scheduler.step() once per *epoch* (train_and_collect_grad.py main):
        # so the lr is OneCycle's start, 1e-3/25 = 4e-5, with beta1 0.95
        # (cycle_momentum), for the whole first epoch.
        opt = torch.optim.AdamW(vit_param_groups(model), lr=1e-3)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-3, steps_per_epoch=-(-len(y) // a.batch), epochs=200)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9, weight_decay=5e-4)
    augment = c == 3
    shuffle = SplitMix64(a.seed ^ 0x5EED)
    g = torch.Generator()
    g.manual_seed(a.seed)
    os.makedirs(a.out, exist_ok=True)
    log = {"arch": a.arch, "dataset": a.dataset, "seed": a.seed, "init": a.init, "order": a.order, "lr": a.lr,
           "steps": a.steps, "batch": a.batch, "torch": torch.__version__, "loss": [], "lr_t": [], "acc": []}
    t0 = time.time()
    perm = None
    for step in range(a.steps):
        epoch, b = divmod(step, per_epoch)
        if b == 0:
            perm = shuffle.perm(len(y)) if a.order == "lmgc" else torch.randperm(len(y), generator=g).tolist()
        idx = perm[b * a.batch : (b + 1) * a.batch]
        if a.order == "lmgc":
            x = normalize(xb[idx], mean, std)
            if augment:
                x = np.stack([crop_flip_lmgc(im, shuffle) for im in x])
        else:
            raw = xb[idx]
            if augment:
                raw = crop_flip_torch(raw, g)
            x = normalize(raw, mean, std)
        if sched is not None:
            if b == 0 and epoch > 0:
                sched.step()
            lr = opt.param_groups[0]["lr"]
        else:
            if a.cosine_run:
                lr = 0.5 * a.lr * (1 + math.cos(math.pi * step / a.steps))
            else:  # CosineAnnealingLR(T_max=tmax) stepped per epoch, as the reference
                lr = 0.5 * a.lr * (1 + math.cos(math.pi * epoch / a.tmax_epochs))
            for pg in opt.param_groups:
                pg["lr"] = lr
        xt, yt = torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y[idx])
        opt.zero_grad()
        out = model(xt)
        loss = F.cross_entropy(out, yt)
        loss.backward()
        lv = loss.item()
        if a.every > 0 and step % a.every == 0:
            save_gradient(a.out, model, step, {"arch": a.arch, "dataset": a.dataset, "step": step,
                                               "epoch": epoch, "seed": a.seed, "batch": a.batch, "loss": repr(lv),
                                               "lr": repr(lr), "note": "torchref.py: raw minibatch gradient of the mean cross-entropy"})
        opt.step()
        log["loss"].append(lv)
        log["lr_t"].append(lr)
        log["acc"].append(float((out.argmax(1) == yt).float().mean()))
        if (step + 1) % a.log_every == 0 or step + 1 == a.steps:
            w = log["loss"][-a.log_every :]
            print("step %d/%d loss %.4f acc %.2f%% lr %.5f %.2f steps/s" % (
                step + 1, a.steps, sum(w) / len(w), 100 * np.mean(log["acc"][-a.log_every :]), lr,
                (step + 1) / (time.time() - t0)), flush=True)
        if not math.isfinite(lv):
            print("diverged at step %d" % step, file=sys.stderr)
            break
    log["seconds"] = time.time() - t0
    with open(os.path.join(a.out, "log.json"), "w") as f:
        json.dump(log, f)


# ---------------------------------------------------------------- fixture


def fixture_step(tensors, case, step, model, opt, x, yl):
    """One training step of a fixture: the batch, PyTorch's loss and
    gradients, and the weights after opt.step(), under CASE/..."""
    tensors.append(("%s/x%d" % (case, step), x.numpy()))
    tensors.append(("%s/y%d" % (case, step), yl.numpy().astype(np.float32)))
    opt.zero_grad()
    loss = F.cross_entropy(model(x), yl)
    loss.backward()
    tensors.append(("%s/loss%d" % (case, step), np.array([loss.item()], dtype=np.float32)))
    for name, p in model.named_parameters():
        tensors.append(("%s/grad%d/%s" % (case, step, name), p.grad.numpy().copy()))
    opt.step()
    for name, p in model.named_parameters():
        tensors.append(("%s/after%d/%s" % (case, step, name), p.detach().numpy().copy()))


def cmd_fixture(a):
    """A small ConvNet step for train/'s Go test: initial weights, two input
    batches and labels, and what PyTorch computes for them: loss and
    gradients of step 0, the weights after its SGD step (lr 0.1, momentum
    0.9, weight decay 5e-4), then loss, gradients and weights of step 1 (so
    momentum and weight decay are in the check too). Two cases: 1x28x28 input
    (padding 3, as MNIST) and 3x32x32 (as CIFAR-10)."""
    torch.manual_seed(a.seed)
    tensors, meta = [], {"note": "scripts/torchref/torchref.py fixture", "torch": torch.__version__}
    for case, (c, size, n) in {"mnist": (1, 28, 6), "cifar": (3, 32, 4)}.items():
        model = convnet(c, size, width=a.width)
        for name, p in model.named_parameters():
            tensors.append(("%s/init/%s" % (case, name), p.detach().numpy().astype(np.float32)))
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
        for step in range(2):
            x = torch.randn(n, c, size, size) * 1.5
            yl = torch.randint(0, 10, (n,))
            fixture_step(tensors, case, step, model, opt, x, yl)
    write_safetensors(a.out, tensors, meta)
    print("wrote %s (%d tensors, %d bytes)" % (a.out, len(tensors), os.path.getsize(a.out)))


FIXTURE_FULL = 64  # tensors up to this many values are stored whole
FIXTURE_SAMPLES = 64  # larger ones by this many values at idx/NAME


def relu_margin(model, x):
    """How many float32 rounding errors the batch x keeps every ReLU input
    of model (ResNet18's relu() calls) away from 0: the smallest, over the
    ReLU calls, of min |input| (float64 forward) / rms(float32 input -
    float64 input). A ReLU input within a few rounding errors of 0 is on
    either side of the kink depending on summation order, and one such
    value moves every gradient below it by ~0.5 % (issue #14's ResNet18
    gap), so a fixture that compares two float32 implementations needs a
    batch with a margin."""
    global _RELU_PROBE
    runs = []
    for dt in (torch.float32, torch.float64):
        m = copy.deepcopy(model).to(dt)
        _RELU_PROBE = []
        try:
            with torch.no_grad():
                m(x.to(dt))
            runs.append(_RELU_PROBE)
        finally:
            _RELU_PROBE = None
    if not runs[1]:
        raise SystemExit("relu_margin: the model has no relu() calls (resnet18 only)")
    return min(float(b.abs().min() / (a - b).pow(2).mean().sqrt().clamp_min(1e-30))
               for a, b in zip(*runs))


def cmd_fixture_arch(a):
    """VGG16 or ResNet18 at full size, initialised as lmgc initialises them
    (lmgc_init, SplitMix64(seed)) so the fixture need not hold 45-60 MB of
    weights: per parameter, the init at sample indices (checks lmgc_init
    against nn's), and for two SGD steps (lr --lr, default 0.01, momentum 0.9,
    weight decay 5e-4; train mode, so batch norm uses batch statistics) on random 3x32x32
    batches: the loss, each gradient's L2 norm and its values, and the
    weights after the step. Tensors of at most FIXTURE_FULL values are
    stored whole, larger ones at FIXTURE_SAMPLES evenly spread indices
    (idx/NAME, float32, exact below 2^24). Not lr 0.1: one step at 0.1 on
    a batch of 3 blows VGG16 up (loss 3.3 -> 67) into a region where a
    relative weight change of 1e-5 moves the next gradient by ~1 %, so
    float32 summation order alone would fail the check. --min-margin M
    (resnet18) redraws each step's batch until relu_margin >= M."""
    torch.manual_seed(a.seed)
    model = build(a.arch, 3, 32)
    lmgc_init(model, a.init_seed)
    model.train()
    tensors = []
    note = "scripts/torchref/torchref.py fixture --arch %s" % a.arch + (" --min-margin %g" % a.min_margin if a.min_margin > 0 else "")
    meta = {"note": note, "torch": torch.__version__,
            "arch": a.arch, "init_seed": str(a.init_seed), "n": str(a.n), "lr": str(a.lr)}
    idx = {}
    for name, p in model.named_parameters():
        n = p.numel()
        if n > FIXTURE_FULL:
            idx[name] = np.array([(i * n) // FIXTURE_SAMPLES + (i * 7919) % max(1, n // FIXTURE_SAMPLES)
                                  for i in range(FIXTURE_SAMPLES)], dtype=np.int64)
            tensors.append(("idx/" + name, idx[name].astype(np.float32)))

    def pick(name, v):
        v = v.detach().reshape(-1).numpy().astype(np.float32)
        return v[idx[name]] if name in idx else v.copy()

    for name, p in model.named_parameters():
        tensors.append(("init/" + name, pick(name, p)))
    tensors.append(("lr", np.array([a.lr], dtype=np.float32)))
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9, weight_decay=5e-4)
    for step in range(2):
        for tries in range(1, a.max_tries + 1):
            x = torch.randn(a.n, 3, 32, 32)
            yl = torch.randint(0, 10, (a.n,))
            if a.min_margin <= 0:
                break
            margin = relu_margin(model, x)
            print("step %d, batch %d: relu margin %.2f" % (step, tries, margin), flush=True)
            if margin >= a.min_margin:
                meta["relu_margin%d" % step] = "%.3f (batch %d drawn)" % (margin, tries)
                break
        else:
            raise SystemExit("no batch with relu margin >= %g in %d draws" % (a.min_margin, a.max_tries))
        tensors.append(("x%d" % step, x.numpy()))
        tensors.append(("y%d" % step, yl.numpy().astype(np.float32)))
        opt.zero_grad()
        loss = F.cross_entropy(model(x), yl)
        loss.backward()
        tensors.append(("loss%d" % step, np.array([loss.item()], dtype=np.float32)))
        for name, p in model.named_parameters():
            tensors.append(("gnorm%d/%s" % (step, name), np.array([p.grad.double().norm().item()], dtype=np.float32)))
            tensors.append(("grad%d/%s" % (step, name), pick(name, p.grad)))
        opt.step()
        for name, p in model.named_parameters():
            tensors.append(("after%d/%s" % (step, name), pick(name, p)))
    write_safetensors(a.out, tensors, meta)
    print("wrote %s (%d tensors, %d bytes)" % (a.out, len(tensors), os.path.getsize(a.out)))


def relvit_onecycle(opt, steps_per_epoch):
    """The reference's schedule: OneCycleLR(max_lr 1e-3, steps_per_epoch,
    epochs 200), stepped once per epoch by train_and_collect_grad.py."""
    return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-3, steps_per_epoch=steps_per_epoch, epochs=200)


def cmd_fixture_relvit(a):
    """The reference's RelViT (relvit(), the same code as the full model) at a
    small size for train/'s Go test: channels 16, 2 heads of 8, 2 blocks,
    patch 2, ToPatches hidden 8, 8x8 input, head dropout 0 (PyTorch's
    dropout mask cannot be replayed; lmgc's is its own seeded stream). Two
    cases, each with PyTorch's full initial weights, two random batches of
    --n and PyTorch's loss, gradients and weights after each AdamW step
    (vit_param_groups: decay 0.1 on conv/linear weights, 0 on the rest):
    "ref": the reference's initialisation (gammas 0) and schedule
    (OneCycleLR with 391 steps per epoch stepped once per epoch: steps 0 and
    1 are epochs 0 and 1), so every gradient inside the blocks is exactly 0
    at step 0; "perturbed": gammas, norms, biases and both position tables
    drawn away from their initial values and lr 1e-3 with beta1 0.9, so
    every path of the backward pass is exercised. Also the schedule's lr
    and beta1 after 0, 1, 2, 100 and 200 epochs (sched/*), and the
    full-size model's parameter names, shapes and groups (metadata)."""
    torch.manual_seed(a.seed)
    tensors = []
    full = relvit()
    decay_ids = {id(p) for p in vit_param_groups(full)[0]["params"]}
    meta = {"note": "scripts/torchref/torchref.py fixture --arch relvit", "torch": torch.__version__,
            "full_names": ",".join(n for n, _ in full.named_parameters()),
            "full_shapes": ";".join("x".join(str(d) for d in p.shape) for _, p in full.named_parameters()),
            "full_decay": ",".join(n for n, p in full.named_parameters() if id(p) in decay_ids),
            "full_params": str(sum(p.numel() for p in full.parameters()))}
    # torchref train --arch vit --init lmgc replays nn.NewRelViT's init:
    # 16 values per tensor of lmgc_init_relvit(full, 1) for the Go test.
    lmgc_init_relvit(full, 1)
    for name, p in full.named_parameters():
        v = p.detach().reshape(-1).numpy()
        idx = np.array([(i * v.size) // 16 + (i * 7919) % max(1, v.size // 16) for i in range(min(16, v.size))], dtype=np.int64)
        tensors.append(("lmgcinit/idx/" + name, idx.astype(np.float32)))
        tensors.append(("lmgcinit/" + name, v[idx].astype(np.float32)))
    del full
    opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
    sched = relvit_onecycle(opt, 391)
    lrs, b1s = [], []
    for e in range(201):
        if e in (0, 1, 2, 100, 200):
            lrs.append(opt.param_groups[0]["lr"])
            b1s.append(opt.param_groups[0]["betas"][0])
        opt.step()
        sched.step()
    tensors.append(("sched/epoch", np.array([0, 1, 2, 100, 200], dtype=np.float32)))
    tensors.append(("sched/lr", np.array(lrs, dtype=np.float32)))
    tensors.append(("sched/beta1", np.array(b1s, dtype=np.float32)))
    for case in ("ref", "perturbed"):
        model = relvit(image_size=8, channels=16, head_channels=8, num_blocks=2, patch=2, head_p_drop=0.0, hidden=8)
        if case == "perturbed":
            with torch.no_grad():
                for name, p in model.named_parameters():
                    if name.endswith("gamma"):
                        p.copy_(torch.randn(1) * 0.7)
                    elif name.endswith("norm.weight"):
                        p.add_(torch.randn(p.shape) * 0.2)
                    elif name.endswith("bias") or name.endswith("pos_embedding"):
                        p.copy_(torch.randn(p.shape) * 0.1)
                    elif name.endswith("pos_enc"):
                        p.copy_(torch.randn(p.shape) * 0.5)
        model.train()
        for name, p in model.named_parameters():
            tensors.append(("%s/init/%s" % (case, name), p.detach().numpy().copy()))
        opt = torch.optim.AdamW(vit_param_groups(model), lr=1e-3)
        sched = relvit_onecycle(opt, 391) if case == "ref" else None
        for step in range(2):
            if sched is not None and step > 0:
                sched.step()
            x = torch.randn(a.n, 3, 8, 8)
            yl = torch.randint(0, 10, (a.n,))
            g = opt.param_groups[0]
            tensors.append(("%s/lr%d" % (case, step), np.array([g["lr"]], dtype=np.float32)))
            tensors.append(("%s/beta1_%d" % (case, step), np.array([g["betas"][0]], dtype=np.float32)))
            fixture_step(tensors, case, step, model, opt, x, yl)
    write_safetensors(a.out, tensors, meta)
    print("wrote %s (%d tensors, %d bytes)" % (a.out, len(tensors), os.path.getsize(a.out)))


# ---------------------------------------------------------------- stats


def fpzip_rate(raw):
    with tempfile.TemporaryDirectory() as d:
        i, o = os.path.join(d, "in"), os.path.join(d, "out")
        with open(i, "wb") as f:
            f.write(raw)
        subprocess.run(["fpzip", "-q", "-t", "float", "-1", str(len(raw) // 4), "-i", i, "-o", o], check=True)
        return os.path.getsize(o) / len(raw)


def cmd_stats(a):
    """Per gradient file: loss, exact zeros (all, per tensor), dead channels
    per conv layer (output channels whose weight gradient is exactly 0),
    and gzip -9 / xz -6 / fpzip rates of the .npy's floats."""
    rows = []
    for d in a.dirs:
        for p in sorted(glob.glob(os.path.join(d, "grad-*.safetensors"))):
            ts, meta = read_safetensors(p)
            flat = np.concatenate([t.reshape(-1) for _, t in ts]).astype("<f4")
            raw = flat.tobytes()
            per = {n: float(np.mean(t == 0)) for n, t in ts}
            dead = {n: int(np.sum(np.all(t.reshape(t.shape[0], -1) == 0, axis=1)))
                    for n, t in ts if t.ndim == 4}
            row = {"file": p, "step": int(meta.get("step", -1)), "loss": float(meta.get("loss", "nan")),
                   "zeros": float(np.mean(flat == 0)), "per_tensor_zeros": per, "dead_channels": dead,
                   "gzip9": len(gzip.compress(raw, 9)) / len(raw),
                   "xz6": len(lzma.compress(raw, preset=6)) / len(raw)}
            if not a.no_fpzip:
                row["fpzip"] = fpzip_rate(raw)
            rows.append(row)
            print("%s step %d loss %.4f zeros %.2f%% dead %s gzip %.2f%% xz %.2f%% fpzip %s" % (
                d, row["step"], row["loss"], 100 * row["zeros"], list(dead.values()), 100 * row["gzip9"],
                100 * row["xz6"], "%.2f%%" % (100 * row["fpzip"]) if "fpzip" in row else "-"), flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--arch", choices=["convnet", "vgg16", "resnet18", "vit", "relvit"], default="convnet",
                   help="vit and relvit: the reference's ViT (a RelViT; lmgc collect --arch relvit)")
    t.add_argument("--dataset", choices=["mnist", "cifar10"], default="mnist")
    t.add_argument("--cifar", default=default_cifar())
    t.add_argument("--cache", default="/tmp/torchref", help="where decoded CIFAR-10 is cached")
    t.add_argument("--pixels", help="train on these decoded pixels (lmgc collect --export-data F.npz) instead of decoding the data here")
    t.add_argument("--steps", type=int, default=600)
    t.add_argument("--every", type=int, default=200)
    t.add_argument("--seed", type=int, default=1)
    t.add_argument("--batch", type=int, default=128)
    t.add_argument("--lr", type=float, default=0.1)
    t.add_argument("--tmax-epochs", type=int, default=200, help="CosineAnnealingLR T_max in epochs (the reference: 200)")
    t.add_argument("--cosine-run", action="store_true", help="cosine per step over the run (lmgc's default schedule)")
    t.add_argument("--init", choices=["torch", "lmgc"], default="torch")
    t.add_argument("--order", choices=["torch", "lmgc"], default="torch")
    t.add_argument("--ref-std", action="store_true", help="CIFAR-10 std (0.2023, 0.1994, 0.2010) as the reference")
    t.add_argument("--dropout", type=float, default=0.3,
                   help="vit: head dropout (the reference: 0.3; 0 to compare step by step with lmgc collect --arch relvit --dropout 0)")
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--log-every", type=int, default=50)
    t.add_argument("--out", required=True)
    f = sub.add_parser("fixture")
    f.add_argument("--out", required=True)
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--width", type=int, default=8)
    f.add_argument("--arch", choices=["convnet", "vgg16", "resnet18", "relvit"], default="convnet",
                   help="vgg16/resnet18: full-size model with lmgc's initialisation (see cmd_fixture_arch); "
                        "relvit: the reference's ViT at a small size (see cmd_fixture_relvit)")
    f.add_argument("--init-seed", type=int, default=1, help="vgg16/resnet18: nn.NewRNG seed of the initialisation")
    f.add_argument("--n", type=int, default=3, help="vgg16/resnet18: batch size")
    f.add_argument("--lr", type=float, default=0.01, help="vgg16/resnet18: SGD learning rate")
    f.add_argument("--min-margin", type=float, default=0,
                   help="resnet18: redraw a step's batch until every ReLU input is this many float32 rounding errors from 0")
    f.add_argument("--max-tries", type=int, default=500, help="resnet18: batches drawn at most per step for --min-margin")
    s = sub.add_parser("stats")
    s.add_argument("dirs", nargs="+")
    s.add_argument("--json")
    s.add_argument("--no-fpzip", action="store_true")
    a = ap.parse_args()
    if a.cmd == "fixture" and a.arch == "relvit":
        cmd_fixture_relvit(a)
        return
    if a.cmd == "fixture" and a.arch != "convnet":
        cmd_fixture_arch(a)
        return
    {"train": cmd_train, "fixture": cmd_fixture, "stats": cmd_stats}[a.cmd](a)


if __name__ == "__main__":
    main()
