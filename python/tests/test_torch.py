"""torch tensors, state_dicts and .pt files through lmgc."""

import collections
import io

import numpy as np
import pytest

import lmgc


def assert_tensor_equal(torch, a, b):
    assert isinstance(b, torch.Tensor)
    assert a.dtype == b.dtype and a.shape == b.shape
    # bitwise, through same-size integer views (NaN payloads, -0.0)
    view = {torch.float32: torch.int32, torch.float64: torch.int64, torch.float16: torch.int16,
            torch.bfloat16: torch.int16}.get(a.dtype)
    if view is not None:
        assert torch.equal(a.contiguous().view(view), b.contiguous().view(view))
    else:
        assert torch.equal(a, b)


def tensors(torch):
    g = torch.Generator().manual_seed(5)
    return {
        "float32": torch.randn(64, 33, generator=g) * 1e-3,
        "bfloat16": (torch.randn(7, 9, generator=g) * 0.01).to(torch.bfloat16),
        "float16": torch.randn(123, generator=g).to(torch.float16),
        "int64": torch.randint(-2**40, 2**40, (5, 6), generator=g, dtype=torch.int64),
        "float64": torch.randn(3, 2, 2, generator=g, dtype=torch.float64),
        "int8": torch.randint(-128, 127, (50,), generator=g, dtype=torch.int8),
        "bool": torch.rand(10, generator=g) > 0.5,
        "scalar": torch.tensor(2.5),
        "empty": torch.zeros(0, 4),
        "transposed": (torch.randn(8, 5, generator=g)).t(),  # not contiguous
        "float32_special": torch.tensor([0.0, -0.0, float("inf"), float("-inf"), float("nan"), 1e-45]),
    }


@pytest.mark.parametrize("name", ["float32", "bfloat16", "float16", "int64", "float64", "int8", "bool",
                                  "scalar", "empty", "transposed", "float32_special"])
def test_tensor_round_trip(torch, name):
    t = tensors(torch)[name]
    blob = lmgc.compress(t)
    back = lmgc.decompress(blob)
    assert_tensor_equal(torch, t, back)
    seg = [s for s in lmgc.inspect(blob)["original"]["segments"] if s.get("name") == "tensor"]
    if t.numel():
        assert len(seg) == 1 and seg[0].get("shape", []) == list(t.shape)
        # The default prior (fcm) codes float32 and the 16-bit floats; the
        # rest goes to the "other" stream.
        kinds = {torch.float32: "float32le", torch.bfloat16: "float16le", torch.float16: "float16le"}
        assert seg[0]["kind"] == kinds.get(t.dtype, "other")


def test_tensor_requires_grad_and_to_numpy(torch):
    t = torch.randn(10, 10, requires_grad=True)
    back = lmgc.decompress(lmgc.compress(t))
    assert not back.requires_grad
    assert_tensor_equal(torch, t.detach(), back)
    arr = lmgc.decompress(lmgc.compress(t), to="numpy")
    assert isinstance(arr, np.ndarray) and arr.dtype == np.float32
    assert np.array_equal(arr, t.detach().numpy())
    with pytest.raises(TypeError, match="bfloat16"):
        lmgc.decompress(lmgc.compress(t.to(torch.bfloat16)), to="numpy")


def small_model(torch):
    torch.manual_seed(0)
    m = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
        torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 10))
    m(torch.randn(2, 1, 8, 8))  # updates the BatchNorm running stats
    return m


def assert_state_dict_equal(torch, a, b):
    assert list(a) == list(b)
    for k in a:
        assert_tensor_equal(torch, a[k], b[k])


def test_state_dict_round_trip(torch, tmp_path):
    sd = small_model(torch).state_dict()
    assert any(v.dtype == torch.int64 for v in sd.values())  # num_batches_tracked
    blob, stats = lmgc.compress(sd, return_stats=True)
    back = lmgc.decompress(blob)
    assert isinstance(back, collections.OrderedDict)
    assert back._metadata == sd._metadata  # the modules' versions
    assert_state_dict_equal(torch, sd, back)
    assert stats["float_bytes"] == sum(v.numel() * 4 for v in sd.values() if v.dtype == torch.float32)
    # loads into a fresh model
    m2 = small_model(torch)
    m2.load_state_dict(back)
    # mixed precision state_dict, and to files
    half = collections.OrderedDict((k, v.to(torch.bfloat16) if v.is_floating_point() else v) for k, v in sd.items())
    lmgc.save(half, tmp_path / "half.lmgc", prior="cm")
    assert_state_dict_equal(torch, half, lmgc.load(tmp_path / "half.lmgc"))
    # a gradient state_dict
    m = small_model(torch)
    m(torch.randn(4, 1, 8, 8)).sum().backward()
    grads = collections.OrderedDict((n, p.grad) for n, p in m.named_parameters())
    assert_state_dict_equal(torch, grads, lmgc.decompress(lmgc.compress(grads)))


def test_mixed_mapping_is_refused(torch):
    with pytest.raises(TypeError, match="all torch tensors or all numpy arrays"):
        lmgc.compress({"a": torch.zeros(2), "b": np.zeros(2)})
    with pytest.raises(TypeError, match="cannot compress"):
        lmgc.compress([torch.zeros(2)])
    with pytest.raises(TypeError, match="complex128"):
        lmgc.compress(torch.zeros(2, dtype=torch.complex128))


def torch_load(torch, path):
    try:
        return torch.load(path, weights_only=True)  # no code from the file
    except TypeError:  # torch before 1.13
        return torch.load(path)


def test_pt_file_through_the_cli(torch, tmp_path, cli):
    """A .pt made by torch.save, compressed and restored by the lmgc CLI."""
    sd = small_model(torch).state_dict()
    pt = tmp_path / "model.pt"
    torch.save(sd, pt)
    cli("compress", pt, "-o", tmp_path / "model.pt.lmgc")  # read natively as a .pt
    cli("decompress", tmp_path / "model.pt.lmgc", "-o", tmp_path / "back.pt")
    assert (tmp_path / "back.pt").read_bytes() == pt.read_bytes()
    assert_state_dict_equal(torch, sd, torch_load(torch, tmp_path / "back.pt"))


def test_pt_file_through_the_package(torch, tmp_path, cli):
    """A .pt made by torch.save, through compress_file/decompress_file (the
    same bytes as the CLI's) and through compress/decompress of its
    state_dict (re-saved by torch.save to the same bytes)."""
    sd = small_model(torch).state_dict()
    pt = tmp_path / "model.pt"
    torch.save(sd, pt)
    stats = lmgc.compress_file(pt, tmp_path / "model.pt.lmgc", verify=True)
    assert stats["original_bytes"] == pt.stat().st_size and stats.get("verified") is True
    # Read as a .pt: every float32 storage's bytes go through the prior.
    assert stats["float_bytes"] == sum(t.numel() * 4 for t in sd.values() if t.dtype == torch.float32)
    cli("compress", pt, "-o", tmp_path / "cli.lmgc")
    assert (tmp_path / "model.pt.lmgc").read_bytes() == (tmp_path / "cli.lmgc").read_bytes()
    lmgc.decompress_file(tmp_path / "model.pt.lmgc", tmp_path / "back.pt")
    assert (tmp_path / "back.pt").read_bytes() == pt.read_bytes()

    loaded = torch_load(torch, pt)
    back = lmgc.decompress(lmgc.compress(loaded))
    assert type(back) is collections.OrderedDict
    assert_state_dict_equal(torch, sd, back)
    (tmp_path / "again").mkdir()
    torch.save(back, tmp_path / "again" / "model.pt")
    assert (tmp_path / "again" / "model.pt").read_bytes() == pt.read_bytes()


def test_pt_gradient_dict(torch, tmp_path):
    """A plain dict of gradients saved by torch.save comes back as a plain
    dict, and torch.save of it gives the same .pt bytes."""
    m = small_model(torch)
    m(torch.randn(4, 1, 8, 8)).logsumexp(1).sum().backward()
    grads = {n: p.grad for n, p in m.named_parameters()}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    torch.save(grads, tmp_path / "a" / "grad.pt")
    loaded = torch_load(torch, tmp_path / "a" / "grad.pt")
    assert type(loaded) is dict
    lmgc.save(loaded, tmp_path / "grad.lmgc", prior="cm")
    back = lmgc.load(tmp_path / "grad.lmgc")
    assert type(back) is dict
    assert_state_dict_equal(torch, grads, back)
    torch.save(back, tmp_path / "b" / "grad.pt")
    assert (tmp_path / "b" / "grad.pt").read_bytes() == (tmp_path / "a" / "grad.pt").read_bytes()
