"""The chat format's short path for records of only plain ``{role, content}`` messages
(``plain_conversation``) gives exactly the Example, or exactly the problems, of the detailed
checks, on valid and invalid conversations alike.

A dict subclass skips the short path (it tests ``type(...) is dict``), so the same record runs
through both and the results are compared.
"""

from __future__ import annotations

import itertools
import random

from ftx.formats import RecordInvalid
from ftx.plugins.formats.chat import ChatFormat
from ftx.plugins.formats.messages import plain_conversation


class Slow(dict):
    """The same mapping, but not exactly a dict: the detailed path runs."""


ROLES = ["system", "developer", "user", "assistant", "tool", "bot", ""]
CONTENTS = ["hello", " x ", "", "  ", "é", None, 3]


def _outcome(record):
    try:
        return "ok", ChatFormat().parse(record)
    except RecordInvalid as exc:
        return "invalid", exc.problems


def _conversations():
    # every role sequence up to three messages, with a usable text
    for n in range(0, 4):
        for roles in itertools.product(ROLES, repeat=n):
            yield [{"role": r, "content": "hi"} for r in roles]
    rng = random.Random(13)
    for _ in range(3000):
        msgs = []
        turns = rng.randint(1, 6)
        for i in range(turns):
            # mostly a well-formed conversation, one message in three changed at random
            role = ["system", "user", "assistant", "user", "assistant", "assistant"][i]
            m = {"role": role, "content": "text"}
            if rng.random() < 0.3:
                m = {"role": rng.choice(ROLES), "content": rng.choice(CONTENTS)}
            if rng.random() < 0.05:
                m = {"content": m["content"], "role": m["role"]}  # other key order: same result
            if rng.random() < 0.05:
                m["weight"] = rng.choice([0, 1])
            if rng.random() < 0.03:
                del m["role"]
            msgs.append(m)
        yield msgs


def test_plain_records_parse_as_the_detailed_checks_say():
    fast_taken = 0
    for msgs in _conversations():
        record = {"messages": msgs}
        slow_record = Slow(messages=[Slow(m) for m in msgs])
        fast, slow = _outcome(record), _outcome(slow_record)
        assert fast == slow, msgs
        fast_taken += plain_conversation(msgs) is not None
    assert fast_taken > 300  # the short path really ran


def test_records_with_other_keys_or_shapes_take_the_detailed_path():
    plain = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    assert plain_conversation(plain) is not None
    for record in ({"messages": plain, "tools": []}, {"messages": plain, "label": "x"},
                   {"messages": plain, "parallel_tool_calls": True}, {"messages": "no"}, {"messages": []}):
        assert _outcome(record) == _outcome(Slow(record)), record
    ok = ChatFormat().parse({"messages": plain, "label": "x"})
    assert ok.meta == {"label": "x"}
    assert plain_conversation([{"role": "user", "content": "q"}, {"role": "system", "content": "s"},
                               {"role": "assistant", "content": "a"}]) is None
    assert plain_conversation([{"role": "developer", "content": "s"}, {"role": "user", "content": "q"},
                               {"role": "assistant", "content": "a"}])[0].role == "system"


def test_marked_messages_refuse_edits_in_place_and_survive_copies():
    """The mark is trusted later (dump, OpenAI's checks and billing): an in-place edit, which
    could leave it on messages that no longer match it, is refused with a line saying what to do;
    a new list is the way to change a conversation, and it carries no mark."""
    import copy
    import pickle

    import pytest

    from ftx.example import Message, PlainMessages

    example = ChatFormat().parse({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]})
    marked = example.messages
    assert type(marked) is PlainMessages
    tool = Message("tool", "result")
    for edit in (lambda m: m.append(tool), lambda m: m.extend([tool]), lambda m: m.insert(0, tool),
                 lambda m: m.pop(), lambda m: m.remove(m[0]), lambda m: m.clear(), lambda m: m.sort(key=id),
                 lambda m: m.reverse(), lambda m: m.__setitem__(0, tool), lambda m: m.__delitem__(0),
                 lambda m: m.__iadd__([tool]), lambda m: m.__imul__(2)):
        with pytest.raises(TypeError, match="not edited in place.*build a new list"):
            edit(marked)
    assert [m.content for m in marked] == ["q", "a"]
    changed = list(marked) + [tool]  # the way: a new list, unmarked
    assert type(changed) is list and type(marked + [tool]) is list and type(marked[:1]) is list
    for twin in (copy.copy(marked), copy.deepcopy(marked), pickle.loads(pickle.dumps(marked))):
        assert type(twin) is PlainMessages and twin == marked
