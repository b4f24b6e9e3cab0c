"""Issue #14 on generated videos: the warp renderer on a real clip and on one-shot photos (open and
closed mouth) shows no glitch the ``artifacts`` metrics see — no bright specks at closed-mouth
corners, no blend seams, no flicker — through a lip sweep from wide open to lips pressed past
each other (where the procedural interior used to paint white bars at the corners).
The detectors themselves (real clips score 0, painted glitches are flagged): tests/evaluation/test_artifacts.py."""
import numpy as np
import pytest

from evaluation.metrics import artifacts
from facial.face_render import WarpRenderer, mesh
from facial.speaker import face_model as fm
from facial.speaker.landmarks import track_frames
from facial.types import FaceParams

pytestmark = pytest.mark.shared_data


def lip_sweep(profile, n: int = 40) -> FaceParams:
    """The profile's first pose and its most closed expression, with the inner-lip gap swept (moving
    along the expression directions that part the lips) from 0.085 face heights to −0.015: lips
    pressed past each other."""
    basis = mesh.default_basis()
    k = min(8, basis.k)
    comps = basis.components[:k]
    g = comps[:, fm.LOWER_LIP_INNER, 1] - comps[:, fm.UPPER_LIP_INNER, 1]
    ident = profile.identity
    height = float(np.linalg.norm(ident[fm.CHIN, :2] - ident[fm.FOREHEAD, :2]))
    base = profile.params.expression[int(np.argmin(fm.mouth_opening(profile.landmarks)))]
    shape = ident + basis.expand(base[None])[0]
    gap_base = float(shape[fm.LOWER_LIP_INNER, 1] - shape[fm.UPPER_LIP_INNER, 1])
    gap = height * (0.035 + 0.05 * np.cos(2 * np.pi * np.arange(n) / 20))
    expr = np.repeat(base[None], n, 0).astype(np.float32)
    expr[:, :k] += ((gap - gap_base)[:, None] * g[None, :] / float(g @ g)).astype(np.float32)
    return FaceParams(np.repeat(profile.params.pose[:1], n, 0), expr, np.zeros(n, np.float32), profile.fps)


def scored(frames: np.ndarray) -> dict:
    track = track_frames(iter([frames]), 25.0, progress=False)
    assert track.valid_fraction == 1.0
    return artifacts.score_frames(frames, track.landmarks, track.valid)


def assert_clean(res: dict) -> None:
    for name, value in res.items():
        assert value.is_ok and value.value == 0.0, (name, value.details)
    assert res["mouth_specks"].details["n_closed"] >= 5  # the closed-lip frames were checked


def test_warp_on_a_real_clip_shows_no_glitch(clip_profile, clip_frames):
    r = WarpRenderer(clip_profile, frames=clip_frames)
    params = lip_sweep(clip_profile)
    plan = r.plan(params)
    assert plan.mouth_synthesis.max() > 0  # the procedural interior is exercised
    assert_clean(scored(r.render(params, plan=plan).frames))


@pytest.mark.parametrize("which", ["photo_profile", "closed_photo_profile"])
def test_one_shot_photos_show_no_glitch(which, request):
    profile = request.getfixturevalue(which)
    r = WarpRenderer(profile)
    params = lip_sweep(profile)
    plan = r.plan(params)
    out = r.render(params, plan=plan)
    assert_clean(scored(out.frames))
    if which == "closed_photo_profile":
        assert plan.mouth_synthesis.max() == 1.0  # a closed photo's mouth interior is all synthesised


def test_lips_crossing_at_the_corners_under_a_painted_interior_leave_no_speck(clip_profile, clip_frames):
    # the measured failure (issue #14): FACIAL-GAN's lips slightly open in the middle but pressed
    # past each other near the corners, the procedural interior on; the fold of the inner-lip
    # contour used to be filled with blown-out colour — white bars at both corners
    from facial.face_render.path_planning import RenderPlan

    s = int(np.argmin(fm.mouth_opening(clip_profile.landmarks)))
    target = clip_profile.landmarks[s].copy()
    width = float(np.linalg.norm(target[78, :2] - target[308, :2]))
    u = np.linspace(0.0, 1.0, len(mesh.MOUTH_UPPER))
    bulge = np.sin(np.pi * u)
    inner = slice(1, -1)  # the corners themselves are shared by both contours
    middle = 0.5 * (target[mesh.MOUTH_UPPER, 1] + target[mesh.MOUTH_LOWER, 1])
    target[mesh.MOUTH_UPPER[inner], 1] = (middle - 0.05 * width * bulge + 0.04 * width * (1 - bulge))[inner]
    target[mesh.MOUTH_LOWER[inner], 1] = (middle + 0.05 * width * bulge - 0.04 * width * (1 - bulge))[inner]
    crossed = target[mesh.MOUTH_UPPER, 1] > target[mesh.MOUTH_LOWER, 1]
    assert crossed[1] and crossed[-2] and not crossed[len(crossed) // 2]
    one = np.ones(1, np.float32)
    plan = RenderPlan(np.array([s]), np.array([s]), np.array([-1]), 0 * one, one, one, 0 * one)
    img = WarpRenderer(clip_profile, frames=clip_frames).render_frame(target, plan, 0)
    right, left, _ = artifacts.speck_pixels(img, target)
    assert max(right, left) < 3
