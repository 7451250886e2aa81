"""The history the model is sent keeps only what the caller heard."""

from __future__ import annotations

from calls.dialogue.llm.history import History, ToolCall


def test_an_interrupt_cuts_this_turns_words_and_keeps_its_tool_calls():
    history = History(system="prompt", greeting="Hello, how can I help?")
    history.caller_said("A haircut tomorrow at 3")
    check = ToolCall(id="call_1", name="check_availability", arguments="{}")
    history.model_said("Let me check.", [check])
    history.we_said("One moment, let me check.")
    history.tool_result("call_1", {"available": True})
    history.model_said("Tomorrow at 3 PM is free. Can I take your name?", [])

    history.cut_to("Let me check. One moment, let me check. Tomorrow at 3")

    assert history.messages[1:] == [
        {"role": "assistant", "content": "Hello, how can I help?"},
        {"role": "user", "content": "A haircut tomorrow at 3"},
        {
            "role": "assistant",
            "content": "Let me check.",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "check_availability", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": '{"available": true}'},
        {"role": "assistant", "content": "Tomorrow at 3"},
    ]


def test_words_never_heard_leave_no_empty_message_behind():
    history = History(system="prompt")
    history.caller_said("Hi")
    check = ToolCall(id="call_1", name="find_my_booking", arguments="{}")
    history.model_said("Let me look.", [check])
    history.tool_result("call_1", {"bookings": []})
    history.model_said("I can't find a booking.", [])

    history.cut_to("Let me")

    assert [m["role"] for m in history.messages] == ["system", "user", "assistant", "tool"]
    assert history.messages[2]["content"] == "Let me"
    assert history.messages[2]["tool_calls"][0]["id"] == "call_1"


def test_the_caller_hearing_everything_changes_nothing():
    history = History(system="prompt")
    history.caller_said("Hi")
    history.model_said("Hello there. How can I help?", [])
    history.cut_to("Hello there.  How can I help?")
    assert history.messages[-1] == {"role": "assistant", "content": "Hello there. How can I help?"}


def test_punctuation_a_transcript_leaves_out_does_not_cut_early():
    history = History(system="prompt")
    history.caller_said("Hi")
    history.model_said("Yes, Tuesday at 3 PM is free. Shall I book it?", [])
    history.cut_to("yes tuesday at 3 pm is free")
    assert history.messages[-1]["content"] == "Yes, Tuesday at 3 PM is free."
