"""Configuration of FACIAL-GAN: every size, weight and inference knob, saved as ``config.json``.

The dataclasses here travel with the weights (:meth:`FacialGANConfig.to_dict` /
:meth:`FacialGANConfig.from_dict`), so a checkpoint always rebuilds the network it was trained as.
Defaults follow the reference implementation where it is documented (group length T = 128,
32-d context latent, the loss weights of the fine-tuning script); sizes that the reference fixes
for BFM + DeepSpeech (71 parameters, 16 × 29 audio windows) follow our face model and audio
encoder instead (7 + K parameters, log-mel windows).
"""
from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field
from typing import Any

from facial.audio.features import LogMelEncoder
from facial.layout import ParamLayout


@dataclass
class LossWeights:
    """Weights of the generator loss terms (reference values from the FACIAL fine-tuning script).

    All parameter terms are computed in normalised units: pose z-scored per clip, blink and
    expression z-scored with the training-set statistics stored in the checkpoint.
    """

    first_frame: float = 10.0      # L1 between the first predicted frame and the seed frame
    expression: float = 20.0       # MSE on expression coefficients
    expression_diff: float = 200.0  # MSE on their temporal differences
    blink: float = 0.5
    blink_diff: float = 1.0
    pose: float = 1.0
    pose_diff: float = 10.0
    adversarial: float = 0.1       # LSGAN generator term
    mouth: float = 10.0            # mouth-landmark MSE through the face model (ours; the paper's "lip" term)
    sync: float = 0.0              # lip-sync expert loss (facial.sync_expert.loss; opt-in, 0 = off)
    #: folder (or Hub repo id) of the landmark expert the sync term uses; None = the shipped one
    #: (``facial/assets/sync_expert``). A speaker-disjoint evaluation points it at an expert that never
    #: saw the held-out speakers; fine-tuning a checkpoint reuses the expert it was trained with.
    sync_expert: str | None = None


@dataclass
class SmoothingConfig:
    """Post-processing filters applied after generation (see :mod:`facial.audio2face.smoothing`).

    ``expression_window`` / ``expression_order``: Savitzky–Golay filter over each expression
    coefficient (0 = off). ``pose_sigma``: Gaussian filter over each pose track, in frames (0 = off).
    ``blink_window``: Savitzky–Golay window on the raw blink track before blink control (0 = off).
    """

    name: str = "reference"
    expression_window: int = 7
    expression_order: int = 3
    pose_sigma: float = 1.0
    blink_window: int = 0
    blink_order: int = 2


SMOOTHING_PRESETS: dict[str, SmoothingConfig] = {
    "reference": SmoothingConfig(),  # FACIAL's test-time filters: Savitzky–Golay (7, 3), Gaussian σ = 1 on pose
    "none": SmoothingConfig(name="none", expression_window=0, pose_sigma=0.0),
    "light": SmoothingConfig(name="light", expression_window=5, expression_order=3, pose_sigma=0.5),
    "strong": SmoothingConfig(name="strong", expression_window=11, expression_order=3, pose_sigma=2.0),
    # FACIAL's expression filter with a wider pose Gaussian: the packaged checkpoint's default. With
    # σ = 1 its head turned 1.7× faster than real footage (frame-to-frame jitter); σ = 2 matches the
    # real angular speed within ~10 % on dev clips while keeping ~90 % of the pose spread.
    "natural": SmoothingConfig(name="natural", pose_sigma=2.0),
}


@dataclass
class InferenceConfig:
    """How :func:`facial.audio2face.animate` turns network outputs into FaceParams.

    - ``overlap``: frames shared by consecutive windows on long audio; each window is seeded with
      the previous window's prediction at its first frame and the shared frames are cross-faded.
    - ``smoothing``: name of a :data:`SMOOTHING_PRESETS` entry used when ``animate`` gets none.
    - ``blink_control``: resample blink events to a target rate (the speaker's own by default);
      the network's blink output serves as the propensity of a blink at each frame.
    - ``blink_threshold``: a frame with blink above this is "closed" (same as
      :func:`facial.speaker.blink.detect_blinks`).
    - ``blink_min_gap_s``: minimum time between two generated blinks.
    - ``blink_default_duration_s``: length of the generated blink when the speaker's clip has none.
    - ``blink_template_half_s``: half-length of the blink template cut around each real blink.
    - ``blink_baseline_fraction``: the network's sub-threshold lid motion is kept up to this
      fraction of ``blink_threshold``.
    - ``blink_sharpness``: exponent on the propensity when sampling blink times (0 = uniform).
    - ``max_pose_gain``: upper bound of the calibrated pose gain (see ``pose_gain`` in the model).
    - ``motion_calibration``: calibrate the generated head motion to the speaker's own footage
      (spread over a window as long as the speech, and angular speed; see
      :func:`facial.audio2face.controls.match_head_motion`). With the model's default smoothing the
      pose smoothing σ is chosen by the calibration; an explicit smoothing keeps its σ. Off: the
      ``pose_gain`` path alone (the previous behaviour).
    - ``motion_max_gain``: upper bound of the calibration's per-axis gain.
    - ``min_stats_s``: a profile shorter than this has no reliable statistics of its own; the
      model's typical pose spread and ``default_blink_rate_per_min`` are used instead.
    - ``default_blink_rate_per_min``: conversational blink rate (Bentivoglio et al. 1997: 26/min).
    - ``pose_std_floor``: lower bound of a pose std, relative (rotation in radians; translation and
      scale as a fraction of the mean scale), so a still clip does not divide by zero.
    """

    overlap: int = 16
    smoothing: str = "reference"
    blink_control: bool = True
    blink_threshold: float = 0.5
    blink_min_gap_s: float = 1.0
    blink_default_duration_s: float = 0.24
    blink_template_half_s: float = 0.24
    blink_baseline_fraction: float = 0.6
    blink_sharpness: float = 2.0
    max_pose_gain: float = 8.0
    motion_calibration: bool = True
    motion_max_gain: float = 25.0
    min_stats_s: float = 4.0
    default_blink_rate_per_min: float = 26.0
    pose_std_floor: float = 1e-3


@dataclass
class EffortBudget:
    """Budget of one fine-tuning effort: stop at ``steps`` or ``max_seconds``, whichever comes first."""

    steps: int
    max_seconds: float
    batch_size: int
    adversarial: bool


@dataclass
class FinetuneConfig:
    """Personalisation presets (``effort``) used by :func:`facial.audio2face.personalised`.

    ``fast`` is sized for the app (a 10 s clip in well under 30 s on a 2-core CPU: small batches,
    no discriminator); ``full`` follows the reference more closely (adversarial term on, more steps).
    Windows start at every frame (``stride`` 1, as in the reference fine-tuning script).
    ``num_threads``: torch CPU threads the ``facial finetune`` / ``facial animate`` commands use when
    ``--threads`` is not given (0 = leave torch's default). The library never sets it: thread counts
    are process-wide, so only entry points set them (the app: ``FACIAL_THREADS``, default 1). The
    batches are small, and on a shared 2-core machine two threads were measured 4× slower than one.
    ``freeze_audio``: fine-tune everything but the audio encoders (the frame encoder and the context
    branch's input convolutions), so the speaker's few seconds adapt the mapping, not the features.
    ``augment``: the pretraining's audio-feature augmentation also while fine-tuning.
    ``realign_max_lag``: before fine-tuning, find the clip's own audio–video offset (up to this many
    frames) against the generic model's zero-shot prediction and take it out
    (:mod:`facial.audio2face.realign`); 0 = off.
    ``sync``: weight of the lip-sync expert term (``losses.sync``, the expert of
    ``losses.sync_expert``) while fine-tuning, in place of the pretraining's weight; 0 = off. It
    needs 80-bin log-mel audio (the expert's); measured on the speaker-disjoint protocol
    (docs/AUDIO2FACE.md §4): mean mouth r of ``fast`` 0.480 → 0.529 at 10, for ≈ 1.5 s more.
    """

    lr: float = 3e-4
    stride: int = 1
    num_threads: int = 1
    fast_steps: int = 40
    fast_max_seconds: float = 15.0
    fast_batch_size: int = 4
    fast_adversarial: bool = False
    full_steps: int = 400
    full_max_seconds: float = 600.0
    full_batch_size: int = 8
    full_adversarial: bool = True
    freeze_audio: bool = False
    augment: bool = True
    realign_max_lag: int = 8
    sync: float = 10.0

    def budget(self, effort: str) -> EffortBudget:
        """The :class:`EffortBudget` of ``"fast"`` or ``"full"``."""
        if effort not in ("fast", "full"):
            raise ValueError(f"unknown fine-tuning effort {effort!r}; use 'none', 'fast' or 'full'")
        get = lambda name: getattr(self, f"{effort}_{name}")  # noqa: E731
        return EffortBudget(get("steps"), get("max_seconds"), get("batch_size"), get("adversarial"))


@dataclass
class AudioConfig(LogMelEncoder):
    """Parameters of the log-mel encoder the network was trained with (saved in config.json).

    The fields and defaults are :class:`facial.audio.features.LogMelEncoder`'s; only the values
    travel with the weights. ``lifter`` > 0 selects the pitch-free cepstrally liftered log-mel of
    :class:`facial.audio2face.audio.LifteredLogMelEncoder` (keep that many cepstral coefficients);
    ``phones`` (the default for new checkpoints; issue #13) appends 40 soft phone channels from
    pocketsphinx's phone recogniser (:class:`facial.audio2face.audio.PhoneLogMelEncoder`); a
    ``config.json`` written before the option existed has no ``phones`` key and reads as ``False``.
    ``expert`` (a sync-expert folder / Hub id, or ``"packaged"``; ``""`` = off) appends that expert's
    audio embedding (:func:`facial.audio2face.audio.expert_embeddings`); ``expert_id`` pins its
    weights (filled in by :meth:`pinned` at training time; a mismatch is refused).
    """

    lifter: int = 0
    phones: bool = True
    expert: str = ""
    expert_id: str = ""

    @property
    def dim(self) -> int:
        """Channels per audio step: ``n_mels`` (+ 40 phone channels with ``phones``) (+ the expert's embedding size)."""
        from facial.audio2face.audio import PHONES, expert_dim

        return self.n_mels + (len(PHONES) if self.phones else 0) + (expert_dim(self.expert) if self.expert else 0)

    def pinned(self) -> "AudioConfig":
        """A copy whose ``expert_id`` names the weights ``expert`` resolves to now (unchanged without an expert)."""
        if not self.expert or self.expert_id:
            return self
        from facial.audio2face.audio import expert_path
        from facial.sync_expert.loss import frozen_expert

        return dataclasses.replace(self, expert_id=frozen_expert(expert_path(self.expert)).weights_id())

    def encoder(self) -> LogMelEncoder:
        """The matching :class:`~facial.audio.features.LogMelEncoder` (or the liftered one, or the one with phones)."""
        fields = asdict(self)
        lifter = int(fields.pop("lifter", 0))
        phones = bool(fields.pop("phones", False))
        expert, expert_id = str(fields.pop("expert", "")), str(fields.pop("expert_id", ""))
        if phones or expert:
            from facial.audio2face.audio import PhoneLogMelEncoder

            fields["name"] = (f"logmel{self.n_mels}{f'-lifter{lifter}' if lifter else ''}{'-phones' if phones else ''}"
                              f"{f'-expert{expert_id}' if expert else ''}")
            return PhoneLogMelEncoder(**fields, lifter=lifter, phones=phones, expert=expert, expert_id=expert_id)
        if lifter > 0:
            from facial.audio2face.audio import LifteredLogMelEncoder

            fields["name"] = f"logmel{self.n_mels}-lifter{lifter}"
            return LifteredLogMelEncoder(**fields, lifter=lifter)
        return LogMelEncoder(**fields)


@dataclass
class FacialGANConfig:
    """Architecture, losses and inference settings of FACIAL-GAN.

    Context (temporal) branch: the centre ``context_steps`` audio steps of every frame's window →
    ``context_layers`` Conv1d over time (``context_channels``) → 1-D U-Net over time
    (``unet_levels`` levels, ``unet_channels`` · min(2^level, ``unet_max_mult``) channels) →
    joined with the first frame's parameters → Conv1d → ``context_dim`` latent per frame.

    Frame branch (shared over t): the frame's ``[window, n_mels]`` audio window → stride-2
    Conv1d stack (``frame_channels``) → ``frame_dim`` (tanh) → with the context latent and the
    ``style_dim`` speaker embedding → MLP (``head_hidden``) → 7 + K normalised parameters.

    Discriminator: 2-D PatchGAN (``disc_layers`` stride-2 3×3 convs, ``disc_channels``) over the
    parameter sequence stacked along time with its temporal differences; LSGAN.
    """

    n_expression: int = 32
    seq_len: int = 128
    fps: float = 25.0
    audio: AudioConfig = field(default_factory=AudioConfig)
    context_steps: int = 4
    context_channels: int = 128
    context_layers: int = 2
    unet_channels: int = 32
    unet_levels: int = 4
    unet_max_mult: int = 4
    context_dim: int = 32
    frame_channels: tuple[int, ...] = (64, 64, 96, 96)
    frame_kernel: int = 3
    frame_dim: int = 32
    style_dim: int = 16
    n_styles: int = 1
    head_hidden: int = 128
    dropout: float = 0.3
    norm_groups: int = 8
    negative_slope: float = 0.2
    disc_channels: int = 32
    disc_layers: int = 3
    losses: LossWeights = field(default_factory=LossWeights)
    inference: InferenceConfig = field(default_factory=InferenceConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    basis_id: str = ""
    speakers: list[str] = field(default_factory=list)
    personalised_for: str | None = None
    provenance: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.seq_len < 1:
            raise ValueError(f"seq_len must be ≥ 1, got {self.seq_len}")
        if not 0 < self.context_steps <= self.audio.window:
            raise ValueError(f"context_steps ({self.context_steps}) must be in 1..audio.window ({self.audio.window})")
        if self.inference.overlap < 1 or self.inference.overlap >= self.seq_len:
            raise ValueError(f"inference.overlap must be in 1..seq_len-1, got {self.inference.overlap} (seq_len {self.seq_len})")
        self.frame_channels = tuple(int(c) for c in self.frame_channels)

    @property
    def layout(self) -> ParamLayout:
        return ParamLayout(self.n_expression)

    @property
    def param_dim(self) -> int:
        return self.layout.dim

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (nested dataclasses become dictionaries)."""
        out = dataclasses.asdict(self)
        out["frame_channels"] = list(self.frame_channels)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FacialGANConfig":
        """Inverse of :meth:`to_dict`; unknown keys are rejected so typos do not pass silently."""
        data = dict(data)
        nested = {"audio": AudioConfig, "losses": LossWeights, "inference": InferenceConfig, "finetune": FinetuneConfig}
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown FacialGANConfig keys: {sorted(unknown)}")
        if isinstance(data.get("audio"), dict) and "phones" not in data["audio"]:
            data["audio"] = {**data["audio"], "phones": False}  # checkpoints from before the phone channels: plain log-mel
        for key, kind in nested.items():
            if key in data and isinstance(data[key], dict):
                sub_known = {f.name for f in dataclasses.fields(kind)}
                bad = set(data[key]) - sub_known
                if bad:
                    raise ValueError(f"unknown {key} config keys: {sorted(bad)}")
                data[key] = kind(**data[key])
        return cls(**data)

    def replace(self, **changes: Any) -> "FacialGANConfig":
        """A copy with some fields changed (``losses=...`` etc. take dataclasses or dictionaries)."""
        data = self.to_dict()
        for key, value in changes.items():
            data[key] = dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value
        return FacialGANConfig.from_dict(data)


def resolve_smoothing(smoothing: SmoothingConfig | str | None, default: str) -> SmoothingConfig:
    """A :class:`SmoothingConfig` from a config, a preset name, or ``None`` (→ ``default`` preset)."""
    if isinstance(smoothing, SmoothingConfig):
        return smoothing
    name = default if smoothing is None else smoothing
    if name not in SMOOTHING_PRESETS:
        raise ValueError(f"unknown smoothing {name!r}; choose one of {sorted(SMOOTHING_PRESETS)} or pass a SmoothingConfig")
    return SMOOTHING_PRESETS[name]
