"""Canonical examples -> TRL dataset shapes, and which tokens carry the loss."""

from __future__ import annotations

import pytest

from ftx.errors import BackendError
from ftx.example import Example, Message
from ftx.plugins.local.trl_data import build_datasets, has_generation_markers, prompt_of, reference_of


class Tok:
    def __init__(self, template):
        self.chat_template = template


MARKED = Tok("{% for m in messages %}{% generation %}{{ m.content }}{% endgeneration %}{% endfor %}")
PLAIN = Tok("{% for m in messages %}{{ m.content }}{% endfor %}")


def chat(q: str, a: str, system: str | None = None) -> Example:
    turns = [Message("system", system)] if system else []
    return Example(turns + [Message("user", q), Message("assistant", a)])


def test_chat_examples_become_conversations_with_assistant_only_loss():
    data = build_datasets([chat("q1", "a1", system="be brief")], [chat("q2", "a2")], "sft", MARKED)
    assert data.loss == "assistant-only" and data.conversational
    assert data.train[0]["messages"] == [{"role": "system", "content": "be brief"},
                                         {"role": "user", "content": "q1"},
                                         {"role": "assistant", "content": "a1"}]
    assert data.eval is not None and len(data.eval) == 1


def test_without_generation_markers_the_final_answer_is_the_completion():
    data = build_datasets([chat("q1", "a1")], [], "sft", PLAIN)
    assert data.loss == "final-answer-only" and data.eval is None
    assert data.train[0]["prompt"] == [{"role": "user", "content": "q1"}]
    assert data.train[0]["completion"] == [{"role": "assistant", "content": "a1"}]
    assert any("generation" in note for note in data.notes)


def test_completion_examples_stay_plain_text():
    ex = Example([Message("user", "2+2="), Message("assistant", "4")], kind="completion")
    data = build_datasets([ex], [], "sft", MARKED)
    assert data.loss == "completion-only" and not data.conversational
    assert data.train[0] == {"prompt": "2+2=", "completion": "4"}


def test_preference_pairs_for_dpo():
    ex = Example([Message("user", "q")], kind="preference",
                 chosen=[Message("assistant", "good")], rejected=[Message("assistant", "bad")])
    data = build_datasets([ex], [ex], "dpo", MARKED)
    assert data.train[0] == {"prompt": [{"role": "user", "content": "q"}],
                             "chosen": [{"role": "assistant", "content": "good"}],
                             "rejected": [{"role": "assistant", "content": "bad"}]}
    assert prompt_of(ex)[0].content == "q" and reference_of(ex) == "good"


@pytest.mark.parametrize("objective, examples, match", [
    ("dpo", [chat("q", "a")], "preference pairs"),
    ("sft", [Example([Message("user", "q")], kind="preference", chosen=[Message("assistant", "a")],
                     rejected=[Message("assistant", "b")])], "objective: dpo"),
    ("sft", [chat("q", "a"), Example([Message("user", "p"), Message("assistant", "c")], kind="completion")],
     "one kind"),
    ("sft", [], "no training examples"),
])
def test_unusable_data_is_refused_clearly(objective, examples, match):
    with pytest.raises(BackendError, match=match):
        build_datasets(examples, [], objective, MARKED)


def test_chat_data_needs_a_chat_template():
    with pytest.raises(BackendError, match="no chat template"):
        build_datasets([chat("q", "a")], [], "sft", Tok(None))


def test_generation_marker_detection():
    assert has_generation_markers(MARKED) and not has_generation_markers(PLAIN)
    assert has_generation_markers(Tok("{%- generation -%}x{%- endgeneration -%}"))
    assert not has_generation_markers(Tok(None))


def test_prompt_of_a_chat_stops_at_the_first_answer():
    ex = Example([Message("system", "s"), Message("user", "u1"), Message("assistant", "a1"),
                  Message("user", "u2"), Message("assistant", "a2")])
    assert [m.content for m in prompt_of(ex)] == ["s", "u1"]
    assert reference_of(ex) == "a1"
