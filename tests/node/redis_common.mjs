// Shared by redis_server.mjs and redis_emitter.mjs: the values and targets
// of their JSON control commands.

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
