// socket.io-client against the Rust server of tests/socketio/namespaces.rs
// (connect middlewares and connect-handler extractors).
//
//   node sio_middleware.mjs <url>
//
// Each attempt uses its own connection (`forceNew`) and prints what the
// client saw: {"event":"refused","name":..,"message":..,"data":..} on
// `connect_error`, or {"event":"joined","name":..,"whoami":..} after a
// successful join and a "whoami" round trip.

import { io } from "socket.io-client";
import { args, deadline, fail, finish, log } from "./sio_common.mjs";

const [url] = args("sio_middleware.mjs <url>");
const timer = deadline();

const attempts = [
  { name: "admin-bob", ns: "/admin", auth: { name: "bob" } },
  { name: "admin-root", ns: "/admin", auth: { name: "root" } },
  { name: "banned", ns: "/", auth: { name: "eve", banned: true } },
  { name: "typed-bad", ns: "/typed", auth: { name: "carol" } },
  { name: "typed-good", ns: "/typed", auth: { name: "carol", age: 7 } },
];

function attempt({ name, ns, auth }) {
  return new Promise((resolve) => {
    const socket = io(`${url}${ns}`, { auth, forceNew: true, reconnection: false, transports: ["websocket"] });
    socket.on("connect_error", (err) => {
      log({ event: "refused", name, message: err.message, data: err.data ?? null, active: socket.active });
      socket.close();
      resolve();
    });
    socket.on("connect", () => {
      socket.emit("whoami", (whoami) => {
        log({ event: "joined", name, whoami });
        resolve();
      });
    });
  });
}

try {
  for (const a of attempts) await attempt(a);
  finish(timer);
} catch (e) {
  fail(e?.stack ?? e);
}
