// Shared by redis_server.mjs, streams_server.mjs and redis_emitter.mjs: the values and targets
// of their JSON control commands, and the loop that runs them.

import { createInterface } from "node:readline";

// A command's values with {"$bin":[bytes]} turned into Buffers.
export const revive = (v) => {
  if (Array.isArray(v)) return v.map(revive);
  if (v && typeof v === "object") {
    if (Array.isArray(v.$bin)) return Buffer.from(v.$bin);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revive(x)]));
  }
  return v;
};

// The sockets a command names: namespace `nsp` (default "/") of `root` (a
// server or an emitter), in `rooms`, except `except`.
export const target = (root, cmd) => {
  let op = root.of(cmd.nsp || "/");
  if (cmd.rooms?.length) op = op.to(cmd.rooms);
  if (cmd.except?.length) op = op.except(cmd.except);
  return op;
};

// `emitWithAck`: emits to the sockets a command names and resolves with
// their acknowledgements (or the timeout's error).
export const emitWithAck = (root, cmd) =>
  new Promise((resolve) => {
    target(root, cmd)
      .timeout(cmd.timeout ?? 2000)
      .emit(cmd.event, ...revive(cmd.args || []), (err, acks) =>
        resolve({ err: err ? err.message : null, acks }),
      );
  });

// A socket found by `fetchSockets`, as the commands report it.
export const describeSocket = (s) => ({
  id: s.id,
  rooms: [...s.rooms],
  data: s.data,
  auth: s.handshake.auth,
  handshake: s.handshake,
});

// Runs one JSON command per stdin line: `handlers[cmd.cmd](cmd)`, whose
// result is printed with the command's `id` (or the error it threw).
export function serveCommands(handlers, log) {
  createInterface({ input: process.stdin }).on("line", async (line) => {
    if (!line.trim()) return;
    let cmd;
    try {
      cmd = JSON.parse(line);
      const handler = handlers[cmd.cmd];
      if (!handler) throw new Error(`unknown command ${cmd.cmd}`);
      log({ id: cmd.id, ...(await handler(cmd)) });
    } catch (e) {
      log({ id: cmd?.id, error: String(e?.message ?? e) });
    }
  });
}
