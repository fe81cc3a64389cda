"""Write the PyTorch reference files (*.pt) and what torch reads from them.

Run:  /usr/bin/python3 gen_pt.py [OUTDIR]   (needs torch; made with Debian's
python3-torch 1.13; PyPI's torch 2.x works too). OUTDIR defaults to this
script's folder.

Every file is written by torch.save itself; torch2.pt (written by torch
2.5.1) and torch2_dtypes.pt (torch 2.15.0) only by newer torch. Next to each
X.pt goes X.json: the tensors torch.load gives back, in the order of a depth-first walk of the
loaded object (dict keys and list/tuple indices joined by dots; a tensor
reached twice is listed once), each with its dtype, shape, stride, storage
offset, storage key and its elements' bytes (row-major, little-endian, as
hex). The Go tests read the .pt files and must find exactly these tensors.

malicious.pt is a torch-style zip whose data.pkl calls os.system: the Go
reader must refuse it without running anything (torch.load would run it).
"""
import collections
import json
import os
import sys
import zipfile

import torch

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))

DTYPES = {
    torch.float32: "F32", torch.float64: "F64", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}
for name, code in [("complex64", "C64"), ("float8_e4m3fn", "F8_E4M3"), ("float8_e5m2", "F8_E5M2"),
                   ("float8_e8m0fnu", "F8_E8M0"), ("float8_e4m3fnuz", "F8_E4M3FNUZ"),
                   ("uint16", "U16"), ("uint32", "U32"), ("uint64", "U64")]:
    if hasattr(torch, name):
        DTYPES[getattr(torch, name)] = code


def walk(obj):
    """Yield (name, tensor) depth first, each tensor once."""
    seen = set()

    def rec(v, name):
        if isinstance(v, (dict, list, tuple, torch.Tensor)):
            if id(v) in seen:
                return
            seen.add(id(v))
        if isinstance(v, torch.Tensor):
            yield name, v
        elif isinstance(v, dict):
            for k, x in v.items():
                yield from rec(x, str(k) if name == "" else name + "." + str(k))
        elif isinstance(v, (list, tuple)):
            for i, x in enumerate(v):
                yield from rec(x, str(i) if name == "" else name + "." + str(i))

    yield from rec(obj, "")


def save(name, obj, **kw):
    path = os.path.join(OUT, name + ".pt")
    torch.save(obj, path, **kw)
    # These files are our own; torch's weights_only loader knows fewer
    # opcodes (1.13's has no BINFLOAT, 2.5's no FRAME).
    loaded = torch.load(path, weights_only=False)
    # Storage keys: torch numbers storages in the order it first meets
    # them, which is the order of the walk (data_ptr identifies a storage).
    ptr_key = {}
    tensors = []
    for tname, t in walk(loaded):
        ptr = (t.untyped_storage() if hasattr(t, "untyped_storage") else t.storage()).data_ptr()
        if ptr not in ptr_key:
            ptr_key[ptr] = str(len(ptr_key))
        c = t.detach().contiguous().reshape(-1)
        raw = c.view(torch.uint8)  # the elements' bytes
        tensors.append({
            "name": tname,
            "dtype": DTYPES[t.dtype],
            "shape": list(t.shape),
            "stride": list(t.stride()),
            "offset": t.storage_offset(),
            "storage": ptr_key[ptr],
            "data": bytes(raw.tolist()).hex(),
        })
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        f.write('{"torch": %s, "tensors": [\n' % json.dumps(torch.__version__))
        f.write(",\n".join(json.dumps(t) for t in tensors))
        f.write("\n]}\n")


torch.manual_seed(12)

save("tensor", torch.randn(3, 4))
save("dict", {"weight": torch.randn(4, 3), "bias": torch.randn(4)})

model = torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.LayerNorm(4), torch.nn.Linear(4, 2))
save("state_dict", model.state_dict())

save("nested", {
    "model": collections.OrderedDict([("fc.weight", torch.randn(2, 3)), ("fc.bias", torch.zeros(2))]),
    "grads": [torch.randn(5), (torch.randn(2, 2), torch.ones(1))],
    "step": 200, "lr": 1e-3, "name": "gpt", "flags": (True, None), 3: torch.arange(3.0),
})

save("dtypes", {
    "f32": torch.randn(4), "bf16": torch.randn(5).bfloat16(), "f16": torch.randn(3).half(),
    "f64": torch.randn(2).double(), "i64": torch.arange(6).reshape(2, 3), "i32": torch.arange(3, dtype=torch.int32),
    "u8": torch.arange(7, dtype=torch.uint8), "bool": torch.tensor([True, False, True]),
})

big = torch.randn(6, 5)
save("views", {
    "slice": big[2:4, 1:],          # offset 11, stride (5, 1)
    "transposed": big.t(),          # stride (1, 5)
    "every_other": big[:, ::2],     # non-contiguous, stride (5, 2)
    "row": big[5],                  # offset 25
    "expanded": torch.randn(3, 1).expand(3, 4),  # stride (1, 0)
    "half_slice": torch.randn(8).half()[3:7],
})

save("parameter", torch.nn.Parameter(torch.randn(3, 2)))
save("proto4", {"a": torch.randn(2, 3), "b": [torch.randn(2).bfloat16()]}, pickle_protocol=4)

# A small GPT's gradients, as a training script would save them.
torch.manual_seed(200)
gpt = {}
for i in range(2):
    gpt[f"h.{i}.attn.c_attn.weight"] = torch.randn(16, 48) * 1e-3
    gpt[f"h.{i}.attn.c_attn.bias"] = torch.randn(48) * 1e-4
    gpt[f"h.{i}.mlp.c_fc.weight"] = torch.randn(16, 32) * 1e-3
gpt["wte.weight"] = torch.randn(64, 16) * 1e-3
save("gpt_step000200", gpt)

# torch 2.x only: float8 tensors (an UntypedStorage and _rebuild_tensor_v3
# with a dtype global) and a tensor with a Python attribute
# (_rebuild_from_type_v2). testdata/torch2.pt was written by torch 2.5.1.
if hasattr(torch, "float8_e4m3fn"):
    torch.manual_seed(2)
    tagged = torch.randn(3)
    tagged.note = "clipped"
    save("torch2", {"tagged": tagged, "f8": torch.randn(4).to(torch.float8_e4m3fn),
                    "f8_e5m2": torch.randn(2, 2).to(torch.float8_e5m2), "f32": torch.randn(5)})

# Newer torch only (2.15 wrote testdata/torch2_dtypes.pt): unsigned
# integers and more float8 types, all through _rebuild_tensor_v3.
try:
    torch.manual_seed(3)
    save("torch2_dtypes", {
        "u16": torch.tensor([1, 2, 65535], dtype=torch.int32).to(torch.uint16),
        "u32": torch.tensor([7, 8], dtype=torch.int64).to(torch.uint32),
        "u64": torch.tensor([2**40], dtype=torch.int64).to(torch.uint64),
        "e8m0": torch.rand(4).to(torch.float8_e8m0fnu),
        "e4m3fnuz": torch.randn(3).to(torch.float8_e4m3fnuz),
        "c64": torch.randn(2, dtype=torch.complex64),
        "f32": torch.randn(2, 2),
    })
except (AttributeError, KeyError, RuntimeError):
    # This torch cannot make or save these dtypes: leave no partial file.
    for ext in (".pt", ".json"):
        if os.path.exists(os.path.join(OUT, "torch2_dtypes" + ext)):
            os.remove(os.path.join(OUT, "torch2_dtypes" + ext))

# Malicious: a torch-style archive whose pickle calls os.system on load.
evil = (b"\x80\x02cos\nsystem\nq\x00X\x0a\x00\x00\x00echo pwnedq\x01\x85q\x02Rq\x03.")
with zipfile.ZipFile(os.path.join(OUT, "malicious.pt"), "w", zipfile.ZIP_STORED) as z:
    z.writestr("malicious/data.pkl", evil)
    z.writestr("malicious/version", "3\n")
