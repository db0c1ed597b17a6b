// npm socket.io-msgpack-parser 3.0.2 beside our msgpack codec
// (tests/socketio/msgpack.rs).
//
//   node msgpack_parser.mjs <hex>...
//
// Prints one JSON line per argument: {"decoded": packet} with the packet
// that Node's Decoder made of those bytes, or {"error": message} when it
// refused them. Then one line {"encoded": [[bytes]...]}: Node's Encoder's
// bytes for the packets of SAMPLES, in order. Buffers print as {"$bin":[bytes]}.

import { Decoder, Encoder } from "socket.io-msgpack-parser";

const replacer = (_key, value) => {
  if (value && value.type === "Buffer" && Array.isArray(value.data)) return { $bin: value.data };
  if (value instanceof Uint8Array) return { $bin: [...value] };
  return value;
};
const log = (obj) => process.stdout.write(JSON.stringify(obj, replacer) + "\n");

for (const hex of process.argv.slice(2)) {
  const decoder = new Decoder();
  let decoded = null;
  decoder.on("decoded", (p) => (decoded = p));
  try {
    decoder.add(Buffer.from(hex, "hex"));
    log({ decoded });
  } catch (e) {
    log({ error: e.message });
  }
}

const SAMPLES = [
  { type: 0, nsp: "/admin", data: { token: "t", n: 1.5 } },
  { type: 2, data: ["file", { name: "a", body: Buffer.from([0, 255]) }, [Buffer.from([7])]], id: 12, nsp: "/" },
  { type: 3, id: 12, data: [null, "é"], nsp: "/" },
  { type: 4, data: { message: "refused", data: { retry: false } }, nsp: "/" },
];
const encoder = new Encoder();
log({ encoded: SAMPLES.map((p) => [...Buffer.from(encoder.encode(p)[0])]) });
