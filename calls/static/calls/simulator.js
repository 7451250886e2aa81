// The simulator page: one WebSocket per call to /ws/simulator/<slug>/ (calls/simulator/).
// Everything from the socket goes on the page with textContent: the transcript is whatever
// staff typed and whatever the receptionist made of it, never markup.
(function () {
  "use strict";

  const page = document.querySelector(".simulator");
  const setup = document.getElementById("call-setup");
  if (!page || !setup) return; // no active business: nothing to call

  const business = document.getElementById("business");
  const caller = document.getElementById("caller");
  const asCustomer = document.getElementById("as-customer");
  const callButton = document.getElementById("call-button");
  const statusLine = document.getElementById("status");
  const transcript = document.getElementById("transcript");
  const sayForm = document.getElementById("say-form");
  const sayInput = document.getElementById("say");
  const sayButton = document.getElementById("say-button");
  const result = document.getElementById("result");

  let socket = null;
  let inCall = false; // between "Start call" and the end of the call
  let answering = null; // the receptionist bubble tokens are being added to

  function show(id, visible) {
    document.getElementById(id).hidden = !visible;
  }

  function setText(id, text) {
    document.getElementById(id).textContent = text;
  }

  function setLink(id, href) {
    const link = document.getElementById(id);
    // Only our own admin paths: a link is never taken from anything the caller typed.
    const ours = typeof href === "string" && href.startsWith("/") && !href.startsWith("//");
    link.href = ours ? href : "#";
  }

  function bubble(kind, who, text) {
    const node = document.createElement("div");
    node.className = "bubble bubble-" + kind;
    if (who) {
      const label = document.createElement("span");
      label.className = "who";
      label.textContent = who;
      node.appendChild(label);
    }
    const body = document.createElement("span");
    body.className = "text";
    body.textContent = text;
    node.appendChild(body);
    transcript.appendChild(node);
    transcript.scrollTop = transcript.scrollHeight;
    return node;
  }

  function receptionistSays(token, last) {
    if (answering === null) {
      answering = bubble("receptionist", "Receptionist", "");
      answering.dataset.complete = "false";
    }
    answering.querySelector(".text").textContent += token;
    transcript.scrollTop = transcript.scrollHeight;
    if (last) {
      answering.querySelector(".text").textContent = answering
        .querySelector(".text")
        .textContent.trim();
      answering.dataset.complete = "true";
      answering = null;
    }
  }

  function setInCall(active) {
    inCall = active;
    callButton.textContent = active ? "Hang up" : "Start call";
    business.disabled = active;
    caller.disabled = active;
    asCustomer.disabled = active;
    sayInput.disabled = !active;
    sayButton.disabled = !active;
    if (active) sayInput.focus();
  }

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
  }

  function socketUrl(slug) {
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    return scheme + window.location.host + page.dataset.socketPath + encodeURIComponent(slug) + "/";
  }

  function showEnd(frame) {
    const outcome = frame.outcome || (frame.handoff && frame.handoff.reason) || "ended";
    setText("result-title", "Call ended: " + outcome);
    const booking = frame.booking;
    if (booking) {
      setText("booking-service", booking.service);
      setText("booking-when", booking.date + " at " + booking.time + " (" + booking.timezone + ")");
      setText("booking-name", booking.name);
      setText("booking-phone", booking.phone);
      setText("booking-status", booking.status);
      setLink("booking-link", booking.admin_url);
    }
    show("booking", Boolean(booking));
    show("booking-link-row", Boolean(booking));
    show("result", true);
    if (frame.call_admin_url) {
      setLink("call-link", frame.call_admin_url);
      show("call-link-row", true);
    }
    statusLine.textContent = "The call has ended. Press \"Start call\" to call again.";
  }

  const handlers = {
    started(frame) {
      statusLine.textContent = "Connected to " + business.selectedOptions[0].textContent +
        ", calling from " + String(frame.caller || "an unknown number") +
        " (call " + frame.call_sid + "). Type what the caller says.";
      setLink("call-link", frame.call_admin_url);
      show("call-link-row", true);
      setInCall(true);
    },
    text(frame) {
      receptionistSays(String(frame.token), Boolean(frame.last));
    },
    end(frame) {
      answering = null;
      setInCall(false);
      showEnd(frame);
      socket.close();
    },
    error(frame) {
      if (!inCall) {
        // The call was not started (e.g. a real customer's number): say why, and hang up
        // the socket so "Start call" opens a fresh one.
        statusLine.textContent = String(frame.message);
        socket.close();
        return;
      }
      bubble("system", "", "Not sent: " + String(frame.message));
    },
  };

  function startCall() {
    transcript.replaceChildren();
    show("result", false);
    show("call-link-row", false);
    answering = null;
    statusLine.textContent = "Calling\u2026";
    let opened = false;
    const ws = new WebSocket(socketUrl(business.value));
    socket = ws;
    ws.addEventListener("open", function () {
      opened = true;
      send({ type: "start", caller: caller.value.trim(), as_customer: asCustomer.checked });
    });
    ws.addEventListener("message", function (event) {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      const handler = handlers[frame.type];
      if (handler) handler(frame);
    });
    ws.addEventListener("close", function () {
      if (socket !== ws) return;
      socket = null;
      if (!opened) {
        statusLine.textContent =
          "The simulator refused the connection. Are you still logged in as staff?";
      } else if (inCall) {
        statusLine.textContent = "Disconnected from the server; the call was ended.";
      }
      setInCall(false);
    });
  }

  setup.addEventListener("submit", function (event) {
    event.preventDefault();
    if (inCall) {
      send({ type: "hangup" });
    } else if (socket === null) {
      startCall();
    }
  });

  sayForm.addEventListener("submit", function (event) {
    event.preventDefault();
    const text = sayInput.value.trim();
    if (!text || !inCall) return;
    // Talking over an answer still streaming interrupts it, as on the phone.
    if (answering !== null) {
      answering.dataset.complete = "true";
      answering = null;
    }
    bubble("caller", "Caller", text);
    send({ type: "say", text: text });
    sayInput.value = "";
  });

  business.addEventListener("change", function () {
    const url = new URL(window.location.href);
    url.searchParams.set("business", business.value);
    window.history.replaceState(null, "", url);
  });
})();
