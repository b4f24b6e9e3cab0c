"""Stage (1): audio features (see :mod:`facial.audio.features`)."""
from facial.audio.features import AudioEncoder, LogMelEncoder, speech_envelope

__all__ = ["AudioEncoder", "LogMelEncoder", "speech_envelope"]
