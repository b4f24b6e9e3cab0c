"""Stage (2): audio → FaceParams with FACIAL-GAN (lips, head pose and blinks from speech).

```python
from facial.audio2face import FacialGAN, animate, personalised
model = personalised("PROFILE_DIR", effort="fast")          # generic checkpoint fine-tuned on the speaker
params = animate(model, audio, profile, head_motion=1.0)    # FaceParams at profile.fps
```

- :class:`FacialGAN` — the generator (``from_pretrained`` / ``save_pretrained``), :class:`Discriminator`;
- :func:`animate` — long-audio generation with overlapping seeded windows, smoothing and controls;
- :func:`finetune` / :func:`personalised` — personalisation to one speaker (cached in the profile);
- :class:`FacialGANConfig` and friends — sizes, loss weights, inference settings (``config.json``).
"""
from facial.audio2face.config import (SMOOTHING_PRESETS, FacialGANConfig, FinetuneConfig, InferenceConfig, LossWeights,
                                      SmoothingConfig)
from facial.audio2face.finetune import finetune, personalised
from facial.audio2face.inference import animate
from facial.audio2face.model import Discriminator, FacialGAN

__all__ = ["FacialGAN", "Discriminator", "FacialGANConfig", "LossWeights", "SmoothingConfig", "InferenceConfig", "FinetuneConfig",
           "SMOOTHING_PRESETS", "animate", "finetune", "personalised"]
