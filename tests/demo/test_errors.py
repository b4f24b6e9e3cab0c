"""Library exceptions → gr.Error messages that say what failed and what to do."""
from __future__ import annotations

import gradio as gr

from demo.errors import user_error


def test_user_error_mapping_is_specific():
    from facial.media import MediaError

    assert user_error(MediaError("x has no audio stream; give a speech recording"), "Reading").message == \
        "Reading: x has no audio stream; give a speech recording"
    e = user_error(KeyError("k"), "Step")
    assert isinstance(e, gr.Error) and e.message.startswith("Step:")
