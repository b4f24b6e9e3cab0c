"""Stage (0): a target clip → SpeakerProfile (FaceMesh tracking, pose, expression, blink).

Main entry points: :func:`track_clip` (in memory), :func:`facial.speaker.profile.save_profile` /
:func:`~facial.speaker.profile.load_profile` (profile directories), :func:`track_to_dir` (both,
plus the overlay video and the curves plot).
"""
from facial.speaker.track import track_clip, track_to_dir

__all__ = ["track_clip", "track_to_dir"]
