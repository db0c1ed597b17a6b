// The page of examples/chat: the official socket.io-client (served by the
// example as /socket.io.min.js) talking to the Rust server.
//
// State the server keeps is rebuilt after a reconnection: socket.io-client
// sends `auth` again by itself, and this script joins its room again.
"use strict";

const $ = (id) => document.getElementById(id);
const LOBBY = "lobby";

// ?transport=polling keeps the client on HTTP long-polling (no WebSocket).
const polling = new URLSearchParams(location.search).get("transport") === "polling";
const transports = polling ? ["polling"] : ["polling", "websocket"];

let socket = null;
let nickname = "";
let room = LOBBY;
let rooms = [];
let lastTyping = 0;
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

$("login").addEventListener("submit", (e) => {
  e.preventDefault();
  if (socket) socket.disconnect(); // a refused attempt
  showError("");
  nickname = $("nickname").value;
  socket = io({
    auth: { name: nickname },
    transports,
    forceNew: true,
    reconnectionDelay: 500,
    reconnectionDelayMax: 2000,
  });
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
    $("status").dataset.transport = engine.transport.name;
    engine.once("upgrade", (t) => ($("status").dataset.transport = t.name));
    $("me").textContent = nickname.trim();
    $("login").hidden = true;
    $("chat").hidden = false;
    join(room); // the lobby at first; after a reconnection, where we were
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
  });

  socket.on("rooms", (list) => {
    rooms = list;
    renderRooms();
  });
  socket.on("message", (m) => {
    forgetTyper(m.from);
    addMessage(m.from, m.text, m.at, "received");
  });
  socket.on("notice", addNotice);
  socket.on("typing", showTyper);
}

// ----- rooms -----

function join(name) {
  socket.emit("join", name, (res) => {
    if (res.error) return addNotice(res.error);
    if (res.room !== room) {
      room = res.room;
      $("messages").replaceChildren();
      typers.forEach((_, who) => forgetTyper(who));
    }
    $("room-title").textContent = `#${room}`;
    $("leave").disabled = room === LOBBY;
    renderRooms();
  });
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
      count.textContent = users;
      li.append(button, count);
      return li;
    }),
  );
  const here = rooms.find((r) => r.name === room);
  const n = here ? here.users : 0;
  $("room-users").textContent = `${n} ${n === 1 ? "user" : "users"}`;
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

function addMessage(from, text, at, kind) {
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
  meta.textContent = time(at);
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
  // Buffered while disconnected; the tick comes with the server's ack.
  socket.timeout(5000).emit("message", text, (err, res) => {
    li.classList.remove("pending");
    if (err || res.error) {
      li.classList.add("failed");
      tick.textContent = "!";
      tick.title = err ? "not delivered" : res.error;
      return;
    }
    li.classList.add("delivered");
    tick.textContent = "✓";
    tick.title = `delivered at ${time(res.at)}`;
  });
});

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
