"""
Super-resolve a photograph with a shipped model
===============================================

``models.pretrained`` loads a shipped weight file onto any backend; ``super_resolve`` takes
a uint8 image and returns one ``scale`` times larger. Here the x4 WDSR-A model, trained on
scikit-image's photographs, enlarges a held-out one (``coffee``, which it never saw),
against bicubic interpolation of the same low-resolution input.
"""

import matplotlib.pyplot as plt
import numpy as np
from skimage import data

from layerbench import metrics, models
from layerbench.models.bicubic import downscale, upscale

scale = 4
hr = data.coffee()[80:272, 160:352]          # 192 x 192 crop, uint8 RGB
lr = downscale(hr, scale)                    # the degradation the model was trained for
net = models.pretrained("wdsr_a_small_x4", backend="numpy")
sr = net.super_resolve(lr)
bic = np.clip(np.rint(upscale(lr[None], scale)[0]), 0, 255).astype(np.uint8)

scores = {name: metrics.psnr(hr, img) for name, img in (("bicubic", bic), ("WDSR-A x4", sr))}
print({name: round(value, 2) for name, value in scores.items()})

fig, axes = plt.subplots(1, 4, figsize=(12, 3.4))
panels = [("HR", hr), ("LR input", lr), (f"bicubic {scores['bicubic']:.2f} dB", bic),
          (f"WDSR-A x4 {scores['WDSR-A x4']:.2f} dB", sr)]
for ax, (title, img) in zip(axes, panels, strict=True):
    ax.imshow(img, interpolation="nearest")
    ax.set_title(title)
    ax.axis("off")
fig.tight_layout()
plt.show()
