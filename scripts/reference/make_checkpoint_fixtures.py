#!/usr/bin/env python3
"""Generate tiny checkpoint fixtures for SatSeek's checkpoint-reader tests.

Run once from the repository root; the outputs are committed and read by the
Swift tests (SatSeekCheckpointTests), which never run Python themselves:

    .venv-ref/bin/python scripts/reference/make_checkpoint_fixtures.py

Writes into Tests/SatSeekCheckpointTests/Fixtures/:
  tiny_legacy.pth          torch.save(sd, f, _use_new_zipfile_serialization=False)
  tiny_zip.pth             torch.save(sd, f)                   (zip format)
  tiny.safetensors         safetensors.torch.save_file(contiguous clones of sd)
  tiny_wrapped_zip.pth     torch.save({"epoch": 3, "state_dict": subset of sd}, f)
  expected.json            logical contents of every tensor + the wrapped keys

The same state dict appears in all three plain formats. It covers: float32,
float16, bfloat16, float64 and int64 (0-d scalar) tensors; a tensor that is a
slice of another (non-zero storage offset, shared storage with "view.big");
and a transposed (non-contiguous) tensor.

The zip and safetensors outputs are byte-for-byte reproducible; the legacy
format embeds storage keys derived from memory addresses, so its bytes change
on every run (its logical content does not).
"""

import collections
import json
import os
import zipfile

import torch
from safetensors.torch import save_file, load_file

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_DIR = os.path.join("Tests", "SatSeekCheckpointTests", "Fixtures")


def make_state_dict():
    torch.manual_seed(0)
    sd = collections.OrderedDict()  # like model.state_dict()
    sd["conv.weight"] = torch.randn(4, 3, 3, 3, dtype=torch.float32)
    sd["bn.weight"] = torch.rand(4, dtype=torch.float32) + 0.5
    sd["bn.running_mean"] = torch.randn(4, dtype=torch.float32)
    sd["bn.num_batches_tracked"] = torch.tensor(12345, dtype=torch.int64)  # shape []
    sd["half.weight"] = torch.randn(2, 5).to(torch.float16)
    sd["double.weight"] = torch.randn(3, dtype=torch.float64)
    big = torch.arange(24, dtype=torch.float32).reshape(8, 3) * 0.5 - 3.0
    sd["view.weight"] = big[2:5]  # storage offset 6, shares storage with view.big
    sd["view.big"] = big
    sd["t.weight"] = torch.randn(3, 4, dtype=torch.float32).t()  # shape [4,3], strides (1,4)
    sd["bf.weight"] = torch.tensor([1.0, -2.5, 3.140625, 1e-3]).to(torch.bfloat16)
    sd["layers.0.weight"] = torch.randn(2, 2, dtype=torch.float32)
    assert sd["view.weight"].storage_offset() == 6
    assert not sd["t.weight"].is_contiguous()
    return sd


WRAPPED_KEYS = ["conv.weight", "bn.weight", "bn.running_mean", "bn.num_batches_tracked",
                "layers.0.weight"]


def logical_values(t):
    t = t.detach()
    if t.dtype in (torch.float16, torch.bfloat16, torch.float32):
        # exact: every half/bfloat16/float32 value is a double
        return [float(v) for v in t.to(torch.float64).reshape(-1).tolist()]
    if t.dtype == torch.float64:
        return [float(v) for v in t.reshape(-1).tolist()]
    return [int(v) for v in t.reshape(-1).tolist()]


def main():
    os.chdir(REPO_ROOT)
    os.makedirs(OUT_DIR, exist_ok=True)
    sd = make_state_dict()

    p_legacy = os.path.join(OUT_DIR, "tiny_legacy.pth")
    p_zip = os.path.join(OUT_DIR, "tiny_zip.pth")
    p_st = os.path.join(OUT_DIR, "tiny.safetensors")
    p_wrap = os.path.join(OUT_DIR, "tiny_wrapped_zip.pth")

    torch.save(sd, p_legacy, _use_new_zipfile_serialization=False)
    torch.save(sd, p_zip)
    st = {k: v.detach().clone().contiguous() for k, v in sd.items()}
    save_file(st, p_st, metadata={"format": "pt"})
    # plain dicts here (the main files hold an OrderedDict)
    wrapped = {"epoch": 3, "state_dict": {k: sd[k] for k in WRAPPED_KEYS}}
    torch.save(wrapped, p_wrap)

    # ---- verify round trips -------------------------------------------------
    assert not zipfile.is_zipfile(p_legacy)
    assert zipfile.is_zipfile(p_zip) and zipfile.is_zipfile(p_wrap)
    for path in (p_legacy, p_zip):
        back = torch.load(path, map_location="cpu", weights_only=True)
        assert list(back) == list(sd), path
        for k, v in sd.items():
            b = back[k]
            assert b.dtype == v.dtype and b.shape == v.shape and torch.equal(b, v), (path, k)
            assert b.stride() == v.stride() and b.storage_offset() == v.storage_offset(), (path, k)
        assert (back["view.weight"].untyped_storage().data_ptr()
                == back["view.big"].untyped_storage().data_ptr()), path
    back = load_file(p_st)
    assert set(back) == set(sd)
    for k, v in sd.items():
        assert back[k].dtype == v.dtype and torch.equal(back[k], v), k
    wb = torch.load(p_wrap, map_location="cpu", weights_only=True)
    assert wb["epoch"] == 3 and list(wb["state_dict"]) == WRAPPED_KEYS

    # ---- expected.json -------------------------------------------------------
    ptr_names = {}
    for k, v in sd.items():
        ptr_names.setdefault(v.untyped_storage().data_ptr(), []).append(k)
    tensors = []
    for k, v in sd.items():
        shared = [n for n in ptr_names[v.untyped_storage().data_ptr()] if n != k]
        tensors.append({
            "name": k,
            "dtype": str(v.dtype).replace("torch.", ""),
            "shape": list(v.shape),
            # as stored in the .pth files (safetensors always holds contiguous data)
            "stride": list(v.stride()),
            "storage_offset": v.storage_offset(),
            "shares_storage_with": shared,
            "values": logical_values(v),
        })
    with zipfile.ZipFile(p_zip) as z:
        zip_records = sorted(z.namelist())
    expected = {
        "generator": "scripts/reference/make_checkpoint_fixtures.py",
        "torch_version": torch.__version__,
        "files": {
            "tiny_legacy.pth": {"format": "torch-legacy", "tensors": list(sd)},
            "tiny_zip.pth": {"format": "torch-zip", "tensors": list(sd),
                             "zip_records": zip_records},
            "tiny.safetensors": {"format": "safetensors", "tensors": sorted(st),
                                 "metadata": {"format": "pt"}},
            "tiny_wrapped_zip.pth": {"format": "torch-zip", "epoch": 3,
                                     "state_dict_key": "state_dict", "keys": WRAPPED_KEYS},
        },
        "tensors": tensors,
    }
    p_exp = os.path.join(OUT_DIR, "expected.json")
    with open(p_exp, "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    for p in (p_legacy, p_zip, p_st, p_wrap, p_exp):
        print(f"wrote {p} ({os.path.getsize(p)} bytes)")


if __name__ == "__main__":
    main()
