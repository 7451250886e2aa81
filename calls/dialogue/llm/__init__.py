"""The LLM receptionist: free conversation with a model, bookings decided by our code.

The model (any OpenAI-compatible chat-completions server) talks and calls tools; the tools run
against the same provider and services as the embedded receptionist, and they, not the prompt,
enforce that nothing is booked, moved or cancelled unless the caller heard it read back and
said yes. When the model fails mid-call, the embedded receptionist takes the call over.

    client.py     the one seam to the model server (timeouts, retries, streaming)
    prompt.py     the system prompt, built from the business
    tools.py      the tool schemas and the ToolBox that runs them
    arguments.py  reading the model's tool arguments (service, start)
    consent.py    the read-back-and-yes rule
    history.py    the messages sent to the model, truthful about what the caller heard
    handover.py   giving the call to the embedded receptionist
    engine.py     LLMEngine, the dialogue engine that ties them together
"""
