// Signing in the browser, as the CLI signs (README, "Signing submissions"):
// an Ed25519 signature by the officer's NATS user key over
// "herald-v1.<action>.<unix seconds>.<body>". The seed is decoded here,
// imported into Web Crypto as a non-extractable key, and its bytes wiped:
// it is never sent anywhere nor kept in storage.

const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const PREFIX_SEED = 18 << 3; // 'S'
const PREFIX_USER = 20 << 3; // 'U'
// PKCS #8 wrapping of a raw 32-byte Ed25519 private key (RFC 8410).
const PKCS8_PREFIX = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

function base32Decode(s) {
  const out = [];
  let bits = 0, value = 0;
  for (const ch of s) {
    const v = B32.indexOf(ch);
    if (v < 0) throw new Error("the file is not a Herald seed (unexpected character)");
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return new Uint8Array(out);
}

function base32Encode(bytes) {
  let out = "", bits = 0, value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

// crc16 is CRC-16/XMODEM, as nkeys uses.
function crc16(bytes) {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

function b64(bytes) {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function b64urlDecode(s) {
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

// A Signer holds an officer's key for this tab only.
export class Signer {
  constructor(key, publicKey) {
    this.key = key;
    this.publicKey = publicKey;
  }

  // fromSeed reads a seed file's text ("SU...") and returns a Signer.
  static async fromSeed(text) {
    if (!globalThis.crypto?.subtle) throw new Error("this browser has no Web Crypto (open the console over https or on localhost)");
    const raw = base32Decode(text.trim());
    try {
      if (raw.length !== 36) throw new Error("the file is not a Herald seed (wrong length)");
      const body = raw.subarray(0, 34);
      const crc = raw[34] | (raw[35] << 8);
      if (crc16(body) !== crc) throw new Error("the seed's checksum does not match: the file is damaged or not a seed");
      if ((raw[0] & 0xf8) !== PREFIX_SEED) throw new Error("the file is not a seed (it should start with SU)");
      if ((((raw[0] & 7) << 5) | ((raw[1] & 0xf8) >> 3)) !== PREFIX_USER) throw new Error("the seed is not a user key (SU...): use the file from herald keys generate");
      const der = new Uint8Array(PKCS8_PREFIX.length + 32);
      der.set(PKCS8_PREFIX);
      der.set(raw.subarray(2, 34), PKCS8_PREFIX.length);
      let pub;
      try {
        // The public key is only obtainable by exporting once.
        const exportable = await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, true, ["sign"]);
        const jwk = await crypto.subtle.exportKey("jwk", exportable);
        pub = b64urlDecode(jwk.x);
        const key = await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, false, ["sign"]);
        return new Signer(key, encodePublic(pub));
      } catch (e) {
        if (e instanceof DOMException && e.name === "NotSupportedError") throw new Error("this browser cannot sign with Ed25519; use a current Chromium, Firefox or Safari");
        throw e;
      } finally {
        der.fill(0);
      }
    } finally {
      raw.fill(0);
    }
  }

  // sign returns the three Herald-* headers for action over body (a
  // string or bytes).
  async sign(action, body, now = Date.now()) {
    const ts = String(Math.floor(now / 1000));
    const enc = new TextEncoder();
    const bytes = typeof body === "string" ? enc.encode(body) : body ?? new Uint8Array();
    const head = enc.encode("herald-v1." + action + "." + ts + ".");
    const msg = new Uint8Array(head.length + bytes.length);
    msg.set(head);
    msg.set(bytes, head.length);
    const sig = new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, this.key, msg));
    return { "Herald-Key": this.publicKey, "Herald-Timestamp": ts, "Herald-Signature": b64(sig) };
  }
}

function encodePublic(pub) {
  const body = new Uint8Array(33);
  body[0] = PREFIX_USER;
  body.set(pub, 1);
  const crc = crc16(body);
  const full = new Uint8Array(35);
  full.set(body);
  full[33] = crc & 0xff;
  full[34] = crc >> 8;
  return base32Encode(full);
}
