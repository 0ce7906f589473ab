// Drives wsbridge with npm `ws`, a strict third-party client: every frame
// the server sends is checked by ws (masking, RSV bits, opcodes, UTF-8,
// close codes, subprotocol), and raw malformed frames are written straight
// to the socket to check the server's close codes.
//
// Usage: node wsclient.mjs echo|bridge|deflate ws://127.0.0.1:PORT/path
// Prints one line per check and exits non-zero on the first failure.
// deflate mode turns on ws's perMessageDeflate with the options in
// WS_DEFLATE (JSON) and expects the parameters in WS_DEFLATE_WANT (JSON)
// to be agreed.
import { WebSocket } from 'ws';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

const [mode, url] = process.argv.slice(2);
const TIMEOUT = 20000;
// WS_CA: a CA file to trust for wss:// (ws checks the certificate strictly).
const tlsOptions = process.env.WS_CA ? { ca: readFileSync(process.env.WS_CA), servername: process.env.WS_SERVERNAME } : {};

function fail(msg) {
  console.log('FAIL ' + msg);
  process.exit(1);
}

function open(protocols, options = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { perMessageDeflate: false, ...tlsOptions, ...options });
    const t = setTimeout(() => reject(new Error('open timeout')), TIMEOUT);
    ws.once('open', () => { clearTimeout(t); resolve(ws); });
    ws.once('error', (e) => { clearTimeout(t); reject(e); });
  });
}

function closed(ws) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('close timeout')), TIMEOUT);
    let error = null;
    ws.on('error', (e) => { error = e; });
    ws.once('close', (code, reason) => { clearTimeout(t); resolve({ code, reason: reason.toString(), error }); });
  });
}

function nextMessage(ws) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('message timeout')), TIMEOUT);
    ws.once('message', (data, isBinary) => { clearTimeout(t); resolve({ data, isBinary }); });
  });
}

const sha = (b) => createHash('sha256').update(b).digest('hex');

// Raw masked frame with a zero key (the payload goes unchanged).
function frame(b0, payload, { masked = true, len } = {}) {
  const n = len ?? payload.length;
  let hdr;
  if (n < 126) hdr = Buffer.from([b0, (masked ? 0x80 : 0) | n]);
  else { hdr = Buffer.from([b0, (masked ? 0x80 : 0) | 126, n >> 8, n & 0xff]); }
  const mask = masked ? Buffer.alloc(4) : Buffer.alloc(0);
  return Buffer.concat([hdr, mask, payload]);
}

// Each case writes raw bytes after the handshake and expects a close code.
const malformed = [
  ['unmasked frame', frame(0x82, Buffer.from('abc'), { masked: false }), 1002],
  ['RSV1 set', frame(0xc2, Buffer.from('abc')), 1002],
  ['reserved opcode 3', frame(0x83, Buffer.alloc(0)), 1002],
  ['reserved opcode 11', frame(0x8b, Buffer.alloc(0)), 1002],
  ['ping of 126 bytes', frame(0x89, Buffer.alloc(126)), 1002],
  ['fragmented ping', frame(0x09, Buffer.from('x')), 1002],
  ['orphan continuation', frame(0x80, Buffer.from('x')), 1002],
  ['new message inside a message', Buffer.concat([frame(0x02, Buffer.from('a')), frame(0x82, Buffer.from('b'))]), 1002],
  ['close with 1 byte', frame(0x88, Buffer.from([0x03])), 1002],
  ['close code 999', frame(0x88, Buffer.from([0x03, 0xe7])), 1002],
  ['close code 1005', frame(0x88, Buffer.from([0x03, 0xed])), 1002],
  ['close reason not UTF-8', frame(0x88, Buffer.from([0x03, 0xe8, 0xff])), 1007],
];

async function checkMalformed(extraCases) {
  for (const [name, bytes, want] of [...malformed, ...extraCases]) {
    const ws = await open(mode === 'bridge' ? ['binary'] : undefined);
    const c = closed(ws);
    ws._socket.write(bytes);
    const { code } = await c;
    if (code !== want) fail(`${name}: got close ${code}, want ${want}`);
    console.log(`ok ${name} -> ${code}`);
  }
}

async function pingPong(ws) {
  const payload = randomBytes(125);
  const got = new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('pong timeout')), TIMEOUT);
    ws.once('pong', (d) => { clearTimeout(t); resolve(d); });
  });
  ws.ping(payload);
  if (!(await got).equals(payload)) fail('pong payload differs');
  console.log('ok ping answered with the same payload');
}

async function echoMode() {
  const ws = await open();
  const sizes = [0, 1, 125, 126, 127, 65535, 65536, 65537, 1 << 20];
  for (const n of sizes) {
    const bin = randomBytes(n);
    const p = nextMessage(ws);
    ws.send(bin, { binary: true });
    const { data, isBinary } = await p;
    if (!isBinary || !data.equals(bin)) fail(`binary ${n}: echo differs`);
    const text = Array.from('é€😀a'.repeat(Math.ceil(n / 8))).slice(0, n / 2 | 0).join('');
    const q = nextMessage(ws);
    ws.send(text, { binary: false });
    const r = await q;
    if (r.isBinary || r.data.toString() !== text) fail(`text ${n}: echo differs`);
  }
  console.log('ok text and binary echoed with their types, sizes ' + sizes.join(' '));
  // A fragmented text message split inside a code point, with a ping in between.
  const whole = Buffer.from('fragmented €uro and 😀 text');
  const p = nextMessage(ws);
  ws.send(whole.subarray(0, 12), { binary: false, fin: false });
  await pingPong(ws);
  ws.send(whole.subarray(12), { binary: false, fin: true });
  const r = await p;
  if (r.isBinary || !r.data.equals(whole)) fail('fragmented text echo differs');
  console.log('ok fragmented text with a ping between fragments');
  ws.pong(Buffer.from('unsolicited'));
  const c = closed(ws);
  ws.close(4000, 'bye');
  const { code, reason } = await c;
  if (code !== 4000 || reason !== 'bye') fail(`close echo: got ${code} ${reason}`);
  console.log('ok close code and reason echoed');
  await checkMalformed([
    ['text not UTF-8', frame(0x81, Buffer.from([0x61, 0xff])), 1007],
    ['text UTF-8 cut at the end', frame(0x81, Buffer.from([0xe2, 0x82])), 1007],
  ]);
}

async function bridgeMode() {
  const ws = await open(['base64', 'binary']);
  if (ws.protocol !== 'binary') fail(`subprotocol: got ${ws.protocol}, want binary`);
  console.log('ok subprotocol binary chosen');
  // The target echoes a byte stream; boundaries are the bridge's to choose.
  const sent = [1, 125, 65536, 1 << 20, 3 << 20].map((n) => randomBytes(n));
  const total = sent.reduce((a, b) => a + b.length, 0);
  const received = [];
  let receivedLen = 0;
  const all = new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`echo timeout (${receivedLen} of ${total} bytes)`)), TIMEOUT);
    ws.on('message', (d, isBinary) => {
      if (!isBinary) fail('text frame from the bridge');
      received.push(d);
      receivedLen += d.length;
      if (receivedLen >= total) { clearTimeout(t); resolve(); }
    });
  });
  for (const b of sent) ws.send(b);
  await pingPong(ws);
  await all;
  if (sha(Buffer.concat(received)) !== sha(Buffer.concat(sent))) fail(`echoed stream differs (${receivedLen} of ${total} bytes)`);
  console.log(`ok ${total} bytes through the bridge, sha256 equal`);
  const c = closed(ws);
  ws.close(1000, 'done');
  const { code } = await c;
  if (code !== 1000) fail(`close: got ${code}, want 1000`);
  console.log('ok close 1000 answered after the target finished');
  const t = await open(['binary']);
  const tc = closed(t);
  t.send('text', { binary: false });
  const tr = await tc;
  if (tr.code !== 1003) fail(`text: got close ${tr.code}, want 1003`);
  console.log('ok text frame closed with 1003');
  await checkMalformed([]);
}

// Sorted JSON, to compare parameter objects.
const canon = (o) => JSON.stringify(Object.keys(o).sort().map((k) => [k, o[k]]));

async function deflateMode() {
  const options = JSON.parse(process.env.WS_DEFLATE || '{}');
  const want = JSON.parse(process.env.WS_DEFLATE_WANT || '{}');
  const ws = await open(undefined, { perMessageDeflate: options });
  if (ws.extensions !== 'permessage-deflate') fail(`extensions: got "${ws.extensions}", want permessage-deflate`);
  const params = { ...ws._extensions['permessage-deflate'].params };
  if (canon(params) !== canon(want)) fail(`agreed ${canon(params)}, want ${canon(want)}`);
  console.log(`ok permessage-deflate agreed with ${canon(params)} for ${JSON.stringify(options)}`);
  const sizes = [0, 1, 16, 64, 256, 1023, 1024, 4096, 16384, 65535, 65536, 65537, 131072, 1 << 20];
  const kinds = {
    random: (n) => randomBytes(n),
    runs: (n) => Buffer.from(Array.from({ length: n }, (_, i) => (i >> 6) & 0xff)),
  };
  for (const n of sizes) {
    for (const [kind, make] of Object.entries(kinds)) {
      const bin = make(n);
      const p = nextMessage(ws);
      ws.send(bin, { binary: true });
      const { data, isBinary } = await p;
      if (!isBinary || !data.equals(bin)) fail(`${kind} ${n}: echo differs`);
    }
    const text = Array.from('é€😀a deflate '.repeat(Math.ceil(n / 8))).slice(0, n / 2 | 0).join('');
    const q = nextMessage(ws);
    ws.send(text, { binary: false });
    const r = await q;
    if (r.isBinary || r.data.toString() !== text) fail(`text ${n}: echo differs`);
  }
  console.log('ok binary (random, runs) and text echoed with their types, sizes ' + sizes.join(' '));
  // The echo comes back compressed: 1 MiB of runs costs a few KiB on the wire.
  const before = ws._socket.bytesRead;
  const big = kinds.runs(1 << 20);
  const p = nextMessage(ws);
  ws.send(big, { binary: true });
  if (!(await p).data.equals(big)) fail('1 MiB of runs: echo differs');
  const read = ws._socket.bytesRead - before;
  if (read > 64 << 10) fail(`1 MiB of runs took ${read} bytes on the wire`);
  console.log(`ok 1 MiB of runs echoed in ${read} bytes`);
  // A compressed message in fragments, with a ping between them.
  const whole = Buffer.from('fragmented €uro and 😀 text, '.repeat(100));
  const f = nextMessage(ws);
  ws.send(whole.subarray(0, 1001), { binary: false, fin: false, compress: true });
  await pingPong(ws);
  ws.send(whole.subarray(1001), { binary: false, fin: true, compress: true });
  const fr = await f;
  if (fr.isBinary || !fr.data.equals(whole)) fail('fragmented compressed text echo differs');
  console.log('ok fragmented compressed text with a ping between fragments');
  const c = closed(ws);
  ws.close(1000, 'bye');
  const { code } = await c;
  if (code !== 1000) fail(`close: got ${code}, want 1000`);
  console.log('ok close 1000 echoed');
}

// The bridge with permessage-deflate, as wsbridge runs by default: no
// context takeover either way. Streams through the TCP echo target come
// back byte-exact; a compressible one costs a fraction on the wire.
async function bridgeDeflateMode() {
  const options = JSON.parse(process.env.WS_DEFLATE || '{}');
  const want = JSON.parse(process.env.WS_DEFLATE_WANT || '{}');
  const ws = await open(['binary'], { perMessageDeflate: options });
  if (ws.extensions !== 'permessage-deflate') fail(`extensions: got "${ws.extensions}", want permessage-deflate`);
  const params = { ...ws._extensions['permessage-deflate'].params };
  if (canon(params) !== canon(want)) fail(`agreed ${canon(params)}, want ${canon(want)}`);
  console.log(`ok permessage-deflate agreed with ${canon(params)} for ${JSON.stringify(options)}`);
  // Compressible first: after the random stream the bridge's adaptive
  // back-off sends up to 1 MiB uncompressed before it tries again.
  for (const [kind, data] of [
    ['runs', Buffer.from(Array.from({ length: 4 << 20 }, (_, i) => ((i >> 10) % 7) * 31))],
    ['random', randomBytes(3 << 20)],
  ]) {
    const before = ws._socket.bytesRead;
    const received = [];
    let n = 0;
    const all = new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${kind}: echo timeout (${n} of ${data.length} bytes)`)), TIMEOUT);
      const on = (d, isBinary) => {
        if (!isBinary) fail('text frame from the bridge');
        received.push(d);
        n += d.length;
        if (n >= data.length) { clearTimeout(t); ws.off('message', on); resolve(); }
      };
      ws.on('message', on);
    });
    for (let off = 0; off < data.length; off += 100000) ws.send(data.subarray(off, off + 100000));
    await all;
    if (sha(Buffer.concat(received)) !== sha(data)) fail(`${kind}: echoed stream differs`);
    const wire = ws._socket.bytesRead - before;
    console.log(`ok ${kind}: ${data.length} bytes through the bridge, sha256 equal, ${wire} bytes on the wire back`);
    if (kind === 'runs' && wire > data.length / 10) fail(`runs took ${wire} bytes on the wire, want compressed`);
  }
  await pingPong(ws);
  const c = closed(ws);
  ws.close(1000, 'done');
  const { code } = await c;
  if (code !== 1000) fail(`close: got ${code}, want 1000`);
  console.log('ok close 1000 answered after the target finished');
}

try {
  if (mode === 'echo') await echoMode();
  else if (mode === 'bridge-deflate') await bridgeDeflateMode();
  else if (mode === 'bridge') await bridgeMode();
  else if (mode === 'deflate') await deflateMode();
  else fail('usage: node wsclient.mjs echo|bridge|bridge-deflate|deflate URL');
  console.log('PASS');
  process.exit(0);
} catch (e) {
  fail(e.stack || String(e));
}
