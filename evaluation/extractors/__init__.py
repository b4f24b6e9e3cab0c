"""Extractors: what metrics are computed from (face tracks, head pose, eye blinks, speech
envelope, SyncNet scores). Expensive extractions are cached by content hash
(:mod:`evaluation.extractors.cache`)."""
