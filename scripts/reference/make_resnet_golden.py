#!/usr/bin/env python3
"""Reference outputs for SatSeek's ResNet (torchvision layout) backbone.

No ResNet weights can be downloaded here, so this builds a ResNet-50 *layout* (Bottleneck blocks
[3, 4, 6, 3], torchvision key names: conv1, bn1, layerN.M.conv1..3, bnX, downsample.0/1, fc) with a
plain-PyTorch definition (below; no torchvision), random weights and random batch-norm statistics
(so batch-norm folding is exercised), and saves it in torch's zip format. To keep the committed file
small the base width is 4 instead of 64 (the Swift loader reads widths and depths from the tensor
shapes, so the full-size ResNet-50 runs the same code; `--full` writes a full-size random checkpoint
for benchmarks, not committed).

    .venv-ref/bin/python scripts/reference/make_resnet_golden.py          # committed test fixtures
    .venv-ref/bin/python scripts/reference/make_resnet_golden.py --full /tmp/resnet50-random.pth

Outputs: Tests/SatSeekModelsTests/Golden/resnet_w4_random.pth and resnet_reference.json
(L2-normalised 2048/8*... pooled embeddings and fc top-1 of the same images under SatSeek's
preprocessing rule, see make_golden.py).
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
from make_golden import MEAN, STD, preprocess, resolve, sig6_list  # noqa: E402

OUT_DIR = os.path.join("Tests", "SatSeekModelsTests", "Golden")
IMAGES = [
    "../shared/datasets/aid-mini/Port/port_5.jpg",
    "../shared/datasets/aid-mini/Forest/forest_3.jpg",
    "../shared/datasets/rsscn7-mini/aGrass/a001.jpg",
]


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)


class ResNet(nn.Module):
    def __init__(self, layers=(3, 4, 6, 3), width=64, num_classes=1000):
        super().__init__()
        self.inplanes = width
        self.conv1 = nn.Conv2d(3, width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = self._make(width, layers[0])
        self.layer2 = self._make(width * 2, layers[1], 2)
        self.layer3 = self._make(width * 4, layers[2], 2)
        self.layer4 = self._make(width * 8, layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(width * 8 * 4, num_classes)

    def _make(self, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * 4:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes * 4, 1, stride=stride, bias=False),
                                       nn.BatchNorm2d(planes * 4))
        layers = [Bottleneck(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * 4
        layers += [Bottleneck(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def pooled(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(self.avgpool(x), 1)


def randomise(model, seed):
    g = torch.Generator().manual_seed(seed)
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            fan_in = module.weight[0].numel()
            module.weight.data = torch.randn(module.weight.shape, generator=g) * (2.0 / fan_in) ** 0.5
        elif isinstance(module, nn.BatchNorm2d):
            c = module.num_features
            module.weight.data = 0.5 + torch.rand(c, generator=g)
            module.bias.data = 0.2 * torch.randn(c, generator=g)
            module.running_mean.data = 0.2 * torch.randn(c, generator=g)
            module.running_var.data = 0.5 + torch.rand(c, generator=g)
        elif isinstance(module, nn.Linear):
            module.weight.data = torch.randn(module.weight.shape, generator=g) * 0.05
            module.bias.data = 0.1 * torch.randn(module.bias.shape, generator=g)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--full", help="write a full-size (width 64) random ResNet-50 checkpoint here and exit")
    args = parser.parse_args()
    torch.set_num_threads(2)
    if args.full:
        model = ResNet(width=64, num_classes=1000).eval()
        randomise(model, 1)
        torch.save(model.state_dict(), args.full)
        print("wrote", args.full)
        return
    model = ResNet(width=4, num_classes=10).eval()
    randomise(model, 7)
    os.makedirs(OUT_DIR, exist_ok=True)
    ckpt = os.path.join(OUT_DIR, "resnet_w4_random.pth")
    torch.save(model.state_dict(), ckpt)  # zip format (torch >= 1.6)
    images = []
    with torch.no_grad():
        for rel in IMAGES:
            x, _ = preprocess(resolve(rel), 224, MEAN, STD)  # torchvision models use ImageNet statistics
            pooled = model.pooled(x)
            logits = model.fc(pooled)[0]
            emb = torch.nn.functional.normalize(pooled, dim=1)[0]
            images.append({"path": rel, "top1": int(logits.argmax()), "embedding": sig6_list(emb.numpy())})
    out = {"generator": "scripts/reference/make_resnet_golden.py", "torch_version": torch.__version__,
           "checkpoint": os.path.basename(ckpt), "layers": [3, 4, 6, 3], "width": 4, "classes": 10,
           "resolution": 224, "images": images}
    with open(os.path.join(OUT_DIR, "resnet_reference.json"), "w") as f:
        json.dump(out, f)
    print("wrote", ckpt, os.path.getsize(ckpt), "bytes and resnet_reference.json")


if __name__ == "__main__":
    main()
