// CAP 1.2 XML for the console: built from the form's model, and read back
// from an Update or Cancel draft. Herald validates what arrives exactly as
// for any other client; this only spares officers from writing XML.

export const NS = "urn:oasis:names:tc:emergency:cap:1.2";

function esc(s) {
  return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function el(name, value, indent) {
  if (value === undefined || value === null || value === "") return "";
  return `${indent}<${name}>${esc(value)}</${name}>\n`;
}

// capTime formats a Date as CAP wants: local offset, UTC as -00:00.
export function capTime(d) {
  const pad = (n) => String(n).padStart(2, "0");
  const off = -d.getTimezoneOffset();
  const sign = off > 0 ? "+" : "-";
  const a = Math.abs(off);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}

// buildAlert returns the CAP XML of model m.
export function buildAlert(m) {
  let x = `<?xml version="1.0" encoding="UTF-8"?>\n<alert xmlns="${NS}">\n`;
  const i1 = "  ", i2 = "    ", i3 = "      ";
  x += el("identifier", m.identifier, i1) + el("sender", m.sender, i1) + el("sent", m.sent, i1);
  x += el("status", m.status, i1) + el("msgType", m.msgType, i1) + el("scope", m.scope, i1);
  for (const c of m.code ?? []) x += el("code", c, i1);
  x += el("note", m.note, i1) + el("references", m.references, i1);
  for (const info of m.infos) {
    x += `${i1}<info>\n` + el("language", info.language, i2);
    for (const c of info.category) x += el("category", c, i2);
    x += el("event", info.event, i2);
    for (const r of info.responseType ?? []) x += el("responseType", r, i2);
    x += el("urgency", info.urgency, i2) + el("severity", info.severity, i2) + el("certainty", info.certainty, i2);
    x += el("expires", info.expires, i2) + el("senderName", info.senderName, i2);
    x += el("headline", info.headline, i2) + el("description", info.description, i2) + el("instruction", info.instruction, i2);
    x += el("web", info.web, i2) + el("contact", info.contact, i2);
    for (const p of info.parameters ?? []) x += `${i2}<parameter>\n${el("valueName", p.valueName, i3)}${el("value", p.value, i3)}${i2}</parameter>\n`;
    const a = m.area;
    if (a && (a.polygons.length || a.circles.length || a.geocodes.length)) {
      x += `${i2}<area>\n` + el("areaDesc", a.desc || "Alert area", i3);
      for (const p of a.polygons) x += el("polygon", p.map(([lat, lon]) => `${round(lat)},${round(lon)}`).join(" "), i3);
      for (const c of a.circles) x += el("circle", `${round(c.lat)},${round(c.lon)} ${round(c.radiusKm, 3)}`, i3);
      for (const g of a.geocodes) x += `${i3}<geocode>\n${el("valueName", g.name, i3 + "  ")}${el("value", g.value, i3 + "  ")}${i3}</geocode>\n`;
      x += `${i2}</area>\n`;
    }
    x += `${i1}</info>\n`;
  }
  return x + "</alert>\n";
}

function round(v, digits = 5) {
  return Number(v.toFixed(digits)).toString();
}

// parseAlert reads CAP XML into the model buildAlert takes (the first
// <area> of the first <info> becomes the model's area).
export function parseAlert(xml) {
  const doc = new DOMParser().parseFromString(xml, "application/xml");
  if (doc.querySelector("parsererror")) throw new Error("the draft is not XML");
  const root = doc.documentElement;
  const kids = (node, name) => [...node.children].filter((c) => c.localName === name);
  const text = (node, name) => kids(node, name)[0]?.textContent ?? "";
  const m = {
    identifier: text(root, "identifier"), sender: text(root, "sender"), sent: text(root, "sent"),
    status: text(root, "status"), msgType: text(root, "msgType"), scope: text(root, "scope"),
    code: kids(root, "code").map((c) => c.textContent), note: text(root, "note"), references: text(root, "references"),
    infos: [], area: { desc: "", polygons: [], circles: [], geocodes: [] },
  };
  for (const info of kids(root, "info")) {
    m.infos.push({
      language: text(info, "language") || "en-US",
      category: kids(info, "category").map((c) => c.textContent),
      event: text(info, "event"),
      responseType: kids(info, "responseType").map((c) => c.textContent),
      urgency: text(info, "urgency"), severity: text(info, "severity"), certainty: text(info, "certainty"),
      expires: text(info, "expires"), senderName: text(info, "senderName"),
      headline: text(info, "headline"), description: text(info, "description"), instruction: text(info, "instruction"),
      web: text(info, "web"), contact: text(info, "contact"),
      parameters: kids(info, "parameter").map((p) => ({ valueName: text(p, "valueName"), value: text(p, "value") })),
    });
  }
  const firstArea = kids(root, "info").flatMap((i) => kids(i, "area"))[0];
  if (firstArea) {
    m.area.desc = text(firstArea, "areaDesc");
    for (const p of kids(firstArea, "polygon")) m.area.polygons.push(parsePolygon(p.textContent));
    for (const c of kids(firstArea, "circle")) m.area.circles.push(parseCircle(c.textContent));
    for (const g of kids(firstArea, "geocode")) m.area.geocodes.push({ name: text(g, "valueName"), value: text(g, "value"), label: text(g, "value") });
  }
  return m;
}

// parsePolygon reads a CAP polygon "lat,lon lat,lon ..."; it throws with
// the problem for the coordinates box.
export function parsePolygon(s) {
  const pts = s.trim().split(/\s+/).map((pair, i) => {
    const [lat, lon, extra] = pair.split(",").map(Number);
    if (extra !== undefined || !Number.isFinite(lat) || !Number.isFinite(lon)) throw new Error(`point ${i + 1} "${pair}" is not lat,lon`);
    if (Math.abs(lat) > 90 || Math.abs(lon) > 180) throw new Error(`point ${i + 1} "${pair}" is outside lat ±90, lon ±180`);
    return [lat, lon];
  });
  if (pts.length < 3) throw new Error("a polygon needs at least 3 points");
  const [f, l] = [pts[0], pts[pts.length - 1]];
  if (f[0] !== l[0] || f[1] !== l[1]) pts.push([...f]); // CAP closes the ring
  if (pts.length < 4) throw new Error("a polygon needs at least 3 distinct points");
  return pts;
}

// parseCircle reads a CAP circle "lat,lon radius_km".
export function parseCircle(s) {
  const [centre, r, extra] = s.trim().split(/\s+/);
  const [lat, lon] = (centre ?? "").split(",").map(Number);
  const radiusKm = Number(r);
  if (extra !== undefined || !Number.isFinite(lat) || !Number.isFinite(lon) || !Number.isFinite(radiusKm)) throw new Error(`"${s.trim()}" is not a circle "lat,lon radius_km"`);
  if (Math.abs(lat) > 90 || Math.abs(lon) > 180) throw new Error("the centre is outside lat ±90, lon ±180");
  if (radiusKm <= 0) throw new Error("the radius must be more than 0 km");
  return { lat, lon, radiusKm };
}

// parseCoordinates reads the coordinates box: one shape per line, each a
// CAP polygon or a circle ("lat,lon radius").
export function parseCoordinates(s) {
  const out = { polygons: [], circles: [] };
  s.split(/\n|;/).map((l) => l.trim()).filter(Boolean).forEach((line, i) => {
    try {
      const parts = line.split(/\s+/);
      if (parts.length === 2 && !parts[1].includes(",")) out.circles.push(parseCircle(line));
      else out.polygons.push(parsePolygon(line));
    } catch (e) {
      throw new Error(`line ${i + 1}: ${e.message}`);
    }
  });
  return out;
}

// formatCoordinates is the coordinates box's text for shapes.
export function formatCoordinates(area) {
  const lines = area.polygons.map((p) => p.map(([lat, lon]) => `${round(lat)},${round(lon)}`).join(" "));
  for (const c of area.circles) lines.push(`${round(c.lat)},${round(c.lon)} ${round(c.radiusKm, 3)}`);
  return lines.join("\n");
}
