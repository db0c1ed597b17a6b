// The page of examples/chat: the official socket.io-client (served by the
// server at /socket.io/socket.io.min.js, as Node does) talking to the Rust server.
//
// After a reconnection the server knows the user again from the handshake:
// `auth` is a function, so each handshake sends the nickname and the room the
// page is in now, and the server puts the socket back in that room before it
// handles any event. socket.io-client sends the messages written while the
// server was away right after the handshake, before it fires `connect`: they
// find the socket in its room. With `since`, the server also sends what the
// others wrote in the room while this page was away.
//
// Each message has an id chosen here. With `retries`, socket.io-client keeps
// every acknowledged emit until its ack comes, sends them one at a time and in
// order, and sends the first again after a reconnection if its ack was lost
// with the connection; the server recognises the id and does not deliver it
// twice.
"use strict";

const $ = (id) => document.getElementById(id);
const LOBBY = "lobby";

// ?transport=polling keeps the client on HTTP long-polling (no WebSocket).
// When the server runs a WebTransport listener (`--webtransport`), GET
// /webtransport gives its certificate's hash, and the client tries
// WebTransport first (by upgrade from polling), then WebSocket.
const polling = new URLSearchParams(location.search).get("transport") === "polling";
let transports = polling ? ["polling"] : ["polling", "websocket"];
let transportOptions = {};
const webtransport = polling
  ? Promise.resolve()
  : fetch("/webtransport")
      .then((res) => (res.ok ? res.text() : null))
      .then((hash) => {
        if (!hash || typeof WebTransport === "undefined") return;
        const value = Uint8Array.from(atob(hash.trim()), (c) => c.charCodeAt(0));
        transports = ["polling", "websocket", "webtransport"];
        transportOptions = {
          webtransport: { serverCertificateHashes: [{ algorithm: "sha-256", value }] },
        };
      })
      .catch(() => {});

let socket = null;
let nickname = "";
let room = LOBBY;
let rooms = [];
let lastTyping = 0;
const shown = new Set(); // ids of the messages received, in case one comes twice
let lastAt = 0; // the server's time of the last message or room change seen
const typers = new Map(); // nickname -> timer that forgets them

function setStatus(state, text) {
  $("status").dataset.state = state;
  $("status").textContent = text;
}

function showError(text) {
  $("error").textContent = text;
  $("error").hidden = !text;
}

// ----- connecting -----

$("login").addEventListener("submit", async (e) => {
  e.preventDefault();
  await webtransport;
  if (socket) socket.disconnect(); // a refused attempt
  showError("");
  nickname = $("nickname").value;
  let rejoin = false; // connected before: a handshake now is a reconnection
  socket = io({
    auth: (send) => send({ name: nickname, room, rejoin, since: lastAt }),
    transports,
    transportOptions,
    forceNew: true,
    reconnectionDelay: 500,
    reconnectionDelayMax: 2000,
    // An emit not acknowledged within ackTimeout (while connected) is sent
    // again, up to `retries` times, then fails.
    retries: 3,
    ackTimeout: 5000,
  });
  socket.on("connect", () => (rejoin = true));
  listen(socket);
  setStatus("connecting", "connecting…");
});

function listen(socket) {
  let lost = false; // the connection dropped since the last `connect`
  socket.on("connect", () => {
    if (lost) addNotice("Reconnected.");
    lost = false;
    setStatus("connected", "connected");
    const engine = socket.io.engine;
    const showTransport = (name) => {
      $("status").dataset.transport = name;
      $("status").textContent = `connected · ${name}`;
    };
    showTransport(engine.transport.name);
    engine.once("upgrade", (t) => showTransport(t.name));
    $("me").textContent = nickname.trim();
    $("login").hidden = true;
    $("chat").hidden = false;
  });

  socket.on("connect_error", (err) => {
    if (socket.active) {
      // The server is away: socket.io-client keeps trying.
      setStatus("reconnecting", "reconnecting…");
      return;
    }
    // Refused by the server's middleware: say why, and let the user retry.
    setStatus("offline", "offline");
    showError(err.message);
    $("login").hidden = false;
    $("chat").hidden = true;
    $("nickname").focus();
  });

  socket.on("disconnect", () => {
    if (!socket.active) return setStatus("offline", "offline");
    lost = true;
    setStatus("reconnecting", "reconnecting…");
    addNotice("Connection lost, reconnecting…");
    // Unknown until the server sends them again.
    rooms = rooms.map((r) => ({ ...r, users: null }));
    renderRooms();
  });

  socket.on("rooms", (list) => {
    rooms = list;
    renderRooms();
  });
  // The server put us in this room (the lobby at first, else the one in
  // `auth`), then sends the messages we missed and the counts.
  socket.on("room", ({ name, at }) => {
    seen(at);
    showRoom(name);
  });
  socket.on("message", (m) => {
    if (shown.has(m.id)) return;
    shown.add(m.id);
    seen(m.at);
    forgetTyper(m.from);
    addMessage(m.from, m.text, m.at, "received", m.via);
  });
  socket.on("notice", addNotice);
  socket.on("typing", showTyper);
}

// ----- rooms -----

function join(name) {
  socket.emit("join", name, (err, res) => {
    if (err || res.error) return addNotice(err ? `Could not join #${name}.` : res.error);
    seen(res.at);
    showRoom(res.room);
  });
}

function showRoom(name) {
  if (name !== room) {
    room = name;
    $("messages").replaceChildren();
    typers.forEach((_, who) => forgetTyper(who));
  }
  $("room-title").textContent = `#${room}`;
  $("leave").disabled = room === LOBBY;
  renderRooms();
}

function renderRooms() {
  $("rooms").replaceChildren(
    ...rooms.map(({ name, users }) => {
      const li = document.createElement("li");
      li.dataset.room = name;
      li.classList.toggle("current", name === room);
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = `#${name}`;
      button.addEventListener("click", () => join(name));
      const count = document.createElement("span");
      count.className = "count";
      count.textContent = users ?? "?";
      if (users === null) count.title = "unknown until the server is back";
      li.append(button, count);
      return li;
    }),
  );
  const here = rooms.find((r) => r.name === room);
  const n = here ? here.users : 0;
  $("room-users").textContent = n === null ? "" : `${n} ${n === 1 ? "user" : "users"}`;
}

$("join").addEventListener("submit", (e) => {
  e.preventDefault();
  const name = $("room-name").value.trim();
  if (!name) return;
  $("room-name").value = "";
  join(name);
});

$("leave").addEventListener("click", () => join(LOBBY));

// ----- messages -----

function time(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function addMessage(from, text, at, kind, via) {
  const li = document.createElement("li");
  li.className = `message ${kind}`;
  const who = document.createElement("span");
  who.className = "from";
  who.textContent = from;
  const body = document.createElement("span");
  body.className = "text";
  body.textContent = text;
  const meta = document.createElement("span");
  meta.className = "meta";
  // The sender's transport, for the messages of the others.
  meta.textContent = via ? `${time(at)} · ${via}` : time(at);
  const tick = document.createElement("span");
  tick.className = "tick";
  meta.append(" ", tick);
  li.append(who, body, meta);
  $("messages").append(li);
  li.scrollIntoView({ block: "end" });
  return li;
}

function addNotice(text) {
  const li = document.createElement("li");
  li.className = "notice";
  li.textContent = text;
  $("messages").append(li);
  li.scrollIntoView({ block: "end" });
}

$("send").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("text").value.trim();
  if (!text) return;
  $("text").value = "";
  const li = addMessage(nickname.trim(), text, Date.now(), "sent pending");
  const tick = li.querySelector(".tick");
  tick.textContent = "…";
  // Kept by the client while disconnected; the tick comes with the server's ack.
  socket.emit("message", { id: messageId(), text }, (err, res) => {
    li.classList.remove("pending");
    if (err || res.error) {
      li.classList.add("failed");
      tick.textContent = "!";
      tick.title = err ? "not delivered" : res.error;
      return;
    }
    seen(res.at);
    li.classList.add("delivered");
    tick.textContent = "✓";
    tick.title = `delivered at ${time(res.at)}`;
  });
});

function seen(at) {
  lastAt = Math.max(lastAt, at);
}

// Random, and available in pages served over plain HTTP (unlike randomUUID).
function messageId() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// ----- typing -----

$("text").addEventListener("input", () => {
  if (Date.now() - lastTyping < 1000) return;
  lastTyping = Date.now();
  socket.volatile.emit("typing");
});

function showTyper(who) {
  clearTimeout(typers.get(who));
  typers.set(who, setTimeout(() => forgetTyper(who), 2500));
  renderTypers();
}

function forgetTyper(who) {
  clearTimeout(typers.get(who));
  typers.delete(who);
  renderTypers();
}

function renderTypers() {
  const names = [...typers.keys()];
  $("typing").textContent =
    names.length === 0 ? "" : `${names.join(", ")} ${names.length === 1 ? "is" : "are"} typing…`;
}
