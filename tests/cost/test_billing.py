"""Token billing logic for hosted providers: OpenAI's epoch default, chat framing, caps, Vertex."""

from __future__ import annotations

import pytest
from cost_helpers import WordCounter, chat, pair

from ftx.cost.tally import chars_tokens, tally
from ftx.providers.openai.billing import openai_auto_epochs, openai_example_tokens, openai_tally
from ftx.providers.vertex.billing import vertex_example_tokens, vertex_tally
from ftx.example import Example, Message


@pytest.mark.parametrize("n, epochs", [
    (1, 25), (3, 25), (4, 25), (5, 20), (10, 10), (25, 4), (30, 3), (33, 3), (34, 3), (50, 3),
    (1000, 3), (8333, 3), (8334, 2), (8400, 2), (12500, 2), (12501, 1), (25000, 1), (200000, 1),
])
def test_openai_auto_epochs_follows_the_cookbook_heuristic(n, epochs):
    assert openai_auto_epochs(n) == epochs


def test_auto_epochs_keeps_examples_times_epochs_in_range_where_it_can():
    for n in range(1, 30000, 7):
        e = openai_auto_epochs(n)
        assert 1 <= e <= 25
        if 4 <= n <= 25000:  # below 4, the 25-epoch cap wins; above 25000, the 1-epoch floor
            assert n * e <= 25000 or e == 3
            assert n * e >= 100 - n  # integer division may undershoot by less than one epoch


def test_chat_framing_per_message_and_reply():
    # user "a b c" (3 words) + assistant "d e" (2): 2 x (3 framing + 1 role word) + 5 + 3 priming
    ex = chat("a b c", "d e")
    assert openai_example_tokens(ex, WordCounter()) == 2 * (3 + 1) + 5 + 3 == 16


def test_name_costs_its_tokens_plus_one_and_system_counts_like_any_message():
    ex = Example(messages=[Message("system", "be brief"), Message("user", "hi", name="ann lee"),
                           Message("assistant", "hello")])
    # 3 messages x (3 + 1) + content 2 + 1 + 1 + name 2 + 1 + priming 3
    assert openai_example_tokens(ex, WordCounter()) == 12 + 4 + 3 + 3


def test_tool_calls_and_tool_definitions_count_as_compact_json():
    calls = [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    tools = [{"type": "function", "function": {"name": "f"}}]
    ex = Example(messages=[Message("user", "x"), Message("assistant", None, tool_calls=calls),
                           Message("tool", "42", tool_call_id="c1")], tools=tools)
    # WordCounter sees compact JSON (no spaces) as one word each.
    assert openai_example_tokens(ex, WordCounter()) == 3 * 4 + 1 + 1 + 1 + 1 + 3 + 1


def test_preference_pair_counts_prompt_once_and_both_replies():
    ex = pair("which one", "this", "that one")
    assert openai_example_tokens(ex, WordCounter()) == 3 * 4 + 2 + 1 + 2 + 3


def test_billable_tokens_cap_each_example_at_the_limit_then_multiply_by_epochs():
    t = tally([10, 50, 200], limit=100)
    assert (t.tokens, t.capped, t.over_limit, t.longest) == (260, 160, 1, 200)
    assert t.billable(3) == 480
    assert tally([10, 50, 200], limit=None).billable(2) == 520


def test_openai_tally_matches_per_example_counts():
    examples = [chat("a b", "c"), chat("a " * 300, "b")]
    t = openai_tally(examples, WordCounter(), limit=100)
    assert t.per_example == [2 * 4 + 3 + 3, 2 * 4 + 301 + 3]
    assert t.capped == 14 + 100 and t.over_limit == 1


def test_vertex_counts_characters_over_four_rounded_up():
    assert chars_tokens("") == 0 and chars_tokens("abcd") == 1 and chars_tokens("abcde") == 2
    ex = chat("hello", "world!")  # 11 characters -> 3
    assert vertex_example_tokens(ex) == 3
    assert vertex_tally([ex, ex], limit=2).capped == 4


def test_real_encoding_matches_the_cookbook_loop():
    """Billing with ftx's counter equals OpenAI's cookbook recipe run with the same encoding."""
    bpe_openai = pytest.importorskip("bpe_openai")
    from ftx.data.tokens import get_counter

    enc = bpe_openai.get_encoding("o200k_base")

    def cookbook(messages):  # openai-cookbook num_tokens_from_messages, tokens_per_message=3
        n = 0
        for m in messages:
            n += 3
            for key, value in m.items():
                n += len(enc.encode(value))
                if key == "name":
                    n += 1
        return n + 3

    rows = [
        [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Bonjour, ça va ?"},
         {"role": "assistant", "content": "Oui. 😀 Et toi ?"}],
        [{"role": "user", "content": "def f(x):\n    return x ** 2", "name": "dev"},
         {"role": "assistant", "content": "It squares x."}],
    ]
    counter = get_counter("gpt-4.1-mini-2025-04-14")
    for row in rows:
        ex = Example(messages=[Message(**m) for m in row])
        assert openai_example_tokens(ex, counter) == cookbook(row)


def _cookbook_example() -> Example:
    # OpenAI cookbook "How to count tokens with tiktoken": its example_messages, which the
    # cookbook shows the API billing at 129 prompt tokens on gpt-3.5-turbo/gpt-4 and 124 on gpt-4o.
    return Example([
        Message("system", "You are a helpful, pattern-following assistant that translates corporate jargon into plain English."),
        Message("system", "New synergies will help drive top-line growth.", name="example_user"),
        Message("system", "Things working well together will increase revenue.", name="example_assistant"),
        Message("system", "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage.",
                name="example_user"),
        Message("system", "Let's talk later when we're less busy about how to do better.", name="example_assistant"),
        Message("user", "This late pivot means we don't have time to boil the ocean for the client deliverable."),
    ])


@pytest.mark.parametrize("model, tokens", [("gpt-3.5-turbo", 129), ("gpt-4", 129), ("gpt-4o", 124), ("gpt-4o-mini", 124)])
def test_billing_matches_the_openai_cookbook_counts(model, tokens):
    from ftx.data.tokens import get_counter

    assert openai_example_tokens(_cookbook_example(), get_counter(model)) == tokens
