"""The user's tags on a hosted job (OpenAI metadata, Vertex labels) leave room for ftx's two and
stay out of its ftx_ namespace (ftx.hosted.tags, shared by both providers' options)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ftx.providers.openai.options import OpenAIOptions
from ftx.providers.vertex.options import VertexOptions


@pytest.mark.parametrize("options, field, limit", [(OpenAIOptions, "metadata", 14), (VertexOptions, "labels", 62)])
def test_user_tags_leave_room_for_ftx_own(options, field, limit):
    full = {f"k{i}": "v" for i in range(limit)}
    assert getattr(options(**{field: full}), field) == full
    with pytest.raises(ValidationError, match=rf"at most {limit} .* and ftx uses 2"):
        options(**{field: {**full, "one_more": "v"}})
    with pytest.raises(ValidationError, match="keys starting with ftx_ are ftx's own"):
        options(**{field: {"ftx_recipe": "mine"}})
