"""Stage (4): Rendering-to-Video — mesh renders + eye attention maps → real frames.

- :class:`NeuralRenderer` (``from_pretrained`` / ``save_pretrained`` / ``render`` / ``render_params``)
- :func:`train_renderer` — train one on a speaker profile, logging held-out PSNR/SSIM
- :class:`Face2VidConfig` — sizes and loss weights (``Face2VidConfig.preset(size)``)
"""
from facial.face2vid.networks import Face2VidConfig
from facial.face2vid.renderer import NeuralRenderer
from facial.face2vid.train import ClipTooShortError, train_renderer

__all__ = ["ClipTooShortError", "Face2VidConfig", "NeuralRenderer", "train_renderer"]
