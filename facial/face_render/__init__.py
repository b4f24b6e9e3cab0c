"""Stage (3): face rendering.

- :func:`render_mesh` — rasterise the posed, textured FaceMesh with a z-buffer → :class:`~facial.types.RenderedFaces`
  (input of the neural renderer, :mod:`facial.face2vid`);
- :func:`facial.face_render.eye_map.make_eye_map` — the eye attention map (blink as an image channel);
- :class:`WarpRenderer` — the training-free renderer: speaker footage re-timed and mesh-warped to
  the predicted faces (works from one photo too).
"""
from facial.face_render.eye_map import make_eye_map
from facial.face_render.render import MeshRenderer, render_mesh
from facial.face_render.path_planning import RenderPlan
from facial.face_render.warp import WarpConfig, WarpRenderer

__all__ = ["MeshRenderer", "RenderPlan", "WarpConfig", "WarpRenderer", "make_eye_map", "render_mesh"]
