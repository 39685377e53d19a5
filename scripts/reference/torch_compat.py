"""Import before open_clip / transformers / sentence-transformers in the reference scripts.

The PyPI torchvision wheel (needed by open_clip's transforms) has native ops built for PyPI's CUDA torch,
not for the local CPU wheel (torch==2.13.0+cpu); importing it fails while registering their fake kernels.
The reference scripts only use torchvision's Python parts, so skip that registration.

    .venv-ref/bin/pip install --no-deps torchvision==0.28.0
"""
import torch
import torch.library

_register_fake = torch.library.register_fake
torch.library.register_fake = lambda *a, **k: (lambda f: f)
try:
    import torchvision  # noqa: F401
except ImportError:
    pass
finally:
    torch.library.register_fake = _register_fake
